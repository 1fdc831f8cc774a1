/* datasets_http: the thin HTTP layer of datasets (routes of API.md
 * "Datasets" and the transactions CSV import): path and query parsing,
 * the caller's identity, and rendering of datasets_error (a CSV error's
 * line and column inside "error"; a step's index and reason beside it).
 * It also holds the domain's line of the module table (datasets_module). */
#define _GNU_SOURCE
#include "datasets_http.h"
#include "datasets.h"
#include "datasets_admin.h"
#include "datasets_cli.h"
#include "datasets_seed.h"
#include "datasets_import.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/stats.h"
#include "../core/config.h"
#include "../core/jsonx.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../csv/csv.h"
#include "datasets_job.h"
#include "../jobs/jobs.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shared counters of the module (every worker): /metrics. */
enum datasets_counter {
    DC_UPLOAD_CREATED, DC_UPLOAD_EXISTING, DC_UPLOAD_REJECTED,
    DC_PREVIEW, DC_APPLY, DC_TRANSFORM_REJECTED,
    DC_IMPORT_OK, DC_IMPORT_REJECTED, DC_ROWS_INSERTED, DC_ROWS_DUPLICATE,
    DC_COUNT
};

struct datasets_shared {
    uint64_t n[DC_COUNT];
};

static void datasets_http_count(struct request *req, enum datasets_counter which, uint64_t n)
{
    struct datasets_shared *c = module_shm(req->ctx->shm, "datasets");
    if (c != NULL)
        shm_add(&c->n[which], n);
}

static void datasets_http_metrics(const struct tally_ctx *ctx, struct buf *b)
{
    const struct datasets_shared *c = module_shm(ctx->shm, "datasets");
    if (c == NULL)
        return;
    static const struct {
        const char *name, *help, *label;
        enum datasets_counter first;
        const char *values[3];
    } families[] = {
        {"tally_datasets_uploads_total", "CSV uploads: a new version, an equal table already kept, or refused (4xx).",
         "outcome", DC_UPLOAD_CREATED, {"created", "existing", "rejected"}},
        {"tally_datasets_transforms_total",
         "Dataset transforms: previews, applied (a new version), refused (validation, 50 % rule, 410).", "kind",
         DC_PREVIEW, {"preview", "apply", "rejected"}},
        {"tally_transactions_imports_total", "Transactions CSV imports by outcome.", "outcome", DC_IMPORT_OK,
         {"ok", "rejected", NULL}},
        {"tally_transactions_import_rows_total",
         "Rows of accepted transactions CSV imports: inserted, or already present (duplicates).", "result",
         DC_ROWS_INSERTED, {"inserted", "duplicate", NULL}},
    };
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        buf_metric_header(b, families[f].name, "counter", families[f].help);
        for (int i = 0; i < 3 && families[f].values[i] != NULL; i++)
            buf_printf(b, "%s{%s=\"%s\"} %" PRIu64 "\n", families[f].name, families[f].label, families[f].values[i],
                       shm_load(&c->n[families[f].first + i]));
    }
}

/* The request's context (with its arena) and the caller's identity. */
static void datasets_http_ctx(struct request *req, struct tally_ctx *ctx, struct datasets_who *who)
{
    *ctx = *req->ctx;
    ctx->arena = req->arena;
    who->user_id = req->auth_user_id;
    who->admin = req->auth_admin;
}

