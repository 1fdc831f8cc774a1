/* admin: see admin.h. Owns the dashboard pages, their JSON twins, the
 * per-worker cache of memcached stats (ADMIN_STATS_CACHE_MS) and the
 * listen-queue reading. Invariants: every page handler checks the session
 * first; every POST goes through admin_auth_post (session + CSRF); user data
 * only reaches HTML through {{ }} (escaped); the one {{{ }}} is the chart
 * JSON, built here from numbers and fixed labels with '<' escaped. */
#define _GNU_SOURCE
#include "admin.h"
#include "../core/buf.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/module.h"
#include "admin_auth.h"
#include "../jobs/jobs.h"
#include "../learning/learning.h"
#include "../modules/precompute.h"
#include "../modules/profiles.h"
#include "templates.h"
#include "../cache/cache.h"
#include "../core/arena.h"
#include "../core/log.h"
#include "../core/mustache.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/shm.h"
#include "../core/module.h"
#include "../store/db.h"
#include "../opportunities/opportunities_admin.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------- */

#define admin_add(obj, key, val) json_object_object_add((obj), (key), (val))

static struct json_object *admin_u64(uint64_t v)
{
    return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* hits / (hits + misses), or JSON null when there was no read. */
static struct json_object *admin_ratio(uint64_t hits, uint64_t misses)
{
    return hits + misses == 0 ? NULL : json_object_new_double((double)hits / (double)(hits + misses));
}

static void admin_pct_text(struct json_object *obj, const char *key, struct json_object *ratio)
{
    char text[32];
    if (ratio == NULL)
        snprintf(text, sizeof(text), "–");
    else
        snprintf(text, sizeof(text), "%.1f%%", json_object_get_double(ratio) * 100.0);
    admin_add(obj, key, json_object_new_string(text));
}

/* The dashboard's one date-time format: "YYYY-MM-DD HH:MM UTC". SQL side
 * (a timestamptz column) and API side (an ISO 8601 "...Z" string). */
#define ADMIN_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')"

static struct json_object *admin_ts_of_iso(struct json_object *iso)
{
    const char *t = json_object_is_type(iso, json_type_string) ? json_object_get_string(iso) : NULL;
    if (t == NULL || strlen(t) < 16 || t[10] != 'T')
        return iso != NULL ? json_object_get(iso) : NULL;
    char out[32];
    snprintf(out, sizeof(out), "%.10s %.5s UTC", t, t + 11);
    return json_object_new_string(out);
}

/* ["a", "b"] -> "a, b" (NULL when empty or not an array). */
static struct json_object *admin_joined(struct json_object *list)
{
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    if (n == 0)
        return NULL;
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(list, i)));
    struct json_object *o = b.overflow ? NULL : json_object_new_string(b.data != NULL ? b.data : "");
    buf_free(&b);
    return o;
}

/* Runs a query whose one row and column is JSON built by PostgreSQL
 * (json_agg / json_build_object) and parses it. NULL on failure, with the
 * error in *e (ERR_NOT_FOUND: no row); *e is never reset, so a page making
 * several queries keeps the first error. */
static struct json_object *admin_query_json(struct request *req, enum err *e, const char *sql, int nparams,
                                            const char *const *params)
{
    enum err qe;
    db_result *r = db_query(req->ctx->db, &qe, DB_RETRY_ON_RECONNECT, sql, nparams, params);
    if (r == NULL) {
        *e = qe;
        return NULL;
    }
    struct json_object *v = NULL;
    if (db_rows(r) == 1 && !db_is_null(r, 0, 0))
        v = json_tokener_parse(db_value(r, 0, 0));
    if (v == NULL)
        *e = db_rows(r) == 0 ? ERR_NOT_FOUND : ERR_INTERNAL;
    db_clear(r);
    return v;
}

/* JSON safe inside a <script type="application/json"> element: json-c
 * escapes '/', and '<' becomes \u003c, so no "</script" or "<!--" can occur. */
static char *admin_script_json(struct request *req, struct json_object *v)
{
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '<' ? 6 : 1;
    char *out = arena_alloc(req->arena, n + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = s; *p; p++) {
        if (*p == '<') {
            memcpy(o, "\\u003c", 6);
            o += 6;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* Renders page template tpl inside the layout. Takes data. */
static int admin_page_status(struct request *req, struct response *res, int status, const struct admin_session *s,
                             const char *tpl, const char *title, struct json_object *data, struct json_object *chart)
{
    admin_add(data, "title", json_object_new_string(title));
    admin_add(data, "username", json_object_new_string(s->username));
    admin_add(data, "csrf_token", json_object_new_string(s->csrf));
    admin_add(data, "logged_in", json_object_new_boolean(1));
    char nav[48];
    snprintf(nav, sizeof(nav), "nav_%s", tpl);
    admin_add(data, nav, json_object_new_boolean(1));
    if (chart != NULL) {
        char *js = admin_script_json(req, chart);
        json_object_put(chart);
        if (js != NULL)
            admin_add(data, "chart_json", json_object_new_string(js));
    }
    return admin_auth_html(req, res, status, tpl, data);
}

static int admin_page(struct request *req, struct response *res, const struct admin_session *s, const char *tpl,
                      const char *title, struct json_object *data, struct json_object *chart)
{
    return admin_page_status(req, res, 200, s, tpl, title, data, chart);
}

/* Session check of a GET page: false with the response set (303 or 503). */
static bool admin_session_get(struct request *req, struct response *res, struct admin_session *s)
{
    enum err e = admin_auth_session(req, s);
    if (e == ERR_NONE)
        return true;
    if (e == ERR_UNAUTHENTICATED)
        admin_auth_redirect(res, "/admin/login");
    else
        admin_auth_error_page(req, res, 503, "The database is unavailable.");
    return false;
}

/* ---- listen queue ------------------------------------------------------------ */

/* Connections waiting in the listen socket's accept queue, and its limit.
 * TCP: TCP_INFO (tcpi_unacked / tcpi_sacked on a listener). Unix sockets
 * have no such getsockopt, and /proc/net/unix does not show the queue: the
 * kernel's sock_diag netlink interface does (UNIX_DIAG_RQLEN on a listener
 * = pending connections and the backlog), looked up by the socket's inode. */
static int admin_listen_queue(int fd, uint32_t *queued, uint32_t *limit)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        struct tcp_info ti;
        socklen_t tl = sizeof(ti);
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0)
            return -1;
        *queued = ti.tcpi_unacked;
        *limit = ti.tcpi_sacked;
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    int rc = -1;
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } msg;
    memset(&msg, 0, sizeof(msg));
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.req.sdiag_family = AF_UNIX;
    msg.req.udiag_states = 1u << 10;     /* TCP_LISTEN */
    msg.req.udiag_ino = (uint32_t)st.st_ino;
    msg.req.udiag_show = UDIAG_SHOW_RQLEN;
    msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;   /* no cookie check */
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        goto out;
    long buf[1024];
    ssize_t n = recv(nl, buf, sizeof(buf), 0);
    if (n <= 0)
        goto out;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
            break;
        struct unix_diag_msg *m = NLMSG_DATA(h);
        int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
        for (struct nlattr *a = (struct nlattr *)(m + 1); alen >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
                                                          a->nla_len <= alen;
             alen -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
            if ((a->nla_type & NLA_TYPE_MASK) == UNIX_DIAG_RQLEN) {
                struct unix_diag_rqlen *q = (struct unix_diag_rqlen *)(a + 1);
                *queued = q->udiag_rqueue;
                *limit = q->udiag_wqueue;
                rc = 0;
            }
        }
        break;
    }
