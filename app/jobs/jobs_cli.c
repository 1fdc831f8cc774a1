/* jobs_cli: command-line side of the job queue. See jobs_cli.h. */
#define _GNU_SOURCE
#include "jobs_cli.h"
#include "jobs.h"
#include "../core/cli.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../store/db.h"
#include "../store/db_json.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char jobs_cli_worker_syn[] = "worker [--once] [--drain] [--name NAME]";
static const char jobs_cli_list_syn[] = "jobs list [--status S] [--kind K] [--limit N]";
static const char jobs_cli_enqueue_syn[] =
    "jobs enqueue KIND [--payload JSON] [--priority P] [--max-attempts N]";
static const char jobs_cli_retry_syn[] = "jobs retry ID";
static const char jobs_cli_schedules_syn[] = "jobs schedules";

static const struct cli_option jobs_cli_worker_opts[] = {
    {"--once", NULL, CLI_FLAG, NULL, "run at most one ready job, then exit"},
    {"--drain", NULL, CLI_FLAG, NULL, "exit when no job is queued or waiting for a retry"},
    {"--name", NULL, CLI_VALUE, "NAME", "the runner's name in locked_by (default host:pid)"},
};
static const struct cli_spec jobs_cli_worker_spec = {
    .prog = "tallyctl worker", .synopsis = jobs_cli_worker_syn,
    .summary = "Runs jobs until SIGTERM/SIGINT (the job in hand is finished first); logs JSON lines on stderr.",
    .options = jobs_cli_worker_opts, .option_count = 3};
static const struct cli_option jobs_cli_list_opts[] = {
    {"--status", NULL, CLI_VALUE, "S", "queued, running, succeeded, failed or dead"},
    {"--kind", NULL, CLI_VALUE, "K", "only jobs of this kind"},
    {"--limit", NULL, CLI_VALUE, "N", "at most N jobs (default 50, at most 10000)"},
};
static const struct cli_spec jobs_cli_list_spec = {
    .prog = "tallyctl jobs list", .synopsis = jobs_cli_list_syn,
    .summary = "Lists jobs, newest first, one JSON object per line (as GET /api/v1/admin/jobs).",
    .options = jobs_cli_list_opts, .option_count = 3};
static const struct cli_option jobs_cli_enqueue_opts[] = {
    {"--payload", NULL, CLI_VALUE, "JSON", "a JSON object (default {})"},
    {"--priority", NULL, CLI_VALUE, "P", "high, normal (default) or low"},
    {"--max-attempts", NULL, CLI_VALUE, "N", "attempts before the job is dead (1 to 100; default job_max_attempts)"},
};
static const struct cli_spec jobs_cli_enqueue_spec = {
    .prog = "tallyctl jobs enqueue", .synopsis = jobs_cli_enqueue_syn,
    .summary = "Queues a job of kind KIND and prints its id.",
    .options = jobs_cli_enqueue_opts, .option_count = 3, .min_args = 1, .max_args = 1, .arg_names = "KIND"};
static const struct cli_spec jobs_cli_retry_spec = {
    .prog = "tallyctl jobs retry", .synopsis = jobs_cli_retry_syn,
    .summary = "Re-queues dead or failed job ID now and prints it (one JSON object).",
    .min_args = 1, .max_args = 1, .arg_names = "job ID"};
static const struct cli_spec jobs_cli_schedules_spec = {
    .prog = "tallyctl jobs schedules", .synopsis = jobs_cli_schedules_syn,
    .summary = "Lists the schedules (table job_schedules), tab-separated: name, kind, cron (UTC), enabled,\n"
               "priority, max_attempts, payload, next_run (of an enabled schedule), and the latest slot\n"
               "fired for that kind with its job's status.",
};

static int jobs_cli_worker(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &jobs_cli_worker_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    enum log_level level;
    if (log_level_parse(ctx->cfg->log_level, &level) != 0)
        return cli_fail(spec, "log_level must be debug, info, warn or error");
    log_set_level(level);                 /* a runner logs, as tallyd's does */
    struct jobs_run_opts opts = {
        .once = cli_flag(spec, &a, "--once"),
        .drain = cli_flag(spec, &a, "--drain"),
        .name = cli_value(spec, &a, "--name"),
    };
    return jobs_run(ctx->cfg, NULL, &opts);
}

