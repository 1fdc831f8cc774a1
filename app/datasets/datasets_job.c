/* datasets_job: see datasets_job.h. */
#include "datasets_job.h"
#include "datasets.h"
#include "../core/arena.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../jobs/jobs.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

int datasets_job_retention(struct jobs_ctx *jctx, struct json_object *payload)
{
    struct arena a;
    arena_init(&a);
    struct tally_ctx ctx;
    if (jctx->tally != NULL) {
        ctx = *jctx->tally;
    } else {
        memset(&ctx, 0, sizeof(ctx));
        ctx.kind = TALLY_CTX_RUNNER;
        ctx.cfg = jctx->cfg;
        ctx.db = jctx->db;
        ctx.cache = jctx->cache;
    }
    ctx.arena = &a;
    struct datasets_limits lim;
    datasets_limits_get(&ctx, &lim);
    struct json_object *k = NULL;
    int keep = lim.keep_versions;
    if (payload != NULL && json_object_object_get_ex(payload, "keep", &k) && json_object_is_type(k, json_type_int) &&
        json_object_get_int(k) >= 1)
        keep = json_object_get_int(k);
    long purged = 0;
    enum err e = datasets_retention(&ctx, keep, &purged);
    arena_free(&a);
    if (e != ERR_NONE) {
        snprintf(jctx->error, sizeof(jctx->error), "datasets retention failed (error %d)", (int)e);
        return -1;
    }
    log_info("datasets_retention: kept the last %d versions of each dataset, purged %ld", keep, purged);
    return 0;
}