out:
    close(nl);
    return rc;
}

/* ---- data builders (shared by pages and JSON twins) ------------------------- */

static const char *admin_worker_state(int state)
{
    switch (state) {
    case SHM_WORKER_STARTING: return "starting";
    case SHM_WORKER_IDLE: return "idle";
    case SHM_WORKER_BUSY: return "busy";
    case SHM_WORKER_STOPPING: return "stopping";
    default: return "free";
    }
}

/* php-fpm-like status. The worker answering is counted idle: it is serving
 * this very request, which is not load. */
static struct json_object *admin_workers_json(struct request *req)
{
    struct shm *shm = req->ctx->shm;
    struct json_object *o = json_object_new_object(), *list = json_object_new_array();
    int idle = 0, busy = 0, total = 0;
    uint64_t now = shm_now_mono_ms();
    for (int i = 0; i < LIMIT_WORKER_SLOTS; i++) {
        struct shm_worker *sw = &shm->workers[i];
        int32_t pid = shm_load(&sw->pid);
        if (pid == 0)
            continue;
        int state = shm_load(&sw->state);
        bool self = i == req->ctx->worker_slot;
        if (self)
            state = SHM_WORKER_IDLE;
        total++;
        if (state == SHM_WORKER_BUSY)
            busy++;
        else if (state == SHM_WORKER_IDLE)
            idle++;
        uint64_t start = shm_load(&sw->request_start_mono_ms);
        struct json_object *x = json_object_new_object();
        admin_add(x, "pid", json_object_new_int(pid));
        admin_add(x, "slot", json_object_new_int(i));
        admin_add(x, "generation", json_object_new_int64(shm_load(&sw->generation)));
        admin_add(x, "state", json_object_new_string(admin_worker_state(state)));
        admin_add(x, "self", json_object_new_boolean(self));
        admin_add(x, "requests", admin_u64(shm_load(&sw->requests)));
        bool running = state == SHM_WORKER_BUSY && start != 0;
        admin_add(x, "route", running ? json_object_new_string(sw->route) : NULL);
        admin_add(x, "method", running ? json_object_new_string(sw->method) : NULL);
        admin_add(x, "busy_ms", running ? admin_u64(now > start ? now - start : 0) : NULL);
        admin_add(x, "started_ms", admin_u64(shm_load(&sw->started_ms)));
        json_object_array_add(list, x);
    }
    uint32_t queued = 0, limit = 0;
    struct json_object *lq = json_object_new_object();
    if (admin_listen_queue(req->ctx->listen_fd, &queued, &limit) == 0) {
        uint64_t max = shm_load(&shm->listen_queue_max);
        while (queued > max && !__atomic_compare_exchange_n(&shm->listen_queue_max, &max, queued, false,
                                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
        admin_add(lq, "now", json_object_new_int64(queued));
        admin_add(lq, "limit", json_object_new_int64(limit));
    } else {
        admin_add(lq, "now", NULL);
        admin_add(lq, "limit", NULL);
    }
    admin_add(lq, "max", admin_u64(shm_load(&shm->listen_queue_max)));
    admin_add(o, "master_pid", json_object_new_int(shm_load(&shm->master_pid)));
    admin_add(o, "started_ms", admin_u64(shm_load(&shm->master_started_ms)));
    admin_add(o, "accepted", admin_u64(shm_load(&shm->accepted)));
    admin_add(o, "listen_queue", lq);
    admin_add(o, "idle", json_object_new_int(idle));
    admin_add(o, "busy", json_object_new_int(busy));
    admin_add(o, "total", json_object_new_int(total));
    admin_add(o, "all_busy_events", admin_u64(shm_load(&shm->all_busy_events)));
    admin_add(o, "slow_requests", admin_u64(shm_load(&shm->slow_requests)));
    admin_add(o, "restarts", admin_u64(shm_load(&shm->worker_restarts)));
    admin_add(o, "recycles", admin_u64(shm_load(&shm->worker_recycles)));
    admin_add(o, "timeouts", admin_u64(shm_load(&shm->worker_timeouts)));
    admin_add(o, "workers", list);
    return o;
}

/* memcached stats of this worker, at most ADMIN_STATS_CACHE_MS old, so a
 * burst of page views costs memcached one round of stats per worker. */
struct admin_state {
    struct templates *templates;         /* loaded at start; NULL: pages answer 500 */
    struct cache_server_stats stats[CACHE_SERVERS_MAX];
    int stats_count;
    uint64_t stats_at_ms;
};

struct templates *admin_templates(struct tally_ctx *ctx)
{
    struct admin_state *st = module_state(ctx, "admin");
    return st != NULL ? st->templates : NULL;
}

/* The master checks the templates once (tallyd refuses to start on a
 * syntax error); each worker compiles its own copy, so SIGHUP reloads. */
static int admin_init_master(const struct config *cfg, char *err, size_t err_cap)
{
    struct templates *t = templates_load(cfg->templates_dir, err, err_cap);
    if (t == NULL)
        return -1;
    templates_free(t);
    return 0;
}

static int admin_init_child(struct tally_ctx *ctx, void **state)
{
    struct admin_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -1;
    if (ctx->kind == TALLY_CTX_WORKER) {
        char terr[256];
        st->templates = templates_load(ctx->cfg->templates_dir, terr, sizeof(terr));
        if (st->templates == NULL)   /* the API still works; dashboard pages answer 500 */
            log_error("admin: templates: %s", terr);
    }
    *state = st;
    return 0;
}

static void admin_free_child(struct tally_ctx *ctx, void *state)
{
    (void)ctx;
    struct admin_state *st = state;
    if (st != NULL)
        templates_free(st->templates);
    free(st);
}

/* NULL (out of memory) is answered like a disabled cache: no servers. */
static int admin_server_stats(struct request *req, const struct cache_server_stats **out)
{
    struct admin_state *st = module_state(req->ctx, "admin");
    if (st == NULL) {
        *out = NULL;
        return 0;
    }
    uint64_t now = shm_now_mono_ms();
    if (st->stats_at_ms == 0 || now - st->stats_at_ms >= ADMIN_STATS_CACHE_MS) {
        st->stats_count = cache_server_stats(req->ctx->cache, st->stats, CACHE_SERVERS_MAX);
        st->stats_at_ms = shm_now_mono_ms();
    }
    *out = st->stats;
    return st->stats_count;
}

static struct json_object *admin_ns_counters(const struct cache_ns_counters *c, bool html)
{
    struct json_object *o = json_object_new_object();
    uint64_t hits = shm_load(&c->hits), misses = shm_load(&c->misses);
    admin_add(o, "hits", admin_u64(hits));
    admin_add(o, "misses", admin_u64(misses));
    admin_add(o, "sets", admin_u64(shm_load(&c->sets)));
    admin_add(o, "deletes", admin_u64(shm_load(&c->deletes)));
    admin_add(o, "errors", admin_u64(shm_load(&c->errors)));
    struct json_object *ratio = admin_ratio(hits, misses);
    if (html)
        admin_pct_text(o, "hit_ratio_text", ratio);
    admin_add(o, "hit_ratio", ratio);
    return o;
}

static struct json_object *admin_server_json(const struct cache_server_stats *s, bool html)
{
    struct json_object *o = json_object_new_object();
    char addr[96];
    snprintf(addr, sizeof(addr), "%.63s:%u", s->host, s->port);
    admin_add(o, "server", json_object_new_string(addr));
    admin_add(o, "up", json_object_new_boolean(s->up));
    if (!s->up)
        return o;
    admin_add(o, "version", json_object_new_string(s->version));
    admin_add(o, "pid", admin_u64(s->pid));
    admin_add(o, "uptime", admin_u64(s->uptime_s));
    admin_add(o, "curr_items", admin_u64(s->curr_items));
    admin_add(o, "total_items", admin_u64(s->total_items));
    admin_add(o, "bytes", admin_u64(s->bytes));
    admin_add(o, "limit_maxbytes", admin_u64(s->limit_maxbytes));
    double fill = s->limit_maxbytes ? 100.0 * (double)s->bytes / (double)s->limit_maxbytes : 0.0;
    admin_add(o, "fill_pct", json_object_new_double(fill));
    admin_add(o, "get_hits", admin_u64(s->get_hits));
    admin_add(o, "get_misses", admin_u64(s->get_misses));
    admin_add(o, "evictions", admin_u64(s->evictions));
    admin_add(o, "evictions_per_s",
              json_object_new_double(s->uptime_s ? (double)s->evictions / (double)s->uptime_s : 0.0));
    admin_add(o, "curr_connections", admin_u64(s->curr_connections));
    admin_add(o, "listen_disabled_num", admin_u64(s->listen_disabled_num));
    admin_add(o, "total_malloced", admin_u64(s->total_malloced));
    if (html) {
        char t[32];
        snprintf(t, sizeof(t), "%.1f%%", fill);
        admin_add(o, "fill_text", json_object_new_string(t));
        /* The bar is a <meter>: no inline style, which the CSP forbids. */
        snprintf(t, sizeof(t), "%.4f", fill / 100.0);
        admin_add(o, "fill_ratio", json_object_new_string(t));
        snprintf(t, sizeof(t), "%.3f", s->uptime_s ? (double)s->evictions / (double)s->uptime_s : 0.0);
        admin_add(o, "evictions_per_s_text", json_object_new_string(t));
        snprintf(t, sizeof(t), "%.1f MiB", (double)s->bytes / 1048576.0);
        admin_add(o, "bytes_text", json_object_new_string(t));
        snprintf(t, sizeof(t), "%.0f MiB", (double)s->limit_maxbytes / 1048576.0);
        admin_add(o, "limit_text", json_object_new_string(t));
    }
    struct json_object *slabs = json_object_new_array();
    for (uint32_t i = 0; i < s->slab_count; i++) {
        const struct cache_slab_stats *sl = &s->slabs[i];
        struct json_object *x = json_object_new_object();
        admin_add(x, "id", json_object_new_int((int)sl->id));
        admin_add(x, "chunk_size", admin_u64(sl->chunk_size));
        admin_add(x, "total_pages", admin_u64(sl->total_pages));
        admin_add(x, "total_chunks", admin_u64(sl->total_chunks));
        admin_add(x, "used_chunks", admin_u64(sl->used_chunks));
        admin_add(x, "mem_requested", admin_u64(sl->mem_requested));
        admin_add(x, "items", admin_u64(sl->items));
        admin_add(x, "evicted", admin_u64(sl->evicted));
        admin_add(x, "age", admin_u64(sl->age_s));
        json_object_array_add(slabs, x);
    }
    admin_add(o, "slabs", slabs);
    return o;
}

static struct json_object *admin_cache_json(struct request *req, bool html)
{
    struct shm *shm = req->ctx->shm;
    struct cache_shared *cs = &shm->cache;
    struct cache_ns_counters recent[CACHE_NS_MAX];
    cache_ns_recent(cs, ADMIN_RECENT_SECONDS, recent);
    struct json_object *o = json_object_new_object(), *nss = json_object_new_array();
    for (int i = 0; i < cache_ns_count(cs); i++) {
        struct json_object *x = json_object_new_object();
        admin_add(x, "namespace", json_object_new_string(cache_ns_name(cs, i)));
        admin_add(x, "generation", admin_u64(shm_load(&cs->ns_generation[i])));
        admin_add(x, "flushable", json_object_new_boolean(i != CACHE_NS_HEALTH));
        admin_add(x, "since_start", admin_ns_counters(&cs->ns[i], html));
        admin_add(x, "last_minute", admin_ns_counters(&recent[i], html));
        if (html && i == CACHE_NS_HEALTH) {   /* probe keys: a hit ratio would mean nothing */
            admin_add(x, "probe", json_object_new_boolean(1));
            admin_add(json_object_object_get(x, "since_start"), "hit_ratio_text", json_object_new_string("n/a (probes)"));
            admin_add(json_object_object_get(x, "last_minute"), "hit_ratio_text", json_object_new_string("n/a"));
        }
        json_object_array_add(nss, x);
    }
    admin_add(o, "namespaces", nss);
    admin_add(o, "window_seconds", json_object_new_int(ADMIN_RECENT_SECONDS));
    admin_add(o, "timeouts", admin_u64(shm_load(&cs->timeouts)));
    admin_add(o, "server_failures", admin_u64(shm_load(&cs->server_failures)));
    admin_add(o, "flushes", admin_u64(shm_load(&cs->flushes)));
    struct json_object *layers = json_object_new_object();
    uint64_t from_cache, from_store, computed;
    precompute_read_counts(req->ctx, &from_cache, &from_store, &computed);
    admin_add(layers, "memcached", admin_u64(from_cache));
    admin_add(layers, "postgresql", admin_u64(from_store));
    admin_add(layers, "computed", admin_u64(computed));
    admin_add(o, "read_path", layers);
    const struct cache_server_stats *st = NULL;
    int n = admin_server_stats(req, &st);
    struct json_object *servers = json_object_new_array();
    int down = 0;
    for (int i = 0; i < n; i++) {
        down += !st[i].up;
        json_object_array_add(servers, admin_server_json(&st[i], html));
    }
    admin_add(o, "servers", servers);
    admin_add(o, "servers_down", json_object_new_int(down));
    return o;
}

/* Since-start request figures from the shared route histograms. */
static struct json_object *admin_requests_json(struct request *req, struct json_object **chart)
{
    struct shm *shm = req->ctx->shm;
    uint64_t buckets[SHM_DURATION_BUCKETS] = {0}, total = 0, errors5 = 0, errors4 = 0;
    for (int r = 0; r < LIMIT_ROUTES; r++) {
        const struct shm_route_stats *rs = &shm->routes[r];
        for (int b = 0; b < SHM_DURATION_BUCKETS; b++)
            buckets[b] += shm_load(&rs->duration_buckets[b]);
        for (int s = 0; s < SHM_STATUS_CODES; s++) {
            uint64_t v = shm_load(&rs->by_status[s]);
            total += v;
            if (shm_status_codes[s] >= 500)
                errors5 += v;
            else if (shm_status_codes[s] >= 400)
                errors4 += v;
        }
    }
    double uptime_s = (double)(shm_now_wall_ms() - shm_load(&shm->master_started_ms)) / 1000.0;
    struct json_object *o = json_object_new_object();
    admin_add(o, "total", admin_u64(total));
    admin_add(o, "uptime_s", json_object_new_double(uptime_s));
    admin_add(o, "rate_per_s", json_object_new_double(uptime_s > 0 ? (double)total / uptime_s : 0.0));
    admin_add(o, "errors_5xx", admin_u64(errors5));
    admin_add(o, "errors_4xx", admin_u64(errors4));
    admin_add(o, "error_rate", json_object_new_double(total ? (double)errors5 / (double)total : 0.0));
    uint64_t recent = 0, recent5 = 0;
    shm_rate_recent(shm, ADMIN_RECENT_SECONDS, &recent, &recent5);
    struct json_object *lm = json_object_new_object();
    admin_add(lm, "seconds", json_object_new_int(ADMIN_RECENT_SECONDS));
    admin_add(lm, "requests", admin_u64(recent));
    admin_add(lm, "rate_per_s", json_object_new_double((double)recent / ADMIN_RECENT_SECONDS));
    admin_add(lm, "errors_5xx", admin_u64(recent5));
    admin_add(lm, "error_rate", json_object_new_double(recent ? (double)recent5 / (double)recent : 0.0));
    admin_add(o, "last_minute", lm);
    /* Percentiles: the upper bound of the bucket holding the rank. */
    uint64_t pct[2] = {50, 95};
    const char *names[2] = {"p50_ms", "p95_ms"};
    for (int k = 0; k < 2; k++) {
        uint64_t rank = (total * pct[k] + 99) / 100, seen = 0;
        struct json_object *v = NULL;
        for (int b = 0; b < SHM_DURATION_BUCKETS && total > 0; b++) {
            seen += buckets[b];
            if (seen >= rank) {
                if (b < SHM_DURATION_BUCKETS - 1) {   /* the last bucket has no upper bound */
                    double ms = (double)shm_duration_bucket_us[b] / 1000.0;
                    char text[32];
                    snprintf(text, sizeof(text), "%.6g", ms);   /* 0.25, 5, 250: as the bucket labels */
                    v = json_object_new_double_s(ms, text);
                }
                break;
            }
        }
        admin_add(o, names[k], v);
    }
    if (chart != NULL) {
        struct json_object *labels = json_object_new_array(), *values = json_object_new_array();
        for (int b = 0; b < SHM_DURATION_BUCKETS; b++) {
            char l[32];
            if (b == SHM_DURATION_BUCKETS - 1)
                snprintf(l, sizeof(l), "more");
            else
                snprintf(l, sizeof(l), "≤ %g ms", (double)shm_duration_bucket_us[b] / 1000.0);
            json_object_array_add(labels, json_object_new_string(l));
            json_object_array_add(values, admin_u64(buckets[b]));
        }
        struct json_object *c = json_object_new_object();
        admin_add(c, "labels", labels);
        admin_add(c, "values", values);
        *chart = c;
    }
    return o;
}

static struct json_object *admin_overview_json(struct request *req, enum err *e, struct json_object **chart)
{
    struct json_object *latency_chart = NULL;
    struct json_object *o = json_object_new_object();
    admin_add(o, "requests", admin_requests_json(req, chart ? &latency_chart : NULL));
    struct json_object *counts = admin_query_json(
        req, e,
        "SELECT json_build_object('users', (SELECT count(*) FROM users), 'transactions', "
        "(SELECT count(*) FROM transactions), 'metrics', (SELECT count(*) FROM pre_computed_metrics))",
        0, NULL);
    struct json_object *jobs = admin_query_json(
        req, e,
        "SELECT json_build_object('queued', count(*) FILTER (WHERE status = 'queued'), 'running', "
        "count(*) FILTER (WHERE status = 'running'), 'succeeded', count(*) FILTER (WHERE status = 'succeeded'), "
        "'failed', count(*) FILTER (WHERE status = 'failed'), 'dead', count(*) FILTER (WHERE status = 'dead')) "
        "FROM jobs",
        0, NULL);
    admin_add(o, "counts", counts);
    admin_add(o, "jobs", jobs);
    admin_add(o, "workers", admin_workers_json(req));
    if (chart != NULL) {
        struct json_object *c = json_object_new_object();
        admin_add(c, "latency", latency_chart);
        struct json_object *jl = json_object_new_array(), *jv = json_object_new_array();
        static const char *const st[] = {"queued", "running", "succeeded", "failed", "dead"};
        for (size_t i = 0; i < 5; i++) {
            struct json_object *v = NULL;
            json_object_array_add(jl, json_object_new_string(st[i]));
            json_object_array_add(jv, json_object_new_int64(jobs && json_object_object_get_ex(jobs, st[i], &v)
                                                                ? json_object_get_int64(v)
                                                                : 0));
        }
        struct json_object *jc = json_object_new_object();
        admin_add(jc, "labels", jl);
        admin_add(jc, "values", jv);
        admin_add(c, "jobs", jc);
        *chart = c;
    }
    return o;
}

/* ---- JSON twins (admin bearer token) ------------------------------------------ */

static int admin_api_cache_stats(struct request *req, struct response *res)
{
    return response_json(res, 200, admin_cache_json(req, false));
}

static int admin_api_workers(struct request *req, struct response *res)
{
    return response_json(res, 200, admin_workers_json(req));
}

static int admin_api_overview(struct request *req, struct response *res)
{
    enum err e = ERR_NONE;
    struct json_object *o = admin_overview_json(req, &e, NULL);
    if (e != ERR_NONE) {
        json_object_put(o);
        return request_fail(req, e, NULL, "cannot read the overview counts");
    }
    return response_json(res, 200, o);
}

static enum err admin_flush(struct request *req, const char *name)
{
    enum cache_ns ns = cache_ns_parse(&req->ctx->shm->cache, name);
    if (ns == CACHE_NS_NONE || ns == CACHE_NS_HEALTH)
        return request_fail(req, ERR_UNPROCESSABLE, "namespace", "unknown or unflushable namespace");
    if (cache_flush_namespace(req->ctx->cache, name) != CACHE_OK)
        return request_fail(req, ERR_UNAVAILABLE, NULL, "the cache is disabled");
    return ERR_NONE;
}

/* POST /api/v1/admin/cache/flush?namespace=NAME */
static int admin_api_cache_flush(struct request *req, struct response *res)
{
    const char *name = request_query(req, "namespace");
    if (name == NULL)
        return request_fail(req, ERR_BAD_REQUEST, "namespace", "namespace is required");
    enum err e = admin_flush(req, name);
    if (e != ERR_NONE)
        return e;
    struct json_object *o = json_object_new_object();
    admin_add(o, "namespace", json_object_new_string(name));
    admin_add(o, "generation",
              admin_u64(shm_load(&req->ctx->shm->cache.ns_generation[cache_ns_parse(&req->ctx->shm->cache, name)])));
    return response_json(res, 200, o);
}

/* ---- pages ---------------------------------------------------------------------- */

static int admin_page_overview(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_session_get(req, res, &s))
        return ERR_NONE;
    enum err e = ERR_NONE;
    struct json_object *chart = NULL;
    struct json_object *d = admin_overview_json(req, &e, &chart);
    struct json_object *rq = json_object_object_get(d, "requests");
    char t[64];
    snprintf(t, sizeof(t), "%.2f", json_object_get_double(json_object_object_get(rq, "rate_per_s")));
    admin_add(d, "rate_text", json_object_new_string(t));
    snprintf(t, sizeof(t), "%.2f%%", 100.0 * json_object_get_double(json_object_object_get(rq, "error_rate")));
    admin_add(d, "error_rate_text", json_object_new_string(t));
    struct json_object *lm = json_object_object_get(rq, "last_minute");
    snprintf(t, sizeof(t), "%.2f", json_object_get_double(json_object_object_get(lm, "rate_per_s")));
    admin_add(d, "recent_rate_text", json_object_new_string(t));
    snprintf(t, sizeof(t), "%.2f%%", 100.0 * json_object_get_double(json_object_object_get(lm, "error_rate")));
    admin_add(d, "recent_error_rate_text", json_object_new_string(t));
    if (e != ERR_NONE)
        admin_add(d, "db_error", json_object_new_boolean(1));
    return admin_page(req, res, &s, "overview", "Overview", d, chart);
}

static int admin_page_cache(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_session_get(req, res, &s))
        return ERR_NONE;
    struct json_object *d = admin_cache_json(req, true);
    struct json_object *labels = json_object_new_array(), *hits = json_object_new_array(),
                       *misses = json_object_new_array();
    struct json_object *nss = json_object_object_get(d, "namespaces");
    for (size_t i = 0; i < json_object_array_length(nss); i++) {
        struct json_object *x = json_object_array_get_idx(nss, i);
        struct json_object *ss = json_object_object_get(x, "since_start");
        json_object_array_add(labels, json_object_get(json_object_object_get(x, "namespace")));
        json_object_array_add(hits, json_object_get(json_object_object_get(ss, "hits")));
        json_object_array_add(misses, json_object_get(json_object_object_get(ss, "misses")));
    }
    struct json_object *chart = json_object_new_object();
    admin_add(chart, "labels", labels);
    admin_add(chart, "hits", hits);
    admin_add(chart, "misses", misses);
    admin_add(d, "refresh_s", json_object_new_int(ADMIN_REFRESH_S));
    const char *flushed = request_query(req, "flushed");
    if (flushed != NULL && cache_ns_parse(&req->ctx->shm->cache, flushed) != CACHE_NS_NONE)
        admin_add(d, "flushed", json_object_new_string(flushed));
    return admin_page(req, res, &s, "cache", "Cache", d, chart);
}

