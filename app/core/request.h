/* request: one HTTP request as FastCGI hands it to a worker: params,
 * decoded query string, bounded body, path parameters, auth result and the
 * per-request accounting the log line reports. All its memory comes from
 * the worker's arena and dies with the request. */
#ifndef TALLY_REQUEST_H
#define TALLY_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"
#include "limits.h"
#include "router.h"

struct worker;
struct tally_ctx;
struct arena;
struct json_object;

struct query_param {
    const char *name;
    const char *value;
};

struct request {
    struct worker *worker;                  /* core only: module code uses ctx */
    struct tally_ctx *ctx;
    struct arena *arena;
    char **envp;                            /* FastCGI params */
    const char *method;
    const char *path;
    const char *query_string;
    const char *content_type;
    long content_length;                    /* -1 if absent */
    char request_id[LIMIT_REQUEST_ID_BYTES];
    struct query_param query[LIMIT_QUERY_PARAMS];
    int query_count;
    bool query_truncated;
    struct route_match match;
    const char *route_label;                /* pattern, "unmatched" or "static" */

    char *body;                             /* NUL-terminated, from the arena */
    size_t body_len;

    /* A streamed body (a ROUTE_STREAM_BODY route): body stays NULL and the
     * handler pulls the bytes with request_body_read. */
    bool body_streamed;
    bool body_eof;                          /* read to its end */
    enum err body_err;                      /* why the stream failed (detail recorded), or ERR_NONE */
    long body_limit;                        /* bytes allowed */
    size_t body_read;                       /* bytes read so far */
    void *body_in;                          /* the FastCGI stdin stream: core only */

    /* Set by auth. */
    bool auth_ok;
    bool auth_admin;
    int64_t auth_user_id;                   /* 0 for admin tokens */

    /* Error detail for the response; set through request_fail(). */
    const char *error_field;
    char error_message[256];
    struct json_object *error_extra;        /* merged into the error body, owned */

    /* Accounting for the log line. */
    uint64_t start_us;
    double db_ms;
    int cache_hits;
    int cache_misses;
};

void request_init(struct request *req, struct worker *w, struct arena *a, char **envp);
const char *request_param(const struct request *req, const char *name);      /* FastCGI param */
const char *request_header(const struct request *req, const char *http_name); /* "HTTP_X_TALLY_NOW" */
const char *request_query(const struct request *req, const char *name);      /* decoded, NULL if absent */
/* Parses the query string into req->query (percent-decoded). Returns ERR_NONE
 * or ERR_BAD_REQUEST with the error set. */
enum err request_parse_query(struct request *req);
/* "Today" for the request: the X-Tally-Now header (YYYY-MM-DD, tests and
 * replays; only when the config's now_header = 1, else ignored) or the UTC
 * clock. ERR_BAD_REQUEST naming the header if malformed. */
enum err request_today(struct request *req, int *y, int *m, int *d);
/* Query parameter ?name= as an integer in [min, max]; dflt when absent or
 * empty. ERR_BAD_REQUEST naming it otherwise. */
enum err request_query_int(struct request *req, const char *name, int64_t min, int64_t max, int64_t dflt,
                           int64_t *out);
/* ?limit= of a list: [1, max], default dflt. */
enum err request_limit(struct request *req, int64_t max, int64_t dflt, int *out);
/* Path parameter {name} as a positive int64, else ERR_BAD_REQUEST naming it. */
enum err request_path_id(struct request *req, const char *name, int64_t *out);
/* Reads up to cap bytes of a streamed body into buf (ud: the request; a
 * csv_read_fn). Returns the count, 0 at the end of the body, or -1 when the
 * body goes over the route's cap (413) or does not match CONTENT_LENGTH
 * (shorter or longer: 400); the error detail is recorded in req and
 * req->body_err says which, so a handler returns request_body_error(req)
 * rather than its own reading of the failure. */
long request_body_read(void *ud, char *buf, size_t cap);
static inline enum err request_body_error(const struct request *req) { return req->body_err; }
/* Content type check: ERR_UNSUPPORTED_MEDIA_TYPE unless it is `want` (params ignored). */
enum err request_require_content_type(struct request *req, const char *want);
/* Records the error detail and returns e, so handlers can `return request_fail(...)`. */
int request_fail(struct request *req, enum err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
