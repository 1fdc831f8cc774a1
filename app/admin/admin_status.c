/* admin_status: the overview page and the worker status (php-fpm's status
 * page: the scoreboard in shared memory, the listen queue read with
 * sock_diag), with their JSON twins. The worker answering counts itself
 * idle: it serves this very request. */
#define _GNU_SOURCE
#include "admin_internal.h"
#include "../core/clock.h"
#include "../core/worker.h"
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../cache/cache.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/shm.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Connections waiting in the listen socket's accept queue, and its limit.
 * TCP: TCP_INFO (tcpi_unacked / tcpi_sacked on a listener). Unix sockets
 * have no such getsockopt, and /proc/net/unix does not show the queue: the
 * kernel's sock_diag netlink interface does (UNIX_DIAG_RQLEN on a listener
 * = pending connections and the backlog), looked up by the socket's inode. */
static int admin_status_listen_queue(int fd, uint32_t *queued, uint32_t *limit)
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


static const char *admin_status_worker_state(int state)
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
static struct json_object *admin_status_workers_json(struct request *req)
{
    struct shm *shm = req->ctx->shm;
    struct json_object *o = json_object_new_object(), *list = json_object_new_array();
    int idle = 0, busy = 0, total = 0;
    uint64_t now = clock_mono_ms();
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
        admin_page_add(x, "pid", json_object_new_int(pid));
        admin_page_add(x, "slot", json_object_new_int(i));
        admin_page_add(x, "generation", json_object_new_int64(shm_load(&sw->generation)));
        admin_page_add(x, "state", json_object_new_string(admin_status_worker_state(state)));
        admin_page_add(x, "self", json_object_new_boolean(self));
        admin_page_add(x, "requests", admin_page_u64(shm_load(&sw->requests)));
        bool running = state == SHM_WORKER_BUSY && start != 0;
        admin_page_add(x, "route", running ? json_object_new_string(sw->route) : NULL);
        admin_page_add(x, "method", running ? json_object_new_string(sw->method) : NULL);
        admin_page_add(x, "busy_ms", running ? admin_page_u64(now > start ? now - start : 0) : NULL);
        admin_page_add(x, "started_ms", admin_page_u64(shm_load(&sw->started_ms)));
        json_object_array_add(list, x);
    }
    uint32_t queued = 0, limit = 0;
    struct json_object *lq = json_object_new_object();
    if (admin_status_listen_queue(req->ctx->listen_fd, &queued, &limit) == 0) {
        uint64_t max = shm_load(&shm->listen_queue_max);
        while (queued > max && !__atomic_compare_exchange_n(&shm->listen_queue_max, &max, queued, false,
                                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
        admin_page_add(lq, "now", json_object_new_int64(queued));
        admin_page_add(lq, "limit", json_object_new_int64(limit));
    } else {
        admin_page_add(lq, "now", NULL);
        admin_page_add(lq, "limit", NULL);
    }
    admin_page_add(lq, "max", admin_page_u64(shm_load(&shm->listen_queue_max)));
    admin_page_add(o, "master_pid", json_object_new_int(shm_load(&shm->master_pid)));
    admin_page_add(o, "started_ms", admin_page_u64(shm_load(&shm->master_started_ms)));
    admin_page_add(o, "accepted", admin_page_u64(shm_load(&shm->accepted)));
    admin_page_add(o, "listen_queue", lq);
    admin_page_add(o, "idle", json_object_new_int(idle));
    admin_page_add(o, "busy", json_object_new_int(busy));
    admin_page_add(o, "total", json_object_new_int(total));
    admin_page_add(o, "all_busy_events", admin_page_u64(shm_load(&shm->all_busy_events)));
    admin_page_add(o, "slow_requests", admin_page_u64(shm_load(&shm->slow_requests)));
    admin_page_add(o, "restarts", admin_page_u64(shm_load(&shm->worker_restarts)));
    admin_page_add(o, "recycles", admin_page_u64(shm_load(&shm->worker_recycles)));
    admin_page_add(o, "timeouts", admin_page_u64(shm_load(&shm->worker_timeouts)));
    admin_page_add(o, "workers", list);
    return o;
}

/* Since-start request figures from the shared route histograms. */
static struct json_object *admin_status_requests_json(struct request *req, struct json_object **chart)
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
    double uptime_s = (double)(clock_wall_ms() - shm_load(&shm->master_started_ms)) / 1000.0;
    struct json_object *o = json_object_new_object();
    admin_page_add(o, "total", admin_page_u64(total));
    admin_page_add(o, "uptime_s", json_object_new_double(uptime_s));
    admin_page_add(o, "rate_per_s", json_object_new_double(uptime_s > 0 ? (double)total / uptime_s : 0.0));
    admin_page_add(o, "errors_5xx", admin_page_u64(errors5));
    admin_page_add(o, "errors_4xx", admin_page_u64(errors4));
    admin_page_add(o, "error_rate", json_object_new_double(total ? (double)errors5 / (double)total : 0.0));
    uint64_t recent = 0, recent5 = 0;
    shm_rate_recent(shm, ADMIN_RECENT_SECONDS, &recent, &recent5);
    struct json_object *lm = json_object_new_object();
    admin_page_add(lm, "seconds", json_object_new_int(ADMIN_RECENT_SECONDS));
    admin_page_add(lm, "requests", admin_page_u64(recent));
    admin_page_add(lm, "rate_per_s", json_object_new_double((double)recent / ADMIN_RECENT_SECONDS));
    admin_page_add(lm, "errors_5xx", admin_page_u64(recent5));
    admin_page_add(lm, "error_rate", json_object_new_double(recent ? (double)recent5 / (double)recent : 0.0));
    admin_page_add(o, "last_minute", lm);
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
        admin_page_add(o, names[k], v);
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
            json_object_array_add(values, admin_page_u64(buckets[b]));
        }
        struct json_object *c = json_object_new_object();
        admin_page_add(c, "labels", labels);
        admin_page_add(c, "values", values);
        *chart = c;
    }
    return o;
}