/* POST /admin/cache/flush (namespace, confirm, csrf_token) */
static int admin_form_cache_flush(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_auth_post(req, res, &s))
        return ERR_NONE;
    const char *name = admin_auth_form(req, "namespace");
    if (name == NULL || admin_flush(req, name) != ERR_NONE)
        return admin_auth_error_page(req, res, 422, "Unknown or unflushable namespace.");
    log_info("admin %s flushed cache namespace %s", s.username, name);
    return admin_auth_redirect(res, arena_sprintf(req->arena, "/admin/cache?flushed=%s", name));
}

/* Users whose name holds $1 (literally: LIKE wildcards escaped) or whose id is $1; '' = all. */
#define ADMIN_USER_FILTER                                                                                \
    "($1 = '' OR u.name ILIKE '%' || replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') "  \
    "|| '%' OR u.id::text = $1)"

static int admin_page_users(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_session_get(req, res, &s))
        return ERR_NONE;
    const char *q = request_query(req, "q");
    const char *after = request_query(req, "after");
    char after_buf[24] = "0", limit[16];
    if (after != NULL)
        snprintf(after_buf, sizeof(after_buf), "%lld", strtoll(after, NULL, 10));
    snprintf(limit, sizeof(limit), "%d", ADMIN_USERS_PAGE + 1);
    const char *params[] = {q ? q : "", after_buf, limit};
    enum err e = ERR_NONE;
    struct json_object *users = admin_query_json(
        req, &e,
        "SELECT coalesce(json_agg(t ORDER BY t.id), '[]') FROM (SELECT u.id, u.name, u.currency, u.language, "
        ADMIN_TS("u.created_at") " AS created, (SELECT count(*) FROM transactions x WHERE x.user_id = u.id) "
        "AS transactions FROM users u WHERE u.id > $2::bigint AND " ADMIN_USER_FILTER " "
        "ORDER BY u.id LIMIT $3::int) t",
        3, params);
    struct json_object *total = admin_query_json(
        req, &e,
        "SELECT to_json(count(*)) FROM users u WHERE " ADMIN_USER_FILTER,
        1, params);
    struct json_object *d = json_object_new_object();
    admin_add(d, "total", total);
    admin_add(d, "filtered", json_object_new_boolean(q != NULL && q[0] != '\0'));
    if (users == NULL) {
        users = json_object_new_array();
        admin_add(d, "db_error", json_object_new_boolean(1));
    }
    size_t n = json_object_array_length(users);
    if (n > ADMIN_USERS_PAGE) {
        json_object_array_del_idx(users, ADMIN_USERS_PAGE, n - ADMIN_USERS_PAGE);
        struct json_object *last = json_object_array_get_idx(users, ADMIN_USERS_PAGE - 1);
        admin_add(d, "next_after", json_object_get(json_object_object_get(last, "id")));
    }
    admin_add(d, "q", json_object_new_string(q ? q : ""));
    admin_add(d, "users", users);
    admin_add(d, "empty", json_object_new_boolean(json_object_array_length(users) == 0));
    return admin_page(req, res, &s, "users", "Users", d, NULL);
}