/* Renders a service failure: e with the detail in er (if any). */
static int datasets_http_fail(struct request *req, enum err e, const struct datasets_error *er)
{
    if (e == ERR_NOT_FOUND && (er == NULL || er->message[0] == '\0'))
        return request_fail(req, e, NULL, "no such dataset or version");
    if (e == ERR_GONE && (er == NULL || er->message[0] == '\0'))
        return request_fail(req, e, NULL, "this version is past retention: its rows are no longer kept");
    if (er == NULL || er->message[0] == '\0')
        return e;
    request_fail(req, e, er->field, "%s", er->message);
    if (er->line > 0) {
        struct json_object *err = json_object_new_object();
        json_object_object_add(err, "code", json_object_new_string(err_lookup(e)->code));
        json_object_object_add(err, "message", json_object_new_string(er->message));
        json_object_object_add(err, "field", er->field ? json_object_new_string(er->field) : NULL);
        json_object_object_add(err, "line", json_object_new_int64(er->line));
        json_object_object_add(err, "column", json_object_new_int64(er->column));
        req->error_extra = json_object_new_object();
        json_object_object_add(req->error_extra, "error", err);
    } else if (er->step >= 0) {
        req->error_extra = json_object_new_object();
        json_object_object_add(req->error_extra, "step", json_object_new_int(er->step));
        json_object_object_add(req->error_extra, "reason", json_object_new_string(er->reason));
    }
    return e;
}

static void datasets_http_error_init(struct datasets_error *er)
{
    memset(er, 0, sizeof(*er));
    er->step = -1;
}

static enum err datasets_http_csv_body(struct request *req, char *delim)
{
    enum err e = request_require_content_type(req, "text/csv");
    if (e != ERR_NONE)
        return e;
    const char *d = request_query(req, "delimiter");
    *delim = 0;
    if (d != NULL && (*delim = csv_delim_parse(d)) == 0)
        return request_fail(req, ERR_BAD_REQUEST, "delimiter", "delimiter must be , ; or tab");
    if ((long)req->body_len > req->ctx->cfg->csv_body_limit_bytes)
        return request_fail(req, ERR_PAYLOAD_TOO_LARGE, "body", "request body larger than %ld bytes",
                            req->ctx->cfg->csv_body_limit_bytes);
    return ERR_NONE;
}

/* The body as an upload's input: streamed when the route streams it. */
static struct datasets_input datasets_http_input(struct request *req)
{
    if (req->body_streamed)
        return (struct datasets_input){.read = request_body_read, .read_ud = req};
    return datasets_input_mem(req->body, req->body_len);
}

/* POST /api/v1/datasets?name=…[&delimiter=…] */
static int datasets_http_upload(struct request *req, struct response *res)
{
    struct tally_ctx ctx;
    struct datasets_who who;
    datasets_http_ctx(req, &ctx, &who);
    char delim;
    enum err e = datasets_http_csv_body(req, &delim);
    if (e != ERR_NONE)
        return e;
    const char *name = request_query(req, "name");
    if (name == NULL || name[0] == '\0' || strlen(name) > 200)
        return request_fail(req, ERR_BAD_REQUEST, "name", "name is required (1 to 200 bytes)");
    if (csv_utf8_check(name, strlen(name)) != strlen(name))
        return request_fail(req, ERR_BAD_REQUEST, "name", "name must be UTF-8");
    struct datasets_error er;
    datasets_http_error_init(&er);
    struct datasets_version v;
    bool created;
    struct datasets_input in = datasets_http_input(req);
    e = datasets_upload(&ctx, &who, who.admin ? 0 : who.user_id, name, &in, delim, false, &v, &created, &er);
    if (e != ERR_NONE) {
        if (err_lookup(e)->status < 500 || request_body_error(req) != ERR_NONE)
            datasets_http_count(req, DC_UPLOAD_REJECTED, 1);
        if (request_body_error(req) != ERR_NONE)      /* the body itself: over the cap, cut short */
            return request_body_error(req);
        return datasets_http_fail(req, e, &er);
    }
    datasets_http_count(req, created ? DC_UPLOAD_CREATED : DC_UPLOAD_EXISTING, 1);
    struct json_object *o = datasets_version_json(&v, false);
    datasets_version_free(&v);
    return response_json(res, created ? 201 : 200, o);
}

static int datasets_http_list(struct request *req, struct response *res)
{
    struct tally_ctx ctx;
    struct datasets_who who;
    datasets_http_ctx(req, &ctx, &who);
    struct json_object *o = NULL;
    enum err e = datasets_list(&ctx, &who, request_query(req, "name"), &o);
    if (e != ERR_NONE)
        return datasets_http_fail(req, e, NULL);
    return response_json(res, 200, o);
}

