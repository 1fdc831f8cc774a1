/* datasets_cli: see datasets_cli.h. The same service calls as the API,
 * with an admin identity: `upload --name NAME [--user N] FILE`, `import
 * --user N FILE` (a bank export, as POST …/transactions/import),
 * `retention [--keep N]` (what the daily job does). */
#define _GNU_SOURCE
#include "datasets_cli.h"
#include "datasets.h"
#include "datasets_import.h"
#include "../core/cli.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../csv/csv.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char datasets_cli_syn[] = "datasets upload | import | retention  (datasets SUBCOMMAND --help)";
static const struct cli_spec datasets_cli_spec = {
    .prog = "tallyctl datasets", .synopsis = datasets_cli_syn,
    .summary = "Datasets from the command line: the same service calls as the API, as an admin."};

#define DATASETS_CLI_DELIM_HELP "',' (comma), ';' (semicolon) or tab (default: detected from the header line)"
static const struct cli_option datasets_cli_upload_opts[] = {
    {"--name", NULL, CLI_VALUE, "NAME", "the dataset (a new version when it exists)"},
    {"--user", NULL, CLI_VALUE, "ID", "its owner (default: none: admin tokens only)"},
    {"--delimiter", NULL, CLI_VALUE, "D", DATASETS_CLI_DELIM_HELP},
};
static const struct cli_spec datasets_cli_upload_spec = {
    .prog = "tallyctl datasets upload", .synopsis = "datasets upload --name NAME [--user ID] [--delimiter D] FILE",
    .summary = "Stores a CSV file as a version of a dataset (as POST /api/v1/datasets).",
    .options = datasets_cli_upload_opts, .option_count = 3, .min_args = 1, .max_args = 1, .arg_names = "FILE"};
static const struct cli_option datasets_cli_import_opts[] = {
    {"--user", NULL, CLI_VALUE, "ID", "whose transactions (required)"},
    {"--delimiter", NULL, CLI_VALUE, "D", DATASETS_CLI_DELIM_HELP},
};
static const struct cli_spec datasets_cli_import_spec = {
    .prog = "tallyctl datasets import", .synopsis = "datasets import --user ID [--delimiter D] FILE",
    .summary = "Imports a bank export as transactions (as POST /api/v1/users/{id}/transactions/import).",
    .options = datasets_cli_import_opts, .option_count = 2, .min_args = 1, .max_args = 1, .arg_names = "FILE"};
static const struct cli_option datasets_cli_retention_opts[] = {
    {"--keep", NULL, CLI_VALUE, "N", "versions kept per dataset besides the pinned (default: dataset_keep_versions)"},
};
static const struct cli_spec datasets_cli_retention_spec = {
    .prog = "tallyctl datasets retention", .synopsis = "datasets retention [--keep N]",
    .summary = "Purges the rows of the versions past retention now (what the daily datasets_retention job does).",
    .options = datasets_cli_retention_opts, .option_count = 1};

/* A file streamed through the upload's CSV reader: the reader pulls one
 * window at a time, so memory is bounded by the window and a row, never the
 * file. The byte cap is csv_body_limit_bytes, as for the HTTP body; a line
 * of progress goes to stderr every DATASETS_CLI_PROGRESS_BYTES (a large
 * file only, never per row). */
#define DATASETS_CLI_PROGRESS_BYTES (8L << 20)

struct datasets_cli_file {
    FILE *f;
    const char *path;
    long limit, total, next_report, size;
    bool too_large, io_error, reported;
};

static long datasets_cli_pull(void *ud, char *buf, size_t cap)
{
    struct datasets_cli_file *cf = ud;
    size_t got = fread(buf, 1, cap, cf->f);
    if (got == 0) {
        if (ferror(cf->f)) {
            cf->io_error = true;
            return -1;
        }
        return 0;
    }
    if ((long)got > cf->limit - cf->total) {
        cf->too_large = true;
        return -1;
    }
    cf->total += (long)got;
    if (cf->total >= cf->next_report) {
        if (cf->size > 0)
            fprintf(stderr, "tallyctl datasets: %s: %.1f of %.1f MiB read\n", cf->path, cf->total / 1048576.0,
                    cf->size / 1048576.0);
        else
            fprintf(stderr, "tallyctl datasets: %s: %.1f MiB read\n", cf->path, cf->total / 1048576.0);
        cf->next_report += DATASETS_CLI_PROGRESS_BYTES;
        cf->reported = true;
    }
    return (long)got;
}