static void jobs_cli_print(const db_result *r, int row)
{
    struct json_object *o = jobs_row_json(r, row);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static int jobs_cli_list(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &jobs_cli_list_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    const char *status = cli_value(spec, &a, "--status");
    const char *kind = cli_value(spec, &a, "--kind");
    char err[CLI_ERR_BYTES];
    int64_t limit;
    if (status != NULL && !jobs_status_valid(status))
        return cli_usage_error(spec, "status must be one of queued, running, succeeded, failed, dead");
    if (kind != NULL && strlen(kind) >= JOBS_KIND_BYTES)
        return cli_usage_error(spec, "kind is at most %d bytes", JOBS_KIND_BYTES - 1);
    if (cli_int(spec, &a, "--limit", 1, 10000, 50, &limit, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    enum err e;
    db_result *r = jobs_list(ctx->db, &e, status, kind, 0, (int)limit);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    int rows = db_rows(r);
    for (int i = 0; i < rows && i < limit; i++)
        jobs_cli_print(r, i);
    db_clear(r);
    return 0;
}

static int jobs_cli_enqueue(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &jobs_cli_enqueue_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    const char *kind = a.args[0];
    if (jobs_kind_index(ctx->cfg, kind) < 0)
        return cli_usage_error(spec, "kind must be a known job kind");
    const char *payload = cli_value(spec, &a, "--payload");
    if (payload == NULL)
        payload = "{}";
    struct json_object *parsed = json_tokener_parse(payload);
    bool object = parsed != NULL && json_object_is_type(parsed, json_type_object);
    json_object_put(parsed);
    if (!object)
        return cli_usage_error(spec, "payload must be a JSON object");
    const char *prio_name = cli_value(spec, &a, "--priority");
    int priority = prio_name ? jobs_priority_parse(prio_name) : JOBS_PRIORITY_NORMAL;
    if (priority < 0)
        return cli_usage_error(spec, "priority must be high, normal or low");
    char err[CLI_ERR_BYTES];
    int64_t max_attempts;
    if (cli_int(spec, &a, "--max-attempts", 1, 100, ctx->cfg->job_max_attempts, &max_attempts, err, sizeof(err)))
        return cli_usage_error(spec, "%s", err);
    enum err e;
    db_result *r = jobs_enqueue(ctx->db, &e, kind, payload, priority, (int)max_attempts);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    printf("%s\n", db_value(r, 0, 0));
    db_clear(r);
    return 0;
}

static int jobs_cli_retry(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &jobs_cli_retry_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t id;
    if (cli_int_text("the job ID", a.args[0], 1, INT64_MAX, &id, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    enum err e;
    db_result *r = jobs_retry(ctx->db, &e, id);
    if (r == NULL && e == ERR_NOT_FOUND)
        return cli_fail(spec, "job %" PRId64 " not found", id);
    if (r == NULL && e == ERR_CONFLICT)
        return cli_fail(spec, "job %" PRId64 " is not dead or failed", id);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    jobs_cli_print(r, 0);
    db_clear(r);
    return 0;
}

/* The next slot of an enabled schedule (as the runner computes it), or NULL. */
static const char *jobs_cli_next_run(const char *cron_text, bool enabled, int64_t now_s, char *out, size_t cap)
{
    struct jobs_cron cron;
    if (!enabled || jobs_cron_parse(cron_text, &cron) != 0)
        return NULL;
    int64_t slot = jobs_cron_next_slot(&cron, now_s, JOBS_NEXT_HORIZON_MIN);
    if (slot <= 0)
        return NULL;
    time_t t = (time_t)slot;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static int jobs_cli_schedules(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &jobs_cli_schedules_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT s.name, s.kind, s.cron, CASE WHEN s.enabled THEN 'yes' ELSE 'no' END,"
                            " CASE s.priority WHEN 0 THEN 'high' WHEN 1 THEN 'normal' ELSE 'low' END,"
                            " s.max_attempts, s.payload::text,"
                            " " DB_SQL_TIMESTAMP("j.schedule_slot") ", j.status,"
                            " extract(epoch FROM now())::bigint"
                            " FROM job_schedules s LEFT JOIN LATERAL (SELECT schedule_slot, status FROM jobs"
                            "  WHERE kind = s.kind AND schedule_slot IS NOT NULL ORDER BY schedule_slot DESC LIMIT 1) j"
                            " ON true ORDER BY s.name",
                            0, NULL);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    static const char *const header[] = {"name", "kind", "cron", "enabled", "priority", "max_attempts",
                                         "payload", "next_run", "last_slot", "last_status"};
    for (int c = 0; c < 10; c++)
        db_write_tsv_field(stdout, header[c], c == 9);
    for (int i = 0; i < db_rows(r); i++) {
        char next[32];
        for (int c = 0; c < 7; c++)
            db_write_tsv_field(stdout, db_value(r, i, c), false);
        db_write_tsv_field(stdout, jobs_cli_next_run(db_value(r, i, 2), db_value(r, i, 3)[0] == 'y',
                                                     db_int64(r, i, 9), next, sizeof(next)), false);
        db_write_tsv_field(stdout, db_is_null(r, i, 7) ? NULL : db_value(r, i, 7), false);
        db_write_tsv_field(stdout, db_is_null(r, i, 8) ? NULL : db_value(r, i, 8), true);
    }
    db_clear(r);
    return 0;
}

const struct module_command jobs_cli_commands[JOBS_CLI_COMMANDS] = {
    {"worker", jobs_cli_worker_syn, "run jobs until SIGTERM (finishes the job in hand)", jobs_cli_worker},
    {"jobs list", jobs_cli_list_syn, "list jobs, newest first (JSON lines)", jobs_cli_list},
    {"jobs enqueue", jobs_cli_enqueue_syn, "queue a job (prints its id)", jobs_cli_enqueue},
    {"jobs retry", jobs_cli_retry_syn, "re-queue a dead or failed job", jobs_cli_retry},
    {"jobs schedules", jobs_cli_schedules_syn, "list the cron schedules: next run, last slot", jobs_cli_schedules},
};