/* A read of one dataset ({dataset}) answered as JSON. */
static int datasets_http_dataset_read(struct request *req, struct response *res,
                                      enum err (*fn)(struct tally_ctx *, const struct datasets_who *, int64_t,
                                                     struct json_object **))
{
    struct tally_ctx ctx;
    struct datasets_who who;
    datasets_http_ctx(req, &ctx, &who);
    int64_t id;
    enum err e = request_path_id(req, "dataset", &id);
    if (e != ERR_NONE)
        return e;
    struct json_object *o = NULL;
    e = fn(&ctx, &who, id, &o);
    if (e != ERR_NONE)
        return datasets_http_fail(req, e, NULL);
    return response_json(res, 200, o);
}

static int datasets_http_get(struct request *req, struct response *res)
{
    return datasets_http_dataset_read(req, res, datasets_get);
}

static int datasets_http_versions(struct request *req, struct response *res)
{
    return datasets_http_dataset_read(req, res, datasets_versions);
}

/* Parses a version number (text of len bytes). */
static enum err datasets_http_number(struct request *req, const char *field, const char *s, size_t len, int *out)
{
    int64_t n;
    if (parse_int64(s, len, 1, 1000000000, &n) != 0)
        return request_fail(req, ERR_BAD_REQUEST, field, "%s must be a version number", field);
    *out = (int)n;
    return ERR_NONE;
}

/* {dataset} and {v} of the path (v may end in ".csv": *csv), then the version. */
static enum err datasets_http_version(struct request *req, struct tally_ctx *ctx, const struct datasets_who *who,
                                      struct datasets_version *v, bool *csv)
{
    int64_t id;
    enum err e = request_path_id(req, "dataset", &id);
    if (e != ERR_NONE)
        return e;
    const struct route_param *p = router_param(&req->match, "v");
    if (p == NULL)
        return request_fail(req, ERR_BAD_REQUEST, "v", "version is required");
    size_t len = p->value_len;
    bool is_csv = len > 4 && memcmp(p->value + len - 4, ".csv", 4) == 0;
    if (csv != NULL)
        *csv = is_csv;
    else if (is_csv)
        return request_fail(req, ERR_NOT_FOUND, NULL, "no route for %s", req->path);
    int number = 0;
    e = datasets_http_number(req, "v", p->value, is_csv ? len - 4 : len, &number);
    if (e != ERR_NONE)
        return e;
    e = datasets_find(ctx, who, id, number, v);
    if (e != ERR_NONE)
        return datasets_http_fail(req, e, NULL);
    return ERR_NONE;
}

/* A download in flight: written after the headers, chunk by chunk. */
struct datasets_http_download {
    struct tally_ctx ctx;
    struct datasets_version v;
    response_write_fn write;
    void *wud;
};

static int datasets_http_download_emit(void *ud, const char *data, size_t len)
{
    struct datasets_http_download *d = ud;
    return d->write(d->wud, data, len);
}

static int datasets_http_download_run(void *ud, response_write_fn write, void *wud)
{
    struct datasets_http_download *d = ud;
    d->write = write;
    d->wud = wud;
    return datasets_download(&d->ctx, &d->v, datasets_http_download_emit, d) == ERR_NONE ? 0 : -1;
}

static void datasets_http_download_free(void *ud)
{
    datasets_version_free(&((struct datasets_http_download *)ud)->v);
}

