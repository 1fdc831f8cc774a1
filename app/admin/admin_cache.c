/* admin_cache: the cache stats page for ops (namespaces since start and
 * last minute, the metric read path, memcached servers and slabs), its
 * JSON twin, and the namespace flush (form with CSRF, and the API). */
#define _GNU_SOURCE
#include "admin_internal.h"
#include "../core/clock.h"
#include "../modules/precompute.h"
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

/* NULL (out of memory) is answered like a disabled cache: no servers. */
static int admin_cache_server_stats(struct request *req, const struct cache_server_stats **out)
{
    struct admin_state *st = module_state(req->ctx, "admin");
    if (st == NULL) {
        *out = NULL;
        return 0;
    }
    uint64_t now = clock_mono_ms();
    if (st->stats_at_ms == 0 || now - st->stats_at_ms >= ADMIN_STATS_CACHE_MS) {
        st->stats_count = cache_server_stats(req->ctx->cache, st->stats, CACHE_SERVERS_MAX);
        st->stats_at_ms = clock_mono_ms();
    }
    *out = st->stats;
    return st->stats_count;
}

static struct json_object *admin_cache_ns_counters(const struct cache_ns_counters *c, bool html)
{
    struct json_object *o = json_object_new_object();
    uint64_t hits = shm_load(&c->hits), misses = shm_load(&c->misses);
    admin_page_add(o, "hits", admin_page_u64(hits));
    admin_page_add(o, "misses", admin_page_u64(misses));
    admin_page_add(o, "sets", admin_page_u64(shm_load(&c->sets)));
    admin_page_add(o, "deletes", admin_page_u64(shm_load(&c->deletes)));
    admin_page_add(o, "errors", admin_page_u64(shm_load(&c->errors)));
    struct json_object *ratio = admin_page_ratio(hits, misses);
    if (html)
        admin_page_pct_text(o, "hit_ratio_text", ratio);
    admin_page_add(o, "hit_ratio", ratio);
    return o;
}

static struct json_object *admin_cache_server_json(const struct cache_server_stats *s, bool html)
{
    struct json_object *o = json_object_new_object();
    char addr[96];
    snprintf(addr, sizeof(addr), "%.63s:%u", s->host, s->port);
    admin_page_add(o, "server", json_object_new_string(addr));
    admin_page_add(o, "up", json_object_new_boolean(s->up));
    if (!s->up)
        return o;
    admin_page_add(o, "version", json_object_new_string(s->version));
    admin_page_add(o, "pid", admin_page_u64(s->pid));
    admin_page_add(o, "uptime", admin_page_u64(s->uptime_s));
    admin_page_add(o, "curr_items", admin_page_u64(s->curr_items));
    admin_page_add(o, "total_items", admin_page_u64(s->total_items));
    admin_page_add(o, "bytes", admin_page_u64(s->bytes));
    admin_page_add(o, "limit_maxbytes", admin_page_u64(s->limit_maxbytes));
    double fill = s->limit_maxbytes ? 100.0 * (double)s->bytes / (double)s->limit_maxbytes : 0.0;
    admin_page_add(o, "fill_pct", json_object_new_double(fill));
    admin_page_add(o, "get_hits", admin_page_u64(s->get_hits));
    admin_page_add(o, "get_misses", admin_page_u64(s->get_misses));
    admin_page_add(o, "evictions", admin_page_u64(s->evictions));
    admin_page_add(o, "evictions_per_s",
              json_object_new_double(s->uptime_s ? (double)s->evictions / (double)s->uptime_s : 0.0));
    admin_page_add(o, "curr_connections", admin_page_u64(s->curr_connections));
    admin_page_add(o, "listen_disabled_num", admin_page_u64(s->listen_disabled_num));
    admin_page_add(o, "total_malloced", admin_page_u64(s->total_malloced));
    if (html) {
        char t[32];
        snprintf(t, sizeof(t), "%.1f%%", fill);
        admin_page_add(o, "fill_text", json_object_new_string(t));
        /* The bar is a <meter>: no inline style, which the CSP forbids. */
        snprintf(t, sizeof(t), "%.4f", fill / 100.0);
        admin_page_add(o, "fill_ratio", json_object_new_string(t));
        snprintf(t, sizeof(t), "%.3f", s->uptime_s ? (double)s->evictions / (double)s->uptime_s : 0.0);
        admin_page_add(o, "evictions_per_s_text", json_object_new_string(t));
        snprintf(t, sizeof(t), "%.1f MiB", (double)s->bytes / 1048576.0);
        admin_page_add(o, "bytes_text", json_object_new_string(t));
        snprintf(t, sizeof(t), "%.0f MiB", (double)s->limit_maxbytes / 1048576.0);
        admin_page_add(o, "limit_text", json_object_new_string(t));
    }
    struct json_object *slabs = json_object_new_array();
    for (uint32_t i = 0; i < s->slab_count; i++) {
        const struct cache_slab_stats *sl = &s->slabs[i];
        struct json_object *x = json_object_new_object();
        admin_page_add(x, "id", json_object_new_int((int)sl->id));
        admin_page_add(x, "chunk_size", admin_page_u64(sl->chunk_size));
        admin_page_add(x, "total_pages", admin_page_u64(sl->total_pages));
        admin_page_add(x, "total_chunks", admin_page_u64(sl->total_chunks));
        admin_page_add(x, "used_chunks", admin_page_u64(sl->used_chunks));
        admin_page_add(x, "mem_requested", admin_page_u64(sl->mem_requested));
        admin_page_add(x, "items", admin_page_u64(sl->items));
        admin_page_add(x, "evicted", admin_page_u64(sl->evicted));
        admin_page_add(x, "age", admin_page_u64(sl->age_s));
        json_object_array_add(slabs, x);
    }
    admin_page_add(o, "slabs", slabs);
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
        admin_page_add(x, "namespace", json_object_new_string(cache_ns_name(cs, i)));
        admin_page_add(x, "generation", admin_page_u64(shm_load(&cs->ns_generation[i])));
        admin_page_add(x, "flushable", json_object_new_boolean(i != CACHE_NS_HEALTH));
        admin_page_add(x, "since_start", admin_cache_ns_counters(&cs->ns[i], html));
        admin_page_add(x, "last_minute", admin_cache_ns_counters(&recent[i], html));
        if (html && i == CACHE_NS_HEALTH) {   /* probe keys: a hit ratio would mean nothing */
            admin_page_add(x, "probe", json_object_new_boolean(1));
            admin_page_add(json_object_object_get(x, "since_start"), "hit_ratio_text", json_object_new_string("n/a (probes)"));
            admin_page_add(json_object_object_get(x, "last_minute"), "hit_ratio_text", json_object_new_string("n/a"));
        }
        json_object_array_add(nss, x);
    }
    admin_page_add(o, "namespaces", nss);
    admin_page_add(o, "window_seconds", json_object_new_int(ADMIN_RECENT_SECONDS));
    admin_page_add(o, "timeouts", admin_page_u64(shm_load(&cs->timeouts)));
    admin_page_add(o, "server_failures", admin_page_u64(shm_load(&cs->server_failures)));
    admin_page_add(o, "flushes", admin_page_u64(shm_load(&cs->flushes)));
    struct json_object *layers = json_object_new_object();
    uint64_t from_cache, from_store, computed;
    precompute_read_counts(req->ctx, &from_cache, &from_store, &computed);
    admin_page_add(layers, "memcached", admin_page_u64(from_cache));
    admin_page_add(layers, "postgresql", admin_page_u64(from_store));
    admin_page_add(layers, "computed", admin_page_u64(computed));
    admin_page_add(o, "read_path", layers);
    const struct cache_server_stats *st = NULL;
    int n = admin_cache_server_stats(req, &st);
    struct json_object *servers = json_object_new_array();
    int down = 0;
    for (int i = 0; i < n; i++) {
        down += !st[i].up;
        json_object_array_add(servers, admin_cache_server_json(&st[i], html));
    }
    admin_page_add(o, "servers", servers);
    admin_page_add(o, "servers_down", json_object_new_int(down));
    return o;
}