static struct json_object *admin_status_overview_json(struct request *req, enum err *e, struct json_object **chart)
{
    struct json_object *latency_chart = NULL;
    struct json_object *o = json_object_new_object();
    admin_page_add(o, "requests", admin_status_requests_json(req, chart ? &latency_chart : NULL));
    struct json_object *counts = admin_page_query_json(
        req, e,
        /* transactions: the per-user counters the insert trigger maintains (sql/015), not a scan of 1M rows */
        "SELECT json_build_object('users', (SELECT count(*) FROM users), 'transactions', "
        "(SELECT coalesce(sum(transaction_count), 0) FROM metric_generations), "
        "'metrics', (SELECT count(*) FROM pre_computed_metrics))",
        0, NULL);
    struct json_object *jobs = admin_page_query_json(
        req, e,
        "SELECT json_build_object('queued', count(*) FILTER (WHERE status = 'queued'), 'running', "
        "count(*) FILTER (WHERE status = 'running'), 'succeeded', count(*) FILTER (WHERE status = 'succeeded'), "
        "'failed', count(*) FILTER (WHERE status = 'failed'), 'dead', count(*) FILTER (WHERE status = 'dead')) "
        "FROM jobs",
        0, NULL);
    admin_page_add(o, "counts", counts);
    admin_page_add(o, "jobs", jobs);
    admin_page_add(o, "workers", admin_status_workers_json(req));
    if (chart != NULL) {
        struct json_object *c = json_object_new_object();
        admin_page_add(c, "latency", latency_chart);
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
        admin_page_add(jc, "labels", jl);
        admin_page_add(jc, "values", jv);
        admin_page_add(c, "jobs", jc);
        *chart = c;
    }
    return o;
}

int admin_status_api_workers(struct request *req, struct response *res)
{
    return response_json(res, 200, admin_status_workers_json(req));
}

int admin_status_api_overview(struct request *req, struct response *res)
{
    enum err e = ERR_NONE;
    struct json_object *o = admin_status_overview_json(req, &e, NULL);
    if (e != ERR_NONE) {
        json_object_put(o);
        return request_fail(req, e, NULL, "cannot read the overview counts");
    }
    return response_json(res, 200, o);
}

int admin_status_page(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_page_session(req, res, &s))
        return ERR_NONE;
    enum err e = ERR_NONE;
    struct json_object *chart = NULL;
    struct json_object *d = admin_status_overview_json(req, &e, &chart);
    struct json_object *rq = json_object_object_get(d, "requests");
    char t[64];
    snprintf(t, sizeof(t), "%.2f", json_object_get_double(json_object_object_get(rq, "rate_per_s")));
    admin_page_add(d, "rate_text", json_object_new_string(t));
    snprintf(t, sizeof(t), "%.2f%%", 100.0 * json_object_get_double(json_object_object_get(rq, "error_rate")));
    admin_page_add(d, "error_rate_text", json_object_new_string(t));
    struct json_object *lm = json_object_object_get(rq, "last_minute");
    snprintf(t, sizeof(t), "%.2f", json_object_get_double(json_object_object_get(lm, "rate_per_s")));
    admin_page_add(d, "recent_rate_text", json_object_new_string(t));
    snprintf(t, sizeof(t), "%.2f%%", 100.0 * json_object_get_double(json_object_object_get(lm, "error_rate")));
    admin_page_add(d, "recent_error_rate_text", json_object_new_string(t));
    if (e != ERR_NONE)
        admin_page_add(d, "db_error", json_object_new_boolean(1));
    return admin_page_render(req, res, &s, "overview", "Overview", d, chart);
}
