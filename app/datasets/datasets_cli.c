/* datasets_cli: see datasets_cli.h. The same service calls as the API,
 * with an admin identity: `upload --name NAME [--user N] FILE`, `import
 * --user N FILE` (a bank export, as POST …/transactions/import),
 * `retention [--keep N]` (what the daily job does). */
#define _GNU_SOURCE
#include "datasets_cli.h"
#include "datasets.h"
#include "datasets_import.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../csv/csv.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int datasets_cli_usage(void)
{
    fprintf(stderr, "usage: tallyctl datasets upload --name NAME [--user N] [--delimiter D] FILE\n"
                    "       tallyctl datasets import --user N [--delimiter D] FILE\n"
                    "       tallyctl datasets retention [--keep N]\n");
    return 2;
}

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
        fprintf(stderr, "tallyctl datasets: cannot open %s\n", path);
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

int datasets_cli_run(struct tally_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return datasets_cli_usage();
    const char *sub = argv[1], *name = NULL, *file = NULL;
    int64_t user = 0, keep = 0;
    char delim = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--name") == 0 && v) {
            name = v;
            i++;
        } else if (strcmp(a, "--user") == 0 && v && parse_int64(v, strlen(v), 1, INT64_MAX, &user) == 0) {
            i++;
        } else if (strcmp(a, "--keep") == 0 && v && parse_int64(v, strlen(v), 1, 100000, &keep) == 0) {
            i++;
        } else if (strcmp(a, "--delimiter") == 0 && v && (delim = csv_delim_parse(v)) != 0) {
            i++;
        } else if (a[0] != '-' && file == NULL) {
            file = a;
        } else {
            return datasets_cli_usage();
        }
    }
    struct datasets_who who = {0, true};
    struct datasets_error er;
    memset(&er, 0, sizeof(er));
    er.step = -1;
    if (strcmp(sub, "retention") == 0) {
        struct datasets_limits lim;
        datasets_limits_get(ctx, &lim);
        long purged = 0;
        enum err e = datasets_retention(ctx, keep > 0 ? (int)keep : lim.keep_versions, &purged);
        if (e != ERR_NONE) {
            datasets_cli_error(e, &er);
            return 1;
        }
        printf("%ld\n", purged);
        return 0;
    }
    bool is_import = strcmp(sub, "import") == 0;
    if ((!is_import && strcmp(sub, "upload") != 0) || file == NULL || (is_import && user == 0) ||
        (!is_import && name == NULL))
        return datasets_cli_usage();
    struct datasets_cli_file cf;
    if (datasets_cli_open(&cf, file, ctx->cfg->csv_body_limit_bytes) != 0)
        return 1;
    struct datasets_input in = {.read = datasets_cli_pull, .read_ud = &cf};
    enum err e;
    int rc = 0;
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
