/* worker: the FastCGI accept loop and the request pipeline
 * (route -> query -> auth -> body -> handler -> response -> log/counters).
 *
 * Signals: SIGTERM/SIGQUIT set a flag. They are installed without
 * SA_RESTART and with FCGI_FAIL_ACCEPT_ON_INTR so an idle worker leaves
 * accept() at once; while a request is being served they are blocked, so a
 * read or write on the FastCGI stream is never cut by EINTR (libfcgi treats
 * that as a stream error) and the request in hand always completes. */
#define _GNU_SOURCE
#include "worker.h"
#include "clock.h"
#include "log.h"
#include "request.h"
#include "response.h"
#include "router.h"
#include "shm.h"
#include "../cache/cache.h"
#include "../cache/cachegen.h"
#include "../store/db.h"

#include <errno.h>
#include <fcgiapp.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t worker_stop_requested;

static void worker_on_stop_signal(int signo)
{
    (void)signo;
    worker_stop_requested = 1;
}

static void worker_signals_install(sigset_t *stop_set)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = worker_on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                      /* no SA_RESTART: accept() must see EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);

    sigemptyset(stop_set);
    sigaddset(stop_set, SIGTERM);
    sigaddset(stop_set, SIGQUIT);
    sigaddset(stop_set, SIGINT);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static bool worker_has_body(const struct request *req)
{
    return req->content_length > 0 || strcmp(req->method, "POST") == 0 ||
           strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0;
}

/* request_body_read (request.h) lives here: the worker owns the FastCGI stream. */
long request_body_read(void *ud, char *buf, size_t cap)
{
    struct request *req = ud;
    if (!req->body_streamed || req->body_err != ERR_NONE)
        return -1;
    if (req->body_eof || cap == 0)
        return 0;
    if (cap > (size_t)1 << 30)
        cap = (size_t)1 << 30;
    int n = FCGX_GetStr(buf, (int)cap, req->body_in);
    if (n < 0)
        n = 0;
    req->body_read += (size_t)n;
    if (req->body_read > (size_t)req->body_limit) {
        req->body_err = request_fail(req, ERR_PAYLOAD_TOO_LARGE, "body", "request body larger than %ld bytes",
                                     req->body_limit);
        return -1;
    }
    if (req->content_length >= 0 && req->body_read > (size_t)req->content_length) {
        req->body_err = request_fail(req, ERR_BAD_REQUEST, "body", "request body longer than its Content-Length (%ld)",
                                     req->content_length);
        return -1;
    }
    if (n > 0)
        return n;
    req->body_eof = true;
    if (req->content_length >= 0 && req->body_read < (size_t)req->content_length) {
        req->body_err = request_fail(req, ERR_BAD_REQUEST, "body",
                                     "request body cut short: %zu of the %ld bytes of its Content-Length",
                                     req->body_read, req->content_length);
        return -1;
    }
    return 0;
}

/* The body cap for the request's content type. */
static long worker_body_limit(const struct worker *w, const struct request *req)
{
    const char *ct = req->content_type ? req->content_type : "";
    return strncasecmp(ct, "text/csv", 8) == 0 ? w->cfg->csv_body_limit_bytes : w->cfg->body_limit_bytes;
}

/* A ROUTE_STREAM_BODY route: nothing is read here; the handler pulls the
 * body through request_body_read, bounded by the same cap. A declared
 * length over the cap is refused before any byte is read. */
static enum err worker_stream_body(struct worker *w, struct request *req, FCGX_Stream *in)
{
    long limit = worker_body_limit(w, req);
    if (req->content_length > limit)
        return request_fail(req, ERR_PAYLOAD_TOO_LARGE, "body", "request body larger than %ld bytes", limit);
    req->body_streamed = true;
    req->body_limit = limit;
    req->body_in = in;
    return ERR_NONE;
}

/* After a streamed request: reads what the handler left of the body (a
 * failure half-way, say), so the connection ends cleanly; not past the cap. */
static void worker_drain_body(struct request *req)
{
    char scratch[16384];
    if (!req->body_streamed || req->body_eof || req->body_err == ERR_PAYLOAD_TOO_LARGE)
        return;
    while (req->body_read <= (size_t)req->body_limit) {
        int n = FCGX_GetStr(scratch, (int)sizeof(scratch), req->body_in);
        if (n <= 0) {
            req->body_eof = true;
            return;
        }
        req->body_read += (size_t)n;
    }
}

