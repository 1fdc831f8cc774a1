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

/* Reads a whole file, at most limit bytes. NULL with a message on failure. */
static char *datasets_cli_read(const char *path, long limit, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "tallyctl datasets: cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        if (n == cap) {
            if (cap >= (size_t)limit) {
                fprintf(stderr, "tallyctl datasets: %s is larger than csv_body_limit_bytes (%ld)\n", path, limit);
                free(buf);
                buf = NULL;
                break;
            }
            char *bigger = realloc(buf, cap * 2 + 1);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
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
    size_t len = 0;
    char *data = datasets_cli_read(file, ctx->cfg->csv_body_limit_bytes, &len);
    if (data == NULL)
        return 1;
    int rc = 0;
    if (is_import) {
        struct datasets_import_result ir;
        struct json_object *rejected = NULL;
        enum err e = datasets_import(ctx, &who, user, &(struct datasets_input){.data = data, .len = len}, delim, &ir, &rejected, &er);
        if (e != ERR_NONE) {
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
        enum err e = datasets_upload(ctx, &who, user, name, &(struct datasets_input){.data = data, .len = len}, delim, false, &v, &created, &er);
        if (e != ERR_NONE) {
            datasets_cli_error(e, &er);
            rc = 1;
        } else {
            struct json_object *o = datasets_version_json(&v, false);
            printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
            datasets_version_free(&v);
        }
    }
    free(data);
    return rc;
}