int admin_cache_api_stats(struct request *req, struct response *res)
{
    return response_json(res, 200, admin_cache_json(req, false));
}

static enum err admin_cache_flush_ns(struct request *req, const char *name)
{
    enum cache_ns ns = cache_ns_parse(&req->ctx->shm->cache, name);
    if (ns == CACHE_NS_NONE || ns == CACHE_NS_HEALTH)
        return request_fail(req, ERR_UNPROCESSABLE, "namespace", "unknown or unflushable namespace");
    if (cache_flush_namespace(req->ctx->cache, name) != CACHE_OK)
        return request_fail(req, ERR_UNAVAILABLE, NULL, "the cache is disabled");
    return ERR_NONE;
}

/* POST /api/v1/admin/cache/flush?namespace=NAME */
int admin_cache_api_flush(struct request *req, struct response *res)
{
    const char *name = request_query(req, "namespace");
    if (name == NULL)
        return request_fail(req, ERR_BAD_REQUEST, "namespace", "namespace is required");
    enum err e = admin_cache_flush_ns(req, name);
    if (e != ERR_NONE)
        return e;
    struct json_object *o = json_object_new_object();
    admin_page_add(o, "namespace", json_object_new_string(name));
    admin_page_add(o, "generation",
              admin_page_u64(shm_load(&req->ctx->shm->cache.ns_generation[cache_ns_parse(&req->ctx->shm->cache, name)])));
    return response_json(res, 200, o);
}

int admin_cache_page(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_page_session(req, res, &s))
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
    admin_page_add(chart, "labels", labels);
    admin_page_add(chart, "hits", hits);
    admin_page_add(chart, "misses", misses);
    admin_page_add(d, "refresh_s", json_object_new_int(ADMIN_REFRESH_S));
    const char *flushed = request_query(req, "flushed");
    if (flushed != NULL && cache_ns_parse(&req->ctx->shm->cache, flushed) != CACHE_NS_NONE)
        admin_page_add(d, "flushed", json_object_new_string(flushed));
    return admin_page_render(req, res, &s, "cache", "Cache", d, chart);
}

/* POST /admin/cache/flush (namespace, confirm, csrf_token) */
int admin_cache_form_flush(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_auth_post(req, res, &s))
        return ERR_NONE;
    const char *name = admin_auth_form(req, "namespace");
    if (name == NULL || admin_cache_flush_ns(req, name) != ERR_NONE)
        return admin_auth_error_page(req, res, 422, "Unknown or unflushable namespace.");
    log_info("admin %s flushed cache namespace %s", s.username, name);
    return admin_auth_redirect(res, arena_sprintf(req->arena, "/admin/cache?flushed=%s", name));
}