static int datasets_cli_open(struct datasets_cli_file *cf, const char *path, long limit)
{
    memset(cf, 0, sizeof(*cf));
    cf->path = path;
    cf->limit = limit;
    cf->next_report = DATASETS_CLI_PROGRESS_BYTES;
    cf->f = fopen(path, "rb");
    if (cf->f == NULL) {
        fprintf(stderr, "tallyctl datasets: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(cf->f, 0, SEEK_END) == 0) {   /* the size, for progress only (a pipe has none) */
        long size = ftell(cf->f);
        cf->size = size > 0 ? size : 0;
        if (fseek(cf->f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "tallyctl datasets: cannot read %s\n", path);
            fclose(cf->f);
            return -1;
        }
    } else {
        clearerr(cf->f);
    }
    return 0;
}

/* After the upload: the reason a read stopped it, which the upload itself
 * only knows as a failed read; 1 when it did. */
static int datasets_cli_close(struct datasets_cli_file *cf)
{
    int stopped = 0;
    if (cf->too_large) {
        fprintf(stderr, "tallyctl datasets: %s is larger than csv_body_limit_bytes (%ld)\n", cf->path, cf->limit);
        stopped = 1;
    } else if (cf->io_error) {
        fprintf(stderr, "tallyctl datasets: cannot read %s\n", cf->path);
        stopped = 1;
    } else if (cf->reported) {
        fprintf(stderr, "tallyctl datasets: %s: %.1f MiB read, done\n", cf->path, cf->total / 1048576.0);
    }
    fclose(cf->f);
    return stopped;
}

static void datasets_cli_error(enum err e, const struct datasets_error *er)
{
    if (er->message[0] != '\0')
        fprintf(stderr, "tallyctl datasets: %s\n", er->message);
    else
        fprintf(stderr, "tallyctl datasets: failed (%s)\n", err_lookup(e)->code);
}

static int datasets_cli_retention(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &datasets_cli_retention_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    struct datasets_limits lim;
    datasets_limits_get(ctx, &lim);
    int64_t keep;
    if (cli_int(spec, &a, "--keep", 1, 100000, lim.keep_versions, &keep, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    long purged = 0;
    struct datasets_error er = {.step = -1};
    enum err e = datasets_retention(ctx, (int)keep, &purged);
    if (e != ERR_NONE) {
        datasets_cli_error(e, &er);
        return 1;
    }
    printf("%ld\n", purged);
    return 0;
}

int datasets_cli_run(struct tally_ctx *ctx, int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    if (strcmp(sub, "retention") == 0)
        return datasets_cli_retention(ctx, argc - 1, argv + 1);
    bool is_import = strcmp(sub, "import") == 0;
    if (!is_import && strcmp(sub, "upload") != 0) {
        struct cli_args top;
        int rc = sub[0] == '-' ? cli_start(&datasets_cli_spec, argc, argv, &top) : CLI_GO;   /* --help: exit 0 */
        if (rc != CLI_GO)
            return rc;
        if (sub[0] == '\0')
            return cli_usage_error(&datasets_cli_spec, "which subcommand? (upload, import, retention)");
        return cli_usage_error(&datasets_cli_spec, "unknown subcommand '%s' (upload, import, retention)", sub);
    }
    const struct cli_spec *spec = is_import ? &datasets_cli_import_spec : &datasets_cli_upload_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc - 1, argv + 1, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t user = 0;
    if (cli_int(spec, &a, "--user", 1, INT64_MAX, 0, &user, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    if (is_import && user == 0)
        return cli_usage_error(spec, "--user ID is required");
    const char *name = cli_value(spec, &a, "--name");
    if (!is_import && name == NULL)
        return cli_usage_error(spec, "--name NAME is required");
    const char *dtext = cli_value(spec, &a, "--delimiter");
    char delim = dtext != NULL ? csv_delim_parse(dtext) : 0;
    if (dtext != NULL && delim == 0)
        return cli_usage_error(spec, "--delimiter must be ',', ';' or tab, got '%s'", dtext);
    const char *file = a.args[0];
    struct datasets_who who = {0, true};
    struct datasets_error er;
    memset(&er, 0, sizeof(er));
    er.step = -1;
    struct datasets_cli_file cf;
    if (datasets_cli_open(&cf, file, ctx->cfg->csv_body_limit_bytes) != 0)
        return 1;
    struct datasets_input in = {.read = datasets_cli_pull, .read_ud = &cf};
    enum err e;
    rc = 0;
    if (is_import) {
        struct datasets_import_result ir;
        struct json_object *rejected = NULL;
        e = datasets_import(ctx, &who, user, &in, delim, &ir, &rejected, &er);
        if (datasets_cli_close(&cf) != 0) {
            if (rejected != NULL)
                json_object_put(rejected);
            rc = 1;
        } else if (e != ERR_NONE) {
            datasets_cli_error(e, &er);
            if (rejected != NULL) {
                fprintf(stderr, "%s\n", json_object_to_json_string_ext(rejected, JSON_C_TO_STRING_PRETTY));
                json_object_put(rejected);
            }
            rc = 1;
        } else {
            if (ir.inserted > 0)
                module_publish(ctx, &(struct tally_event){TALLY_EVENT_TRANSACTIONS_CHANGED, user});
            printf("{\"inserted\": %ld, \"duplicates\": %ld, \"dataset_version\": {\"dataset_id\": %" PRId64
                   ", \"version\": %d}}\n", ir.inserted, ir.duplicates, ir.dataset_id, ir.version);
        }
    } else {
        struct datasets_version v;
        bool created;
        e = datasets_upload(ctx, &who, user, name, &in, delim, false, &v, &created, &er);
        if (datasets_cli_close(&cf) != 0) {
            if (e == ERR_NONE)
                datasets_version_free(&v);
            rc = 1;
        } else if (e != ERR_NONE) {
            datasets_cli_error(e, &er);
            rc = 1;
        } else {
            struct json_object *o = datasets_version_json(&v, false);
            printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
            datasets_version_free(&v);
        }
    }
    return rc;
}
