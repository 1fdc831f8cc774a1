/* module: walks the module table for the rest of the program. Core, the
 * store, the cache and the job engine call these and never name a domain.
 * The table itself (app/modules.c) is the one file that includes every
 * domain's header. */
#include "module.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "request.h"
#include "router.h"
#include "shm.h"
#include "../cache/cache.h"
#include "../jobs/jobs.h"

#include <stdio.h>
#include <string.h>

int module_count(void)
{
    int n = 0;
    while (tally_modules[n] != NULL)
        n++;
    return n;
}

int module_index(const char *name)
{
    for (int i = 0; tally_modules[i] != NULL; i++)
        if (strcmp(tally_modules[i]->name, name) == 0)
            return i;
    return -1;
}

void *module_state(const struct tally_ctx *ctx, const char *name)
{
    int i = module_index(name);
    return i >= 0 ? ctx->state[i] : NULL;
}

void module_publish(struct tally_ctx *ctx, const struct tally_event *ev)
{
    for (int i = 0; tally_modules[i] != NULL; i++)
        if (tally_modules[i]->on_event != NULL)
            tally_modules[i]->on_event(ctx, ev);
}

int module_init_master(const struct config *cfg, char *err, size_t err_cap)
{
    for (int i = 0; tally_modules[i] != NULL; i++) {
        const struct tally_module *m = tally_modules[i];
        char msg[400] = "";
        if (m->init_master != NULL && m->init_master(cfg, msg, sizeof(msg)) != 0) {
            snprintf(err, err_cap, "%s: %s", m->name, msg);
            return -1;
        }
    }
    return 0;
}

bool module_error_page(struct request *req, struct response *res, int status, const char *message)
{
    for (int i = 0; tally_modules[i] != NULL; i++) {
        const struct tally_module *m = tally_modules[i];
        if (m->error_page == NULL || m->error_page_prefix == NULL ||
            strncmp(req->path, m->error_page_prefix, strlen(m->error_page_prefix)) != 0)
            continue;
        return m->error_page(req, res, status, message) == 0;
    }
    return false;
}

int module_filter_request(struct request *req, struct response *res)
{
    for (int i = 0; tally_modules[i] != NULL; i++) {
        if (tally_modules[i]->filter == NULL)
            continue;
        int e = tally_modules[i]->filter(req, res);
        if (e != 0)
            return e;
    }
    return 0;
}

int module_routes_register(struct router *r, bool debug_routes)
{
    router_init(r);
    for (int i = 0; tally_modules[i] != NULL; i++) {
        const struct tally_module *m = tally_modules[i];
        if (m->route_count == 0 || (m->debug_only && !debug_routes))
            continue;
        if (router_add(r, m->routes, m->route_count) != 0) {
            log_error("module %s: route table full (LIMIT_ROUTES)", m->name);
            return -1;
        }
    }
    return 0;
}

int module_init_children(struct tally_ctx *ctx)
{
    for (int i = 0; tally_modules[i] != NULL; i++) {
        const struct tally_module *m = tally_modules[i];
        ctx->state[i] = NULL;
        if (m->init_child != NULL && m->init_child(ctx, &ctx->state[i]) != 0) {
            log_error("module %s: per-process init failed", m->name);
            for (int j = i - 1; j >= 0; j--)
                if (tally_modules[j]->free_child != NULL)
                    tally_modules[j]->free_child(ctx, ctx->state[j]);
            return -1;
        }
    }
    return 0;
}

void module_free_children(struct tally_ctx *ctx)
{
    for (int i = module_count() - 1; i >= 0; i--) {
        if (tally_modules[i]->free_child != NULL)
            tally_modules[i]->free_child(ctx, ctx->state[i]);
        ctx->state[i] = NULL;
    }
}

/* ---- job kinds: numbered in table order, the last index is "other" ---- */

int module_job_count(void)
{
    int n = 0;
    for (int i = 0; tally_modules[i] != NULL; i++)
        n += (int)tally_modules[i]->job_count;
    return n;
}