/* The profile as the API renders it (profiles module: cached, created if missing). */
static struct json_object *admin_user_profile(struct request *req, int64_t id, enum err *e)
{
    char *text = NULL;
    size_t len;
    enum err pe = profiles_get_json(req->ctx, id, &text, &len);
    struct json_object *p = pe == ERR_NONE ? json_tokener_parse(text) : NULL;
    free(text);
    if (pe != ERR_NONE)
        *e = pe;
    struct json_object *stats = json_object_object_get(p, "stats");
    if (stats != NULL)
        admin_add(stats, "last_active", admin_ts_of_iso(json_object_object_get(stats, "last_active")));
    struct json_object *prefs = json_object_object_get(p, "preferences");
    if (prefs != NULL) {
        admin_add(prefs, "preferred_categories_text", admin_joined(json_object_object_get(prefs, "preferred_categories")));
        admin_add(prefs, "preferred_merchants_text", admin_joined(json_object_object_get(prefs, "preferred_merchants")));
    }
    return p;
}

/* This month's four metrics through the API's read path, each with the
 * layer that answered (source: cache, store or computed). */
static struct json_object *admin_user_metrics(struct request *req, int64_t id, enum err *e)
{
    static const char *const fields[] = {"metric_type", "period", "source", "computed_at", "expires_at",
                                         "computation_time_ms"};
    int y, m, day;
    parse_today_utc(&y, &m, &day);
    struct json_object *list = json_object_new_array();
    for (int t = 0; t < PRECOMPUTE_TYPES; t++) {
        char *body = NULL;
        size_t len;
        enum err me = precompute_read(req->ctx, id, (enum precompute_type)t, y, m, &body, &len);
        struct json_object *answer = me == ERR_NONE ? json_tokener_parse(body) : NULL;
        free(body);
        if (answer == NULL) {
            *e = me != ERR_NONE ? me : ERR_INTERNAL;
            continue;
        }
        struct json_object *row = json_object_new_object();
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            struct json_object *v = json_object_object_get(answer, fields[f]);
            bool ts = strcmp(fields[f], "computed_at") == 0 || strcmp(fields[f], "expires_at") == 0;
            admin_add(row, fields[f], ts ? admin_ts_of_iso(v) : json_object_get(v));
        }
        json_object_put(answer);
        json_object_array_add(list, row);
    }
    return list;
}