/* Reads the body to EOF (CONTENT_LENGTH is only a hint), bounded by the
 * configured limit for its content type. */
static enum err worker_read_body(struct worker *w, struct request *req, FCGX_Stream *in)
{
    long limit = worker_body_limit(w, req);
    if (req->content_length > limit)
        return request_fail(req, ERR_PAYLOAD_TOO_LARGE, NULL, "request body larger than %ld bytes", limit);
    size_t cap = req->content_length > 0 ? (size_t)req->content_length + 1 : 4096;
    char *buf = arena_alloc(&w->arena, cap + 1);
    size_t len = 0;
    if (buf == NULL)
        return request_fail(req, ERR_INTERNAL, NULL, "out of memory reading body");
    for (;;) {
        if (len == cap) {
            size_t grown = cap * 2;
            if (grown > (size_t)limit + 1)
                grown = (size_t)limit + 1;
            if (grown <= cap)
                return request_fail(req, ERR_PAYLOAD_TOO_LARGE, NULL, "request body larger than %ld bytes", limit);
            char *bigger = arena_alloc(&w->arena, grown + 1);
            if (bigger == NULL)
                return request_fail(req, ERR_INTERNAL, NULL, "out of memory reading body");
            memcpy(bigger, buf, len);
            buf = bigger;
            cap = grown;
        }
        int n = FCGX_GetStr(buf + len, (int)(cap - len), in);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len > (size_t)limit)
            return request_fail(req, ERR_PAYLOAD_TOO_LARGE, NULL, "request body larger than %ld bytes", limit);
    }
    buf[len] = '\0';
    req->body = buf;
    req->body_len = len;
    return ERR_NONE;
}

static int worker_dispatch(struct worker *w, struct request *req, struct response *res, FCGX_Stream *in)
{
    enum router_result rr = router_match(w->router, req->method, req->path, &req->match);
    if (rr == ROUTER_NOT_FOUND)
        return request_fail(req, ERR_NOT_FOUND, NULL, "no route for %s", req->path);
    if (rr == ROUTER_METHOD_NOT_ALLOWED) {
        response_header(res, "Allow", arena_strndup(&w->arena, req->match.allow, strlen(req->match.allow)));
        return request_fail(req, ERR_METHOD_NOT_ALLOWED, NULL, "method %s not allowed here", req->method);
    }
    req->route_label = req->match.route->pattern;
    snprintf(w->me->route, sizeof(w->me->route), "%s", req->route_label);

    enum err e = request_parse_query(req);
    if (e != ERR_NONE)
        return e;
    e = module_filter_request(req, res);
    if (e != ERR_NONE)
        return e;
    if (worker_has_body(req)) {
        e = req->match.route->auth & ROUTE_STREAM_BODY ? worker_stream_body(w, req, in) : worker_read_body(w, req, in);
        if (e != ERR_NONE)
            return e;
    }
    return req->match.route->handler(req, res);
}

static void worker_count(struct worker *w, const struct request *req, int status, uint64_t us)
{
    int ri = req->match.route_index >= 0 ? req->match.route_index : LIMIT_ROUTES - 1;
    struct shm_route_stats *rs = &w->shm->routes[ri];
    shm_add(&rs->by_status[shm_status_index(status)], 1);
    shm_add(&rs->duration_buckets[shm_duration_bucket(us)], 1);
    shm_add(&rs->duration_sum_us, us);
    shm_rate_count(w->shm, status);
}

static void worker_log_request(const struct worker *w, const struct request *req, int status, uint64_t us,
                               double db_ms)
{
    char line[LIMIT_LOG_LINE_BYTES];
    size_t pos = 0;
    char ts[40];
    log_timestamp(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"type\":\"request\",\"pid\":%d,\"id\":\"", ts, w->pid);
    pos = (size_t)n;
    log_json_escape(line, sizeof(line) - 512, &pos, req->request_id);
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"method\":\"");
    log_json_escape(line, sizeof(line) - 512, &pos, req->method);
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"route\":\"");
    log_json_escape(line, sizeof(line) - 512, &pos, req->route_label);
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"path\":\"");
    log_json_escape(line, sizeof(line) - 512, &pos, req->path);
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
                            "\",\"status\":%d,\"duration_ms\":%.3f,\"db_ms\":%.3f,"
                            "\"cache_hits\":%d,\"cache_misses\":%d}",
                            status, (double)us / 1000.0, db_ms, req->cache_hits, req->cache_misses);
    log_write_line(line, pos);
}