/* GET …/versions/{v} (metadata) and …/versions/{v}.csv (download). */
static int datasets_http_version_get(struct request *req, struct response *res)
{
    struct tally_ctx ctx;
    struct datasets_who who;
    datasets_http_ctx(req, &ctx, &who);
    struct datasets_version v;
    bool csv;
    enum err e = datasets_http_version(req, &ctx, &who, &v, &csv);
    if (e != ERR_NONE)
        return e;
    if (!csv) {
        struct json_object *o = datasets_version_json(&v, true);
        datasets_version_free(&v);
        return response_json(res, 200, o);
    }
    e = datasets_download_check(&ctx, &v);
    struct datasets_http_download *d = e == ERR_NONE ? arena_alloc(req->arena, sizeof(*d)) : NULL;
    if (d == NULL) {
        datasets_version_free(&v);
        return datasets_http_fail(req, e != ERR_NONE ? e : ERR_INTERNAL, NULL);
    }
    d->ctx = ctx;
    d->v = v;                       /* owned by the response from here (datasets_http_download_free) */
    char *etag = arena_sprintf(req->arena, "\"%s\"", v.sha256);
    char *disposition = arena_sprintf(req->arena, "attachment; filename=\"dataset-%" PRId64 "-v%d.csv\"",
                                      v.dataset_id, v.version);
    response_stream(res, 200, "text/csv; charset=utf-8", (size_t)v.content_bytes, datasets_http_download_run, d,
                    datasets_http_download_free);
    if (etag != NULL)
        response_header(res, "ETag", etag);
    if (disposition != NULL)
        response_header(res, "Content-Disposition", disposition);
    return ERR_NONE;
}

/* A read of one version: fn answers JSON (200) from the version found. */
typedef enum err (*datasets_http_read_fn)(struct request *req, struct tally_ctx *ctx, const struct datasets_who *who,
                                          const struct datasets_version *v, struct json_object **out);

static int datasets_http_read(struct request *req, struct response *res, datasets_http_read_fn fn)
{
    struct tally_ctx ctx;
    struct datasets_who who;
    datasets_http_ctx(req, &ctx, &who);
    struct datasets_version v;
    enum err e = datasets_http_version(req, &ctx, &who, &v, NULL);
    if (e != ERR_NONE)
        return e;
    struct json_object *o = NULL;
    e = fn(req, &ctx, &who, &v, &o);
    datasets_version_free(&v);
    if (e != ERR_NONE)
        return req->error_message[0] ? (int)e : datasets_http_fail(req, e, NULL);
    return response_json(res, 200, o);
}

static enum err datasets_http_rows_of(struct request *req, struct tally_ctx *ctx, const struct datasets_who *who,
                                      const struct datasets_version *v, struct json_object **out)
{
    int64_t offset = 0;
    int limit = 0;
    enum err e = request_query_int(req, "offset", 0, INT64_C(1) << 40, 0, &offset);
    if (e == ERR_NONE)
        e = request_limit(req, DATASETS_ROWS_LIMIT_MAX, LIMIT_LIST_DEFAULT, &limit);
    (void)who;
    return e != ERR_NONE ? e : datasets_rows(ctx, v, (long)offset, limit, out);
}

static enum err datasets_http_lineage_of(struct request *req, struct tally_ctx *ctx, const struct datasets_who *who,
                                         const struct datasets_version *v, struct json_object **out)
{
    (void)req;
    (void)who;
    return datasets_lineage(ctx, v, out);
}

static enum err datasets_http_diff_of(struct request *req, struct tally_ctx *ctx, const struct datasets_who *who,
                                      const struct datasets_version *v, struct json_object **out)
{
    const char *against = request_query(req, "against");
    if (against == NULL)
        return request_fail(req, ERR_BAD_REQUEST, "against", "against (a version number) is required");
    int w_number = 0;
    enum err e = datasets_http_number(req, "against", against, strlen(against), &w_number);
    if (e != ERR_NONE)
        return e;
    struct datasets_version w;
    e = datasets_find(ctx, who, v->dataset_id, w_number, &w);
    if (e != ERR_NONE)
        return request_fail(req, e, "against", "version %d of this dataset not found", w_number);
    e = datasets_diff(ctx, v, &w, out);
    datasets_version_free(&w);
    return e;
}

static int datasets_http_rows(struct request *req, struct response *res)
{
    return datasets_http_read(req, res, datasets_http_rows_of);
}

static int datasets_http_lineage(struct request *req, struct response *res)
{
    return datasets_http_read(req, res, datasets_http_lineage_of);
}

static int datasets_http_diff(struct request *req, struct response *res)
{
    return datasets_http_read(req, res, datasets_http_diff_of);
}