static int admin_page_user(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_session_get(req, res, &s))
        return ERR_NONE;
    int64_t id = 0;
    if (request_path_id(req, "id", &id) != ERR_NONE)
        return admin_auth_error_page(req, res, 404, "No such user.");
    char idt[24], lim[16];
    snprintf(idt, sizeof(idt), "%lld", (long long)id);
    snprintf(lim, sizeof(lim), "%d", ADMIN_USER_TRANSACTIONS);
    const char *params[] = {idt, lim};
    enum err e = ERR_NONE;
    struct json_object *user = admin_query_json(
        req, &e,
        "SELECT json_build_object('id', id, 'name', name, 'currency', currency, 'language', language, "
        "'created', " ADMIN_TS("created_at") ", 'transactions', "
        "(SELECT count(*) FROM transactions WHERE user_id = users.id)) FROM users WHERE id = $1::bigint",
        1, params);
    if (user == NULL)
        return e == ERR_NOT_FOUND ? admin_auth_error_page(req, res, 404, "No such user.")
                                  : admin_auth_error_page(req, res, 503, "The database is unavailable.");
    e = ERR_NONE;
    struct json_object *d = json_object_new_object();
    admin_add(d, "user", user);
    admin_add(d, "recent", admin_query_json(
        req, &e,
        "SELECT coalesce(json_agg(t ORDER BY t.date DESC, t.id DESC), '[]') FROM (SELECT id, "
        "to_char(date, 'YYYY-MM-DD') AS date, (amount_cents / 100.0)::numeric(16,2)::text AS amount, currency, "
        "merchant, category FROM transactions WHERE user_id = $1::bigint ORDER BY date DESC, id DESC "
        "LIMIT $2::int) t",
        2, params));
    admin_add(d, "profile", admin_user_profile(req, id, &e));
    admin_add(d, "metrics", admin_user_metrics(req, id, &e));
    if (e != ERR_NONE)
        admin_add(d, "db_error", json_object_new_boolean(1));
    return admin_page(req, res, &s, "user", "User", d, NULL);
}