/* The FastCGI stdout of a streamed body and what went through it. */
struct worker_sent {
    FCGX_Stream *out;
    size_t sent, want;
};

static int worker_put(void *wud, const char *data, size_t len)
{
    struct worker_sent *ws = wud;
    while (len > 0) {
        int n = len > (size_t)1 << 20 ? 1 << 20 : (int)len;
        if (ws->sent + (size_t)n > ws->want || FCGX_PutStr(data, n, ws->out) != n)
            return -1;
        ws->sent += (size_t)n;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes a streamed body after its headers. A failure half-way (or a
 * length other than the announced one) leaves the body short of its
 * Content-Length and breaks the FastCGI stream, so nginx cuts the client
 * connection instead of ending a response that looks complete. */
static void worker_stream_response(struct request *req, struct response *res, FCGX_Request *fcgx)
{
    struct worker_sent ws = {fcgx->out, 0, res->body_len};
    int rc = res->stream(res->stream_ud, worker_put, &ws);
    if (rc == 0 && ws.sent == ws.want)
        return;
    log_error("request %s: streamed body failed after %zu of %zu bytes; connection aborted", req->request_id, ws.sent,
              ws.want);
    /* What was written goes out, then a record header nginx must reject
     * (version 0): it treats that as an upstream error and closes the
     * client's connection. A plain close would not do: without
     * fastcgi_keep_conn nginx takes the close for the end of the response
     * and keeps the client's connection alive, short of Content-Length. */
    FCGX_FFlush(fcgx->out);
    if (fcgx->ipcFd >= 0) {
        static const unsigned char broken[8] = {0};
        ssize_t n = write(fcgx->ipcFd, broken, sizeof(broken));
        (void)n;
        shutdown(fcgx->ipcFd, SHUT_RDWR);
    }
}

/* Serves one request. Returns true when its input was read to the end (no
 * body, or the body read whole), so nothing of it is left in the socket. */
static bool worker_serve(struct worker *w, FCGX_Request *fcgx)
{
    struct request req;
    struct response res;
    request_init(&req, w, &w->arena, fcgx->envp);
    response_init(&res);
    shm_store(&w->me->request_start_mono_ms, clock_mono_ms());
    shm_add(&w->me->request_seq, 1);
    snprintf(w->me->method, sizeof(w->me->method), "%s", req.method);
    snprintf(w->me->request_id, sizeof(w->me->request_id), "%s", req.request_id);
    snprintf(w->me->route, sizeof(w->me->route), "%s", "unmatched");
    shm_store(&w->me->state, SHM_WORKER_BUSY);

    int e = worker_dispatch(w, &req, &res, fcgx->in);
    worker_drain_body(&req);
    if (e != ERR_NONE) {
        const struct err_entry *entry = err_lookup((enum err)e);
        const char *message = req.error_message[0] ? req.error_message : entry->default_message;
        if (!module_error_page(&req, &res, entry->status, message))
            response_error(&res, &req, (enum err)e);
    }

    size_t out_len = 0;
    char *out = response_serialize(&res, req.request_id, &out_len);
    if (out != NULL) {
        FCGX_PutStr(out, (int)out_len, fcgx->out);
        free(out);
        if (res.stream != NULL)
            worker_stream_response(&req, &res, fcgx);
    }
    uint64_t us = clock_us() - req.start_us;
    double db_ms = db_take_request_ms(w->ctx.db);
    worker_count(w, &req, res.status, us);
    worker_log_request(w, &req, res.status, us, db_ms);

    bool drained = !worker_has_body(&req) || req.body != NULL || req.body_eof;
    response_free(&res);
    if (req.error_extra != NULL)
        json_object_put(req.error_extra);
    arena_reset(&w->arena);
    shm_add(&w->me->requests, 1);
    shm_add(&w->shm->accepted, 1);
    shm_store(&w->me->request_start_mono_ms, 0);
    shm_store(&w->me->state, SHM_WORKER_IDLE);
    return drained;
}

/* Opens the PostgreSQL and memcached connections and reads the cachegen
 * unsynced list before the first accept. All three are lazy; without this
 * a new worker's first cached read paid the PostgreSQL connection
 * (backend fork and authentication) and the first poll: median 11-25 ms
 * against 0.08 ms for the next ones on the 2-core bench (bench/tail_log.py,
 * docs/performance.md), and with max_requests at 10 000 a loaded host
 * replaced a worker about every second. A store that is down costs its
 * usual connect failure (bounded by connect_timeout) and the request path
 * reconnects as before. The time spent here is not the first request's. */
static void worker_warm_up(struct worker *w)
{
    double ms = 0;
    if (!db_ping(w->ctx.db, &ms))
        log_debug("worker %d: PostgreSQL not reachable at start (%s)", w->slot, db_last_error(w->ctx.db));
    if (cache_enabled(w->ctx.cache)) {
        if (!cache_ping(w->ctx.cache, &ms))
            log_debug("worker %d: memcached not reachable at start", w->slot);
        (void)cachegen_trusted(w->ctx.db, w->ctx.cache, "metrics", 0);   /* the first poll */
    }
    (void)db_take_request_ms(w->ctx.db);
}

static bool worker_listens_on_unix(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
}

void worker_main(int slot, uint32_t generation, const struct config *cfg, struct shm *shm,
                 const struct router *router, int listen_fd)
{
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.slot = slot;
    w.generation = generation;
    w.cfg = cfg;
    w.shm = shm;
    w.me = &shm->workers[slot];
    w.router = router;
    w.listen_fd = listen_fd;
    w.pid = (int)getpid();
    snprintf(w.request_id_prefix, sizeof(w.request_id_prefix), "%08x", arc4random());
    uint32_t jitter = 0;
    if (cfg->max_requests_jitter > 0)
        jitter = arc4random_uniform((uint32_t)cfg->max_requests_jitter + 1);
    w.max_requests = cfg->max_requests > 0 ? (uint64_t)cfg->max_requests + jitter : UINT64_MAX;
    arena_init(&w.arena);

    FCGX_Init();
    sigset_t stop_set;
    worker_signals_install(&stop_set);   /* after FCGX_Init, which installs its own */

    w.ctx.kind = TALLY_CTX_WORKER;
    w.ctx.cfg = cfg;
    w.ctx.shm = shm;
    w.ctx.arena = &w.arena;
    w.ctx.router = router;
    w.ctx.worker_slot = slot;
    w.ctx.listen_fd = listen_fd;
    w.ctx.db = db_create(cfg->pg_conninfo, &shm->db);
    w.ctx.cache = cache_create(cfg->memcached_servers, &shm->cache);
    if (w.ctx.db == NULL || w.ctx.cache == NULL) {
        log_error("worker %d: out of memory at start", slot);
        _exit(3);
    }
    db_set_timeout(w.ctx.db, cfg->db_timeout_ms);
    cachegen_shared_hosts(cfg->cache_shared_hosts);
    if (module_init_children(&w.ctx) != 0)
        _exit(3);

    FCGX_Request fcgx;
    if (FCGX_InitRequest(&fcgx, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("worker %d: FCGX_InitRequest failed", slot);
        _exit(3);
    }
    worker_warm_up(&w);
    shm_store(&w.me->state, SHM_WORKER_IDLE);
    bool unix_listener = worker_listens_on_unix(listen_fd);

    uint64_t served = 0;
    while (!worker_stop_requested && served < w.max_requests) {
        int rc = FCGX_Accept_r(&fcgx);
        if (rc < 0) {
            if (worker_stop_requested)
                break;
            if (errno == EINTR || rc == -EINTR)
                continue;
            log_error("worker %d: FCGX_Accept_r failed: %d", slot, rc);
            break;
        }
        sigprocmask(SIG_BLOCK, &stop_set, NULL);
        bool drained = worker_serve(&w, &fcgx);
        /* libfcgi closes with shutdown(SHUT_WR) and then reads until the web
         * server closes too (up to 2 s), so that a TCP RST cannot destroy
         * the response, and so that nginx can finish sending a body we did
         * not read (else it gets EPIPE and answers 502). A unix socket sends
         * no RST and keeps queued data readable after close: when the
         * request was read to its end, plain close(2) saves a wake-up and
         * three syscalls per request. */
        fcgx.detached = unix_listener && drained;
        FCGX_Finish_r(&fcgx);
        served++;
        sigprocmask(SIG_UNBLOCK, &stop_set, NULL);   /* a pending stop lands here */
    }
    shm_store(&w.me->state, SHM_WORKER_STOPPING);
    if (served >= w.max_requests)
        log_info("worker %d: recycling after %llu requests", slot, (unsigned long long)served);
    FCGX_Free(&fcgx, 0);
    module_free_children(&w.ctx);
    cache_destroy(w.ctx.cache);
    db_destroy(w.ctx.db);
    arena_free(&w.arena);
    _exit(0);
}