const struct jobs_handler *module_job_at(int index)
{
    for (int i = 0; tally_modules[i] != NULL && index >= 0; i++) {
        const struct tally_module *m = tally_modules[i];
        if (index < (int)m->job_count)
            return &m->jobs[index];
        index -= (int)m->job_count;
    }
    return NULL;
}

int module_job_index(const char *kind, bool debug)
{
    int base = 0;
    for (int i = 0; tally_modules[i] != NULL; i++) {
        const struct tally_module *m = tally_modules[i];
        for (size_t k = 0; k < m->job_count && (debug || !m->debug_only); k++)
            if (strcmp(m->jobs[k].kind, kind) == 0)
                return base + (int)k;
        base += (int)m->job_count;
    }
    return -1;
}

/* ---- tallyctl commands ---- */

const struct module_command *module_command_find(const char *name)
{
    for (int i = 0; tally_modules[i] != NULL; i++) {
        const struct tally_module *m = tally_modules[i];
        for (size_t k = 0; k < m->command_count; k++)
            if (strcmp(m->commands[k].name, name) == 0)
                return &m->commands[k];
    }
    return NULL;
}

void module_command_line(FILE *out, const struct module_command *c)
{
    if (strlen(c->synopsis) <= 50)
        fprintf(out, "  %-50s %s\n", c->synopsis, c->summary);
    else
        fprintf(out, "  %s\n  %-50s %s\n", c->synopsis, "", c->summary);
}

/* ---- config keys ---- */

const struct module_config_key *module_config_key_at(int index)
{
    for (int i = 0; tally_modules[i] != NULL && index >= 0; i++) {
        const struct tally_module *m = tally_modules[i];
        if (index < (int)m->config_count)
            return &m->config[index];
        index -= (int)m->config_count;
    }
    return NULL;
}

/* ---- cache namespaces and /metrics ---- */

int module_cache_namespaces(struct cache_shared *shared)
{
    for (int i = 0; tally_modules[i] != NULL; i++) {
        const char *const *ns = tally_modules[i]->cache_namespaces;
        for (size_t k = 0; ns != NULL && ns[k] != NULL; k++)
            if (cache_ns_register(shared, ns[k]) < 0) {
                log_error("module %s: cannot register cache namespace %s (CACHE_NS_MAX)",
                          tally_modules[i]->name, ns[k]);
                return -1;
            }
    }
    return 0;
}

int module_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count, FILE *out,
                     const char **failed)
{
    *failed = NULL;
    for (int i = 0; tally_modules[i] != NULL; i++) {
        const struct tally_module *m = tally_modules[i];
        if (m->seed_demo != NULL && m->seed_demo(ctx, seed, user_ids, user_count, out) != 0) {
            *failed = m->name;
            return -1;
        }
    }
    return 0;
}

void module_metrics(const struct tally_ctx *ctx, struct buf *out)
{
    for (int i = 0; tally_modules[i] != NULL; i++)
        if (tally_modules[i]->metrics != NULL)
            tally_modules[i]->metrics(ctx, out);
}

/* ---- shared-memory areas: carved from shm->modules in table order ---- */

int module_shm_layout(struct shm *shm)
{
    size_t off = 0;
    for (int i = 0; tally_modules[i] != NULL; i++) {
        size_t want = (tally_modules[i]->shm_bytes + 63) & ~(size_t)63;
        if (want > sizeof(shm->modules) - off) {
            log_error("module %s: shared memory area full (LIMIT_MODULE_SHM_BYTES)", tally_modules[i]->name);
            return -1;
        }
        shm->module_offset[i] = off;
        off += want;
    }
    return 0;
}

void *module_shm(const struct shm *shm, const char *name)
{
    int i = module_index(name);
    if (shm == NULL || i < 0 || tally_modules[i]->shm_bytes == 0)
        return NULL;
    return (void *)(shm->modules + shm->module_offset[i]);
}