/* Schedules with their next slot (computed here from the cron text, as
 * the runner does) and the job of their latest slot. */
static struct json_object *admin_job_schedules(struct request *req, enum err *e)
{
    struct json_object *list = admin_query_json(
        req, e,
        "SELECT coalesce(json_agg(t ORDER BY t.name), '[]') FROM (SELECT s.name, s.kind, s.cron, s.enabled, "
        "extract(epoch FROM now())::bigint AS now_s, j.id AS last_id, j.status AS last_status, "
        ADMIN_TS("j.schedule_slot") " AS last_slot, " ADMIN_TS("j.finished_at") " AS last_finished, "
        "left(j.last_error, 200) AS last_error FROM job_schedules s LEFT JOIN LATERAL (SELECT id, status, "
        "schedule_slot, finished_at, last_error FROM jobs WHERE kind = s.kind AND schedule_slot IS NOT NULL "
        "ORDER BY schedule_slot DESC LIMIT 1) j ON true) t",
        0, NULL);
    size_t n = list != NULL ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *row = json_object_array_get_idx(list, i);
        struct jobs_cron cron;
        int64_t now_s = json_object_get_int64(json_object_object_get(row, "now_s"));
        struct json_object *next = NULL;
        if (jobs_cron_parse(json_object_get_string(json_object_object_get(row, "cron")), &cron) == 0 &&
            json_object_get_boolean(json_object_object_get(row, "enabled"))) {
            int64_t slot = jobs_cron_next_slot(&cron, now_s, JOBS_NEXT_HORIZON_MIN);
            if (slot > 0) {
                time_t t = (time_t)slot;
                struct tm tm;
                char text[32];
                gmtime_r(&t, &tm);
                strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", &tm);
                next = json_object_new_string(text);
            }
        }
        admin_add(row, "next_run", next);
        json_object_object_del(row, "now_s");
    }
    return list;
}

