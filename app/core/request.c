/* request: FastCGI params, query string and path parameters. The body is
 * read by the worker (it owns the FastCGI stream); see worker.c. */
#define _GNU_SOURCE
#include "request.h"
#include "clock.h"
#include "arena.h"
#include "parse.h"
#include "text.h"
#include "worker.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <strings.h>
#include <time.h>

const char *request_param(const struct request *req, const char *name)
{
    size_t n = strlen(name);
    for (char **e = req->envp; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

const char *request_header(const struct request *req, const char *http_name)
{
    return request_param(req, http_name);
}

static bool request_id_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == ':';
}

/* nginx's REQUEST_ID (the id of its access log line: the client's
 * X-Request-Id when plain, else its own), else the client's X-Request-Id
 * when it is short and plain (tallyd without nginx), else a new one. */
static void request_set_id(struct request *req)
{
    const char *given = request_param(req, "REQUEST_ID");
    if (given == NULL || given[0] == '\0')
        given = request_header(req, "HTTP_X_REQUEST_ID");
    if (given != NULL) {
        size_t n = strlen(given);
        bool ok = n > 0 && n < sizeof(req->request_id);
        for (size_t i = 0; ok && i < n; i++)
            ok = request_id_char_ok(given[i]);
        if (ok) {
            memcpy(req->request_id, given, n + 1);
            return;
        }
    }
    if (req->worker != NULL) {
        /* Per-process random prefix + counter: unique, and no syscall. */
        struct worker *w = req->worker;
        snprintf(req->request_id, sizeof(req->request_id), "%s%016llx", w->request_id_prefix,
                 (unsigned long long)++w->request_counter);
        return;
    }
    unsigned char raw[12];
    arc4random_buf(raw, sizeof(raw));
    text_hex(raw, sizeof(raw), req->request_id);
}

void request_init(struct request *req, struct worker *w, struct arena *a, char **envp)
{
    memset(req, 0, sizeof(*req));
    req->worker = w;
    req->ctx = w != NULL ? &w->ctx : NULL;
    req->arena = a;
    req->envp = envp;
    req->start_us = clock_us();
    req->method = request_param(req, "REQUEST_METHOD");
    if (req->method == NULL)
        req->method = "GET";
    req->query_string = request_param(req, "QUERY_STRING");
    if (req->query_string == NULL)
        req->query_string = "";
    req->path = request_param(req, "DOCUMENT_URI");
    if (req->path == NULL) {
        const char *uri = request_param(req, "REQUEST_URI");
        if (uri == NULL)
            uri = "/";
        const char *q = strchr(uri, '?');
        req->path = q ? arena_strndup(a, uri, (size_t)(q - uri)) : uri;
        if (req->path == NULL)
            req->path = "/";
    }
    req->content_type = request_param(req, "CONTENT_TYPE");
    const char *cl = request_param(req, "CONTENT_LENGTH");
    req->content_length = -1;
    if (cl != NULL && *cl != '\0') {
        int64_t v;
        if (parse_int64(cl, strlen(cl), 0, INT64_MAX / 2, &v) == 0)
            req->content_length = (long)v;
    }
    req->route_label = "unmatched";
    request_set_id(req);
}

static char *request_decode(struct request *req, const char *s, size_t len)
{
    char *out = arena_alloc(req->arena, len + 1);
    if (out == NULL)
        return NULL;
    size_t n = text_percent_decode(s, len, out, len + 1, true);
    if (n == (size_t)-1)
        return NULL;
    out[n] = '\0';
    return out;
}

enum err request_parse_query(struct request *req)
{
    const char *qs = req->query_string;
    size_t total = strlen(qs);
    if (total > LIMIT_QUERY_STRING_BYTES)
        return request_fail(req, ERR_BAD_REQUEST, NULL, "query string longer than %d bytes",
                            LIMIT_QUERY_STRING_BYTES);
    const char *p = qs;
    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            if (req->query_count >= LIMIT_QUERY_PARAMS)
                return request_fail(req, ERR_BAD_REQUEST, NULL, "more than %d query parameters",
                                    LIMIT_QUERY_PARAMS);
            const char *eq = memchr(p, '=', len);
            size_t name_len = eq ? (size_t)(eq - p) : len;
            const char *value = eq ? eq + 1 : p + len;
            size_t value_len = eq ? len - name_len - 1 : 0;
            char *name = request_decode(req, p, name_len);
            char *val = request_decode(req, value, value_len);
            if (name == NULL || val == NULL || !text_is_utf8(val, strlen(val)))
                return request_fail(req, ERR_BAD_REQUEST, name, "malformed query parameter");
            req->query[req->query_count].name = name;
            req->query[req->query_count].value = val;
            req->query_count++;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return ERR_NONE;
}

const char *request_query(const struct request *req, const char *name)
{
    for (int i = 0; i < req->query_count; i++)
        if (strcmp(req->query[i].name, name) == 0)
            return req->query[i].value;
    return NULL;
}

enum err request_path_id(struct request *req, const char *name, int64_t *out)
{
    const struct route_param *p = router_param(&req->match, name);
    if (p == NULL || parse_int64(p->value, p->value_len, 1, INT64_MAX, out) != 0)
        return request_fail(req, ERR_BAD_REQUEST, name, "path parameter %s must be a positive integer",
                            name);
    return ERR_NONE;
}

enum err request_query_int(struct request *req, const char *name, int64_t min, int64_t max, int64_t dflt,
                           int64_t *out)
{
    const char *v = request_query(req, name);
    *out = dflt;
    if (v == NULL || v[0] == '\0')
        return ERR_NONE;
    if (parse_int64(v, strlen(v), min, max, out) != 0) {
        *out = dflt;
        return request_fail(req, ERR_BAD_REQUEST, name, "%s must be an integer from %" PRId64 " to %" PRId64, name,
                            min, max);
    }
    return ERR_NONE;
}

enum err request_limit(struct request *req, int64_t max, int64_t dflt, int *out)
{
    int64_t n;
    enum err e = request_query_int(req, "limit", 1, max, dflt, &n);
    *out = (int)n;
    return e;
}

enum err request_require_content_type(struct request *req, const char *want)
{
    const char *ct = req->content_type;
    size_t n = strlen(want);
    if (ct == NULL || strncasecmp(ct, want, n) != 0 || (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
        return request_fail(req, ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                            "Content-Type must be %s", want);
    return ERR_NONE;
}

int request_fail(struct request *req, enum err e, const char *field, const char *fmt, ...)
{
    req->error_field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->error_message, sizeof(req->error_message), fmt, ap);
    va_end(ap);
    return (int)e;
}

enum err request_today(struct request *req, int *y, int *m, int *d)
{
    /* Only a stack that says so (now_header = 1: tests, dev) lets a client move "now". */
    const char *now = req->worker->cfg->now_header ? request_header(req, "HTTP_X_TALLY_NOW") : NULL;
    if (now == NULL) {
        parse_today_utc(y, m, d);
        return ERR_NONE;
    }
    if (parse_date(now, strlen(now), y, m, d) != 0)
        return request_fail(req, ERR_BAD_REQUEST, "X-Tally-Now", "X-Tally-Now must be a date YYYY-MM-DD");
    return ERR_NONE;
}
