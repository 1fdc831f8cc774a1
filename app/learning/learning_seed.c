/* learning_seed: demo learning data for `tallyctl seed-demo` (and
 * `tallyctl learning seed-demo`). Deterministic for a seed: 300 forms over
 * 6 applicant-tracking families with dense forms and 15 small "custom"
 * families (3 forms of 1-2 events each: never the family level's 10 runs),
 * shaped so that all four hint sources appear, near the seed's
 * expected split (form 30-40 %, segment 20-30 %, family 20-30 %, none
 * 10-20 %):
 *   - dense forms (35 %): 8-20 events of one job title, a main style first;
 *   - sparse forms with a job (25 %): 1-4 events with a segment that the
 *     dense forms of their family have -> segment level;
 *   - sparse forms without a job (25 %): no segment -> family level;
 *   - forms of the small families (15 %): too few runs anywhere -> none.
 * Events go through learning_sync (the API's validation and statement),
 * spread over the given users and the last 25 days; then one full
 * aggregation, so the dashboard has figures at once. */
#define _GNU_SOURCE
#include "learning.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LEARNING_SEED_FORMS 300

struct learning_seed_rng {
    uint64_t s;
};

static uint64_t learning_seed_next(struct learning_seed_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int learning_seed_range(struct learning_seed_rng *r, int lo, int hi)
{
    return lo + (int)(learning_seed_next(r) % (uint64_t)(hi - lo + 1));
}

static const char *const learning_seed_families[] = {"workday", "greenhouse", "lever", "smartrecruiters", "taleo",
                                                     "teamtailor"};
static const char *const learning_seed_styles[] = {"concise_v1", "warm_v2", "formal_v1", "bullets_v1"};
/* Titles of the dense forms (segments senior, junior, default) and of the sparse ones. */
static const char *const learning_seed_titles[] = {
    "Senior Data Engineer", "Sr. Backend Engineer", "Développeur confirmé", "Head of Product",
    "Junior Developer", "Jeune diplômé - Ingénieur d'affaires", "Entry-level Analyst", "Graduate Consultant",
    "Data Analyst", "Product Designer", "Ingénieur logiciel", "Customer Success Manager"};
#define LEARNING_SEED_TITLES (sizeof(learning_seed_titles) / sizeof(learning_seed_titles[0]))

struct learning_seed_run {
    struct tally_ctx *ctx;
    struct learning_seed_rng rng;
    const int64_t *user_ids;
    int user_count;
    struct json_object **batches;      /* one pending array per user */
    long events;
    int64_t now;
    unsigned tag;                      /* seed & 0xffff, in hosts and small families: seeds do not mix */
    int failed;
};

static void learning_seed_flush(struct learning_seed_run *run, int u)
{
    struct json_object *batch = run->batches[u];
    if (batch == NULL || json_object_array_length(batch) == 0)
        return;
    struct learning_sync_result res;
    const char *field;
    char msg[200];
    if (learning_sync(run->ctx, run->user_ids[u], batch, &res, &field, msg, sizeof(msg)) != ERR_NONE) {
        fprintf(stderr, "learning seed: %s\n", msg);
        run->failed = 1;
    } else {
        run->events += res.accepted;
        json_object_put(res.rejected);
    }
    json_object_put(batch);
    run->batches[u] = json_object_new_array();
}

static void learning_seed_event(struct learning_seed_run *run, const char *host, const char *schema,
                                const char *family, const char *style, const char *title, int good_style)
{
    struct learning_seed_rng *r = &run->rng;
    int u = learning_seed_range(r, 0, run->user_count - 1);
    struct json_object *e = json_object_new_object();
    char event_id[40], created[32];
    snprintf(event_id, sizeof(event_id), "demo-%016" PRIx64, learning_seed_next(r));
    time_t t = (time_t)(run->now - learning_seed_range(r, 60, 25 * 86400));
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int helpful_pct = good_style ? 80 : 45;
    int roll = learning_seed_range(r, 0, 99);
    json_object_object_add(e, "event_id", json_object_new_string(event_id));
    json_object_object_add(e, "host", json_object_new_string(host));
    json_object_object_add(e, "schema_hash", json_object_new_string(schema));
    json_object_object_add(e, "family", json_object_new_string(family));
    json_object_object_add(e, "gen_style_id", json_object_new_string(style));
    json_object_object_add(e, "applied", json_object_new_boolean(roll < 90));
    json_object_object_add(e, "edit_chars", json_object_new_int(learning_seed_range(r, 0, good_style ? 25 : 60)));
    json_object_object_add(e, "helpful",
                           roll >= 95 ? NULL : json_object_new_boolean(learning_seed_range(r, 0, 99) < helpful_pct));
    if (title != NULL) {
        struct json_object *job = json_object_new_object();
        json_object_object_add(job, "title", json_object_new_string(title));
        json_object_object_add(e, "job", job);
    }
    json_object_object_add(e, "created_at", json_object_new_string(created));
    json_object_array_add(run->batches[u], e);
    if (json_object_array_length(run->batches[u]) >= LEARNING_SYNC_EVENTS_MAX)
        learning_seed_flush(run, u);
}

static void learning_seed_form(struct learning_seed_run *run, int index)
{
    struct learning_seed_rng *r = &run->rng;
    char host[96], schema[32], family[48];
    int kind = index % 20;              /* 0-6 dense, 7-11 sparse+job, 12-16 sparse no job, 17-19 small family */
    const char *fam = learning_seed_families[learning_seed_range(r, 0, 5)];
    if (kind >= 17) {
        snprintf(family, sizeof(family), "custom-ats-%d-%04x", index / 20, run->tag);
        fam = family;
    }
    snprintf(host, sizeof(host), "careers-%03d-%04x.%s.example", index, run->tag, fam);
    snprintf(schema, sizeof(schema), "%08" PRIx64, (uint64_t)(learning_seed_next(r) & 0xffffffffU));
    const char *main_style = learning_seed_styles[learning_seed_range(r, 0, 3)];
    if (kind <= 6) {
        const char *title = learning_seed_titles[learning_seed_range(r, 0, (int)LEARNING_SEED_TITLES - 1)];
        int n = learning_seed_range(r, 8, 20);
        for (int i = 0; i < n; i++) {
            const char *style = i < 5 || learning_seed_range(r, 0, 1) ? main_style
                                                                     : learning_seed_styles[learning_seed_range(r, 0, 3)];
            learning_seed_event(run, host, schema, fam, style, title, style == main_style);
        }
    } else if (kind <= 11) {
        const char *title = learning_seed_titles[learning_seed_range(r, 0, (int)LEARNING_SEED_TITLES - 1)];
        int n = learning_seed_range(r, 1, 4);
        for (int i = 0; i < n; i++)
            learning_seed_event(run, host, schema, fam, learning_seed_styles[learning_seed_range(r, 0, 3)], title, 0);
    } else {
        int n = learning_seed_range(r, 1, kind >= 17 ? 2 : 4);
        for (int i = 0; i < n; i++)
            learning_seed_event(run, host, schema, fam, learning_seed_styles[learning_seed_range(r, 0, 3)], NULL, 0);
    }
}

int learning_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count, FILE *out)
{
    if (user_count <= 0)
        return 0;
    struct json_object *batches[64];
    int users = user_count < 64 ? user_count : 64;
    struct learning_seed_run run = {.ctx = ctx, .rng = {seed ^ 0x6c6561726e696e67ULL}, .user_ids = user_ids,
                                    .user_count = users, .batches = batches, .now = (int64_t)time(NULL),
                                    .tag = (unsigned)(seed & 0xffff)};
    for (int u = 0; u < users; u++)
        batches[u] = json_object_new_array();
    for (int i = 0; i < LEARNING_SEED_FORMS && !run.failed; i++)
        learning_seed_form(&run, i);
    for (int u = 0; u < users; u++) {
        if (!run.failed)
            learning_seed_flush(&run, u);
        json_object_put(batches[u]);
    }
    if (run.failed)
        return -1;
    struct learning_aggregate_opts opts = {.days = LEARNING_WINDOW_DAYS_DEFAULT, .full = true};
    struct learning_aggregate_result res;
    if (learning_aggregate(ctx, &opts, &res) != 0)
        return -1;
    fprintf(out, "seeded %ld learning events over %d forms; %ld profiles aggregated\n", run.events,
            LEARNING_SEED_FORMS, res.updated_profiles);
    return 0;
}
