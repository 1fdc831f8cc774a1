/* jobs_cli: command-line side of the job queue. See jobs_cli.h. */
#define _GNU_SOURCE
#include "jobs_cli.h"
#include "jobs.h"
#include "../core/config.h"
#include "../core/parse.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static const char *jobs_cli_opt(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static bool jobs_cli_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

int jobs_cli_worker(const struct config *cfg, int argc, char **argv)
{
    struct jobs_run_opts opts = {
        .once = jobs_cli_flag(argc, argv, "--once"),
        .drain = jobs_cli_flag(argc, argv, "--drain"),
        .name = jobs_cli_opt(argc, argv, "--name"),
    };
    return jobs_run(cfg, NULL, &opts);
}

static void jobs_cli_print(const db_result *r, int row)
{
    struct json_object *o = jobs_row_json(r, row);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static int jobs_cli_fail(struct db *db, enum err e, const char *what)
{
    fprintf(stderr, "tallyctl: %s: %s\n", what, e == ERR_UNAVAILABLE ? "database unavailable" : db_last_error(db));
    return 1;
}

static int jobs_cli_list(struct db *db, int argc, char **argv)
{
    const char *status = jobs_cli_opt(argc, argv, "--status");
    const char *kind = jobs_cli_opt(argc, argv, "--kind");
    const char *limit_text = jobs_cli_opt(argc, argv, "--limit");
    int64_t limit = 50;
    if (limit_text != NULL && parse_int64(limit_text, strlen(limit_text), 1, 10000, &limit) != 0) {
        fprintf(stderr, "tallyctl: --limit must be an integer from 1 to 10000\n");
        return 2;
    }
    enum err e;
    db_result *r = jobs_list(db, &e, status, kind, 0, (int)limit);
    if (r == NULL)
        return jobs_cli_fail(db, e, "jobs list");
    int rows = db_rows(r);
    for (int i = 0; i < rows && i < limit; i++)
        jobs_cli_print(r, i);
    db_clear(r);
    return 0;
}

static int jobs_cli_enqueue(const struct config *cfg, struct db *db, int argc, char **argv)
{
    if (argc < 3 || argv[2][0] == '-') {
        fprintf(stderr, "tallyctl: jobs enqueue needs a KIND\n");
        return 2;
    }
    const char *kind = argv[2];
    if (jobs_kind_index(kind) < 0) {
        fprintf(stderr, "tallyctl: unknown job kind \"%s\"\n", kind);
        return 2;
    }
    const char *payload = jobs_cli_opt(argc, argv, "--payload");
    if (payload == NULL)
        payload = "{}";
    struct json_object *parsed = json_tokener_parse(payload);
    bool object = parsed != NULL && json_object_is_type(parsed, json_type_object);
    json_object_put(parsed);
    if (!object) {
        fprintf(stderr, "tallyctl: --payload must be a JSON object\n");
        return 2;
    }
    const char *prio_name = jobs_cli_opt(argc, argv, "--priority");
    int priority = prio_name ? jobs_priority_parse(prio_name) : JOBS_PRIORITY_NORMAL;
    if (priority < 0) {
        fprintf(stderr, "tallyctl: --priority must be high, normal or low\n");
        return 2;
    }
    int64_t max_attempts = cfg->job_max_attempts;
    const char *ma = jobs_cli_opt(argc, argv, "--max-attempts");
    if (ma != NULL && parse_int64(ma, strlen(ma), 1, 100, &max_attempts) != 0) {
        fprintf(stderr, "tallyctl: --max-attempts must be an integer from 1 to 100\n");
        return 2;
    }
    enum err e;
    db_result *r = jobs_enqueue(db, &e, kind, payload, priority, (int)max_attempts);
    if (r == NULL)
        return jobs_cli_fail(db, e, "jobs enqueue");
    printf("%s\n", db_value(r, 0, 0));
    db_clear(r);
    return 0;
}

static int jobs_cli_retry(struct db *db, int argc, char **argv)
{
    int64_t id;
    if (argc < 3 || parse_int64(argv[2], strlen(argv[2]), 1, INT64_MAX, &id) != 0) {
        fprintf(stderr, "tallyctl: jobs retry takes a job id\n");
        return 2;
    }
    enum err e;
    db_result *r = jobs_retry(db, &e, id);
    if (r == NULL) {
        if (e == ERR_NOT_FOUND)
            fprintf(stderr, "tallyctl: no job %" PRId64 "\n", id);
        else if (e == ERR_CONFLICT)
            fprintf(stderr, "tallyctl: job %" PRId64 " is not dead or failed\n", id);
        else
            return jobs_cli_fail(db, e, "jobs retry");
        return 1;
    }
    jobs_cli_print(r, 0);
    db_clear(r);
    return 0;
}

int jobs_cli_jobs(const struct config *cfg, struct db *db, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "list";
    if (strcmp(sub, "list") == 0)
        return jobs_cli_list(db, argc, argv);
    if (strcmp(sub, "enqueue") == 0)
        return jobs_cli_enqueue(cfg, db, argc, argv);
    if (strcmp(sub, "retry") == 0)
        return jobs_cli_retry(db, argc, argv);
    fprintf(stderr, "tallyctl: jobs takes list, enqueue or retry\n");
    return 2;
}