/* The newest jobs, filtered by ?status= and ?kind= (the JSON API's rules). */
static struct json_object *admin_recent_jobs(struct request *req, const char *status, const char *kind, enum err *e)
{
    enum err qe = ERR_NONE;
    db_result *r = jobs_list(req->ctx->db, &qe, status, kind, 0, ADMIN_RECENT_JOBS);
    struct json_object *list = json_object_new_array();
    if (r == NULL) {
        *e = qe;
        return list;
    }
    for (int i = 0; i < db_rows(r) && i < ADMIN_RECENT_JOBS; i++) {
        struct json_object *o = jobs_row_json(r, i);
        static const char *const ts[] = {"created_at", "started_at", "finished_at", "run_at"};
        for (size_t k = 0; k < sizeof(ts) / sizeof(ts[0]); k++)
            admin_add(o, ts[k], admin_ts_of_iso(json_object_object_get(o, ts[k])));
        json_object_array_add(list, o);
    }
    db_clear(r);
    return list;
}

static bool admin_job_status_ok(const char *s)
{
    static const char *const names[] = {"queued", "running", "succeeded", "failed", "dead"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

static int admin_page_jobs(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_session_get(req, res, &s))
        return ERR_NONE;
    enum err e = ERR_NONE;
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", ADMIN_JOB_FAILURES);
    const char *params[] = {lim};
    const char *status = request_query(req, "status");
    const char *kind = request_query(req, "kind");
    if (status != NULL && status[0] == '\0')
        status = NULL;
    if (kind != NULL && kind[0] == '\0')
        kind = NULL;
    if (status != NULL && !admin_job_status_ok(status))
        return admin_auth_error_page(req, res, 400, "status must be one of queued, running, succeeded, failed, dead.");
    if (kind != NULL && strlen(kind) >= JOBS_KIND_BYTES)
        return admin_auth_error_page(req, res, 400, "kind is too long.");
    struct json_object *d = json_object_new_object();
    admin_add(d, "depths", admin_query_json(
        req, &e,
        "SELECT coalesce(json_agg(t ORDER BY t.status), '[]') FROM (SELECT status, count(*) AS jobs, "
        "CASE WHEN status IN ('queued', 'failed') THEN count(*) FILTER (WHERE run_at <= now()) END AS ready "
        "FROM jobs GROUP BY status) t",
        0, NULL));
    admin_add(d, "schedules", admin_job_schedules(req, &e));
    admin_add(d, "recent", admin_recent_jobs(req, status, kind, &e));
    admin_add(d, "filter_status", json_object_new_string(status ? status : ""));
    admin_add(d, "filter_kind", json_object_new_string(kind ? kind : ""));
    struct json_object *statuses = json_object_new_array();
    static const char *const names[] = {"queued", "running", "succeeded", "failed", "dead"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct json_object *o = json_object_new_object();
        admin_add(o, "name", json_object_new_string(names[i]));
        admin_add(o, "selected", json_object_new_boolean(status != NULL && strcmp(status, names[i]) == 0));
        json_object_array_add(statuses, o);
    }
    admin_add(d, "statuses", statuses);
    admin_add(d, "failures", admin_query_json(
        req, &e,
        "SELECT coalesce(json_agg(t ORDER BY t.id DESC), '[]') FROM (SELECT id, kind, status, attempts, "
        "max_attempts, left(coalesce(last_error, ''), 300) AS last_error, "
        ADMIN_TS("coalesce(finished_at, created_at)") " AS at FROM jobs WHERE status IN ('failed', 'dead') "
        "ORDER BY id DESC LIMIT $1::int) t",
        1, params));
    if (e != ERR_NONE)
        admin_add(d, "db_error", json_object_new_boolean(1));
    const char *retried = request_query(req, "retried");
    if (retried != NULL)
        admin_add(d, "retried", json_object_new_int64(strtoll(retried, NULL, 10)));
    return admin_page(req, res, &s, "jobs", "Jobs", d, NULL);
}

/* The opportunities pages: data from app/opportunities/opportunities_admin.c. */
static const char *admin_query_nonempty(struct request *req, const char *name)
{
    const char *v = request_query(req, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int admin_page_opportunities(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_session_get(req, res, &s))
        return ERR_NONE;
    enum err e = ERR_NONE;
    struct json_object *chart = NULL;
    struct json_object *d = opportunities_admin_list(req->ctx, admin_query_nonempty(req, "tier"),
                                                     admin_query_nonempty(req, "status"),
                                                     admin_query_nonempty(req, "cursor"), &chart, &e);
    if (e != ERR_NONE)
        admin_add(d, "db_error", json_object_new_boolean(1));
    return admin_page(req, res, &s, "opportunities", "Opportunities", d, chart);
}

static int admin_page_opportunity(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_session_get(req, res, &s))
        return ERR_NONE;
    int64_t id;
    if (request_path_id(req, "id", &id) != ERR_NONE)
        return admin_auth_error_page(req, res, 400, "The opportunity id must be a positive integer.");
    enum err e = ERR_NONE;
    struct json_object *d = opportunities_admin_one(req->ctx, id, &e);
    if (d == NULL)
        return admin_auth_error_page(req, res, e == ERR_NOT_FOUND ? 404 : 503,
                                     e == ERR_NOT_FOUND ? "No such opportunity." : "The database is unavailable.");
    return admin_page(req, res, &s, "opportunity", "Opportunity", d, NULL);
}

/* POST /admin/jobs/{id}/retry (csrf_token) */
static int admin_form_job_retry(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_auth_post(req, res, &s))
        return ERR_NONE;
    int64_t id = 0;
    if (request_path_id(req, "id", &id) != ERR_NONE)
        return admin_auth_error_page(req, res, 404, "No such job.");
    enum err e = ERR_NONE;
    db_result *r = jobs_retry(req->ctx->db, &e, id);
    if (r == NULL)
        return admin_auth_error_page(req, res, err_lookup(e)->status,
                                     e == ERR_NOT_FOUND  ? "No such job."
                                     : e == ERR_CONFLICT ? "Only failed or dead jobs can be retried."
                                                         : "The database is unavailable.");
    db_clear(r);
    log_info("admin %s retried job %lld", s.username, (long long)id);
    return admin_auth_redirect(res, arena_sprintf(req->arena, "/admin/jobs?retried=%lld", (long long)id));
}