static int datasets_http_transform(struct request *req, struct response *res)
{
    struct tally_ctx ctx;
    struct datasets_who who;
    datasets_http_ctx(req, &ctx, &who);
    struct datasets_version v;
    enum err e = datasets_http_version(req, &ctx, &who, &v, NULL);
    if (e != ERR_NONE)
        return e;
    struct json_object *body = NULL, *o = NULL;
    e = jsonx_body_of(req, json_type_object, &body);
    if (e != ERR_NONE) {
        datasets_version_free(&v);
        return e;
    }
    struct datasets_error er;
    datasets_http_error_init(&er);
    bool created;
    e = datasets_transform(&ctx, &who, &v, body, &o, &created, &er);
    datasets_version_free(&v);
    json_object_put(body);
    if (e != ERR_NONE) {
        if (err_lookup(e)->status < 500)
            datasets_http_count(req, DC_TRANSFORM_REJECTED, 1);
        return datasets_http_fail(req, e, &er);
    }
    datasets_http_count(req, created ? DC_APPLY : DC_PREVIEW, 1);
    return response_json(res, created ? 201 : 200, o);
}

static int datasets_http_pin_set(struct request *req, struct response *res, bool pin)
{
    struct tally_ctx ctx;
    struct datasets_who who;
    datasets_http_ctx(req, &ctx, &who);
    struct datasets_version v;
    enum err e = datasets_http_version(req, &ctx, &who, &v, NULL);
    if (e != ERR_NONE)
        return e;
    if (pin && v.purged) {
        datasets_version_free(&v);
        return datasets_http_fail(req, ERR_GONE, NULL);
    }
    e = datasets_pin(&ctx, &v, pin);
    v.pinned = pin;
    struct json_object *o = e == ERR_NONE ? datasets_version_json(&v, false) : NULL;
    datasets_version_free(&v);
    if (e != ERR_NONE)
        return e;
    return response_json(res, 200, o);
}

static int datasets_http_pin(struct request *req, struct response *res)
{
    return datasets_http_pin_set(req, res, true);
}

static int datasets_http_unpin(struct request *req, struct response *res)
{
    return datasets_http_pin_set(req, res, false);
}

/* POST /api/v1/users/{id}/transactions/import (auth checked {id} already). */
static int datasets_http_import(struct request *req, struct response *res)
{
    struct tally_ctx ctx;
    struct datasets_who who;
    datasets_http_ctx(req, &ctx, &who);
    int64_t user_id;
    enum err e = request_path_id(req, "id", &user_id);
    char delim = 0;
    if (e == ERR_NONE)
        e = datasets_http_csv_body(req, &delim);
    if (e != ERR_NONE)
        return e;
    struct datasets_error er;
    datasets_http_error_init(&er);
    struct datasets_import_result ir;
    struct json_object *rejected = NULL;
    struct datasets_input in = datasets_http_input(req);
    e = datasets_import(&ctx, &who, user_id, &in, delim, &ir, &rejected, &er);
    if (e != ERR_NONE) {
        if (err_lookup(e)->status < 500 || request_body_error(req) != ERR_NONE)
            datasets_http_count(req, DC_IMPORT_REJECTED, 1);
        if (request_body_error(req) != ERR_NONE) {
            if (rejected != NULL)
                json_object_put(rejected);
            return request_body_error(req);
        }
        int rc = datasets_http_fail(req, e, &er);
        if (rejected != NULL) {
            if (req->error_extra == NULL)
                req->error_extra = json_object_new_object();
            json_object_object_add(req->error_extra, "rejected", rejected);
        }
        return rc;
    }
    datasets_http_count(req, DC_IMPORT_OK, 1);
    datasets_http_count(req, DC_ROWS_INSERTED, (uint64_t)ir.inserted);
    datasets_http_count(req, DC_ROWS_DUPLICATE, (uint64_t)ir.duplicates);
    if (ir.inserted > 0)      /* derived data of the user is now out of date, as for the JSON insert */
        module_publish(req->ctx, &(struct tally_event){TALLY_EVENT_TRANSACTIONS_CHANGED, user_id});
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "inserted", json_object_new_int64(ir.inserted));
    json_object_object_add(o, "duplicates", json_object_new_int64(ir.duplicates));
    struct json_object *dv = json_object_new_object();
    json_object_object_add(dv, "dataset_id", json_object_new_int64(ir.dataset_id));
    json_object_object_add(dv, "version", json_object_new_int(ir.version));
    json_object_object_add(o, "dataset_version", dv);
    json_object_object_add(o, "delimiter", json_object_new_string(ir.delimiter == '\t' ? "tab"
                                                                  : ir.delimiter == ';' ? ";" : ","));
    return response_json(res, ir.inserted > 0 ? 201 : 200, o);
}