/* Errors under /admin/ (an unknown page, a wrong method) in the
 * dashboard's layout rather than as JSON. */
static int admin_error_page(struct request *req, struct response *res, int status, const char *message)
{
    struct admin_session s;
    if (admin_auth_session(req, &s) != ERR_NONE)   /* logged out: the plain page, no navigation */
        return admin_auth_error_page(req, res, status, message);
    struct json_object *d = json_object_new_object();
    admin_add(d, "status", json_object_new_int(status));
    admin_add(d, "message", json_object_new_string(message));
    return admin_page_status(req, res, status, &s, "error", status == 404 ? "Not found" : "Error", d, NULL);
}

/* ---- learning (figures from the learning module's services) ---------------- */

/* Chart data: hint sources and profile segments, from the stats object. */
static struct json_object *admin_learning_chart(struct json_object *stats)
{
    static const char *const sources[] = {"form", "segment", "family", "none"};
    static const char *const segments[] = {"intern", "junior", "senior", "default"};
    struct json_object *chart = json_object_new_object();
    struct json_object *sl = json_object_new_array(), *sv = json_object_new_array();
    struct json_object *gl = json_object_new_array(), *gv = json_object_new_array();
    struct json_object *src = json_object_object_get(stats, "sources"), *seg = json_object_object_get(stats, "segments");
    for (int i = 0; i < 4; i++) {
        json_object_array_add(sl, json_object_new_string(sources[i]));
        json_object_array_add(sv, json_object_get(json_object_object_get(src, sources[i])));
        json_object_array_add(gl, json_object_new_string(segments[i]));
        json_object_array_add(gv, json_object_get(json_object_object_get(seg, segments[i])));
    }
    struct json_object *a = json_object_new_object(), *b = json_object_new_object();
    admin_add(a, "labels", sl);
    admin_add(a, "values", sv);
    admin_add(b, "labels", gl);
    admin_add(b, "values", gv);
    admin_add(chart, "learning_sources", a);
    admin_add(chart, "learning_segments", b);
    return chart;
}

static int admin_page_learning(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_session_get(req, res, &s))
        return ERR_NONE;
    const char *q = request_query(req, "host");
    struct json_object *d = NULL;
    if (learning_dashboard(req->ctx, q, &d) != ERR_NONE)
        return admin_auth_error_page(req, res, 503, "The database is unavailable.");
    struct json_object *chart = admin_learning_chart(json_object_object_get(d, "stats"));
    admin_add(d, "host", json_object_new_string(q ? q : ""));
    struct json_object *search = json_object_object_get(d, "search");
    if (q != NULL && q[0] != '\0' && json_object_array_length(search) == 0)
        admin_add(d, "search_empty", json_object_new_boolean(1));
    const char *aggregated = request_query(req, "aggregated");
    if (aggregated != NULL)
        admin_add(d, "aggregated", json_object_new_int64(strtoll(aggregated, NULL, 10)));
    if (request_query(req, "skipped") != NULL)
        admin_add(d, "skipped", json_object_new_boolean(1));
    return admin_page(req, res, &s, "learning", "Learning", d, chart);
}

/* POST /admin/learning/aggregate (csrf_token): an incremental run now. */
static int admin_form_learning_aggregate(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_auth_post(req, res, &s))
        return ERR_NONE;
    struct learning_aggregate_opts opts = {.days = LEARNING_WINDOW_DAYS_DEFAULT};
    struct learning_aggregate_result r;
    if (learning_aggregate(req->ctx, &opts, &r) != 0)
        return admin_auth_error_page(req, res, 503, "The aggregation failed; nothing was written.");
    log_info("admin %s ran the learning aggregation: %ld profiles", s.username, r.updated_profiles);
    return admin_auth_redirect(res, r.skipped ? "/admin/learning?skipped=1"
                                              : arena_sprintf(req->arena, "/admin/learning?aggregated=%ld",
                                                              r.updated_profiles));
}

static const struct route admin_routes[] = {
    {"GET", "/admin/", admin_page_overview, ROUTE_PUBLIC},
    {"GET", "/admin/cache", admin_page_cache, ROUTE_PUBLIC},
    {"POST", "/admin/cache/flush", admin_form_cache_flush, ROUTE_PUBLIC},
    {"GET", "/admin/users", admin_page_users, ROUTE_PUBLIC},
    {"GET", "/admin/users/{id}", admin_page_user, ROUTE_PUBLIC},
    {"GET", "/admin/jobs", admin_page_jobs, ROUTE_PUBLIC},
    {"POST", "/admin/jobs/{id}/retry", admin_form_job_retry, ROUTE_PUBLIC},
    {"GET", "/admin/opportunities", admin_page_opportunities, ROUTE_PUBLIC},
    {"GET", "/admin/opportunities/{id}", admin_page_opportunity, ROUTE_PUBLIC},
    {"GET", "/admin/learning", admin_page_learning, ROUTE_PUBLIC},
    {"POST", "/admin/learning/aggregate", admin_form_learning_aggregate, ROUTE_PUBLIC},
    {"GET", "/api/v1/admin/cache/stats", admin_api_cache_stats, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/cache/flush", admin_api_cache_flush, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/workers", admin_api_workers, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/overview", admin_api_overview, ROUTE_ADMIN},
};

const struct tally_module admin_module = {
    .name = "admin",
    .routes = admin_routes,
    .route_count = sizeof(admin_routes) / sizeof(admin_routes[0]),
    .error_page_prefix = "/admin/",
    .error_page = admin_error_page,
    .init_master = admin_init_master,
    .init_child = admin_init_child,
    .free_child = admin_free_child,
};