static const struct route datasets_routes[] = {
    {"POST", "/api/v1/datasets", datasets_http_upload, ROUTE_USER | ROUTE_STREAM_BODY},
    {"GET", "/api/v1/datasets", datasets_http_list, ROUTE_USER},
    {"GET", "/api/v1/datasets/{dataset}", datasets_http_get, ROUTE_USER},
    {"GET", "/api/v1/datasets/{dataset}/versions", datasets_http_versions, ROUTE_USER},
    {"GET", "/api/v1/datasets/{dataset}/versions/{v}", datasets_http_version_get, ROUTE_USER},
    {"GET", "/api/v1/datasets/{dataset}/versions/{v}/rows", datasets_http_rows, ROUTE_USER},
    {"GET", "/api/v1/datasets/{dataset}/versions/{v}/lineage", datasets_http_lineage, ROUTE_USER},
    {"GET", "/api/v1/datasets/{dataset}/versions/{v}/diff", datasets_http_diff, ROUTE_USER},
    {"POST", "/api/v1/datasets/{dataset}/versions/{v}/transform", datasets_http_transform, ROUTE_USER},
    {"POST", "/api/v1/datasets/{dataset}/versions/{v}/pin", datasets_http_pin, ROUTE_USER},
    {"DELETE", "/api/v1/datasets/{dataset}/versions/{v}/pin", datasets_http_unpin, ROUTE_USER},
    {"POST", "/api/v1/users/{id}/transactions/import", datasets_http_import, ROUTE_USER | ROUTE_STREAM_BODY},
    {"GET", "/admin/datasets", datasets_admin_list, ROUTE_PUBLIC},
    {"GET", "/admin/datasets/{dataset}", datasets_admin_dataset, ROUTE_PUBLIC},
    {"POST", "/admin/datasets/{dataset}/versions/{v}/pin", datasets_admin_pin, ROUTE_PUBLIC},
};
static const struct jobs_handler datasets_jobs[] = {
    {"datasets_retention", datasets_job_retention},
};

static const struct module_config_key datasets_config[] = {
    {"dataset_keep_versions", "10", 1, 10000,
     "datasets: the last N versions of each dataset keep their content (pinned ones too); older ones answer 410"},
    {"dataset_max_rows", "2000000", 1, 100000000, "datasets: rows of one version (upload or transform result)"},
    {"dataset_max_columns", "512", 1, 512, "datasets: columns of one version"},
};

static const struct module_command datasets_commands[] = {
    {"datasets", "datasets upload --name NAME [--user N] FILE | import --user N FILE | retention [--keep N]",
     "store a CSV as a dataset version, import a bank export for a user, or run retention now", datasets_cli_run},
};

const struct tally_module datasets_module = {
    .name = "datasets",
    .routes = datasets_routes,
    .route_count = sizeof(datasets_routes) / sizeof(datasets_routes[0]),
    .jobs = datasets_jobs,
    .job_count = sizeof(datasets_jobs) / sizeof(datasets_jobs[0]),
    .commands = datasets_commands,
    .command_count = sizeof(datasets_commands) / sizeof(datasets_commands[0]),
    .config = datasets_config,
    .config_count = sizeof(datasets_config) / sizeof(datasets_config[0]),
    .shm_bytes = sizeof(struct datasets_shared),
    .metrics = datasets_http_metrics,
    .seed_demo = datasets_seed_demo,
};
