/* precompute: see precompute.h. Owns the metrics themselves. Layout of this
 * file: month arithmetic and the two fetch queries (month sums, category
 * sums) that every metric is built from; the value builders (pure, integer
 * cents); the store and cache layers; the read path and its counters;
 * batch; the request's period. The module's plumbing (route handler, jobs,
 * subscriber, /metrics lines, table) is precompute_module.c's. */
#define _GNU_SOURCE
#include "precompute.h"
#include "../core/clock.h"
#include "../cache/cache.h"
#include "../cache/cachegen.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/jsonx.h"
#include "../core/log.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/shm.h"
#include "../core/text.h"
#include "../store/db.h"
#include "../store/db_json.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRECOMPUTE_MAX_MONTHS 8                /* widest window: trends of the previous month = 7 months */
#define PRECOMPUTE_KEY_BYTES 96
#define PRECOMPUTE_TS_BYTES 32
#define PRECOMPUTE_PERIOD_BYTES 16
#define PRECOMPUTE_BODY_LIMIT (LIMIT_CACHE_VALUE_BYTES)

static const char *const precompute_type_names[PRECOMPUTE_TYPES] = {
    [PRECOMPUTE_MONTHLY_TOTAL] = "monthly_total",
    [PRECOMPUTE_CATEGORY_BREAKDOWN] = "category_breakdown",
    [PRECOMPUTE_MOM_COMPARISON] = "mom_comparison",
    [PRECOMPUTE_TRENDS_6M] = "trends_6m",
};
enum precompute_source { PRECOMPUTE_FROM_CACHE = 0, PRECOMPUTE_FROM_STORE, PRECOMPUTE_COMPUTED };
static const char *const precompute_source_names[] = {"cache", "store", "computed"};

const char *precompute_type_name(enum precompute_type t)
{
    return (unsigned)t < PRECOMPUTE_TYPES ? precompute_type_names[t] : "unknown";
}

int precompute_type_parse(const char *name, enum precompute_type *out)
{
    for (int i = 0; i < PRECOMPUTE_TYPES; i++)
        if (strcmp(name, precompute_type_names[i]) == 0) {
            *out = (enum precompute_type)i;
            return 0;
        }
    return -1;
}

/* ---- months ----------------------------------------------------------- */

/* A month as one integer: year * 12 + (month - 1). */
static int precompute_month_index(int y, int m) { return y * 12 + (m - 1); }

static void precompute_period_text(int idx, char out[PRECOMPUTE_PERIOD_BYTES])
{
    snprintf(out, PRECOMPUTE_PERIOD_BYTES, "%04u-%02u", (unsigned)(idx / 12) % 10000u, (unsigned)(idx % 12) % 12u + 1u);
}

static void precompute_month_start(int idx, char out[16])
{
    snprintf(out, 16, "%04u-%02u-01", (unsigned)(idx / 12) % 10000u, (unsigned)(idx % 12) % 12u + 1u);
}

static void precompute_now_text(time_t t, char out[PRECOMPUTE_TS_BYTES])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, PRECOMPUTE_TS_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- fetch: what every metric is computed from ------------------------ */

struct precompute_month {
    __int128 spending;             /* cents, positive = money out; sums: exact at any row count */
    __int128 income;
    int64_t count;
};

struct precompute_snapshot {
    int first;                     /* month index of months[0] */
    struct precompute_month months[PRECOMPUTE_MAX_MONTHS];
    db_result *cats;               /* rows: period, category, total cents, count; by period, total desc */
    int64_t generation;            /* the user's generation in the snapshot of the first query */
    bool have_generation;
    bool user_exists;
};

/* The one-row head both fetch queries join to: generation and existence are
 * read in the same statement (same snapshot) as the sums. */
#define PRECOMPUTE_HEAD_SQL                                                                             \
    "SELECT h.gen, h.ok, x.* FROM (SELECT coalesce((SELECT generation FROM metric_generations" \
    " WHERE user_id = $1::bigint), 0) AS gen, EXISTS (SELECT 1 FROM users WHERE id = $1::bigint) AS ok) h"

static const char PRECOMPUTE_MONTHS_SQL[] =
    PRECOMPUTE_HEAD_SQL
    " LEFT JOIN (SELECT to_char(date, 'YYYY-MM') AS p,"
    " coalesce(sum(-amount_cents) FILTER (WHERE amount_cents < 0), 0) AS spending,"
    " coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0) AS income, count(*) AS n"
    " FROM transactions WHERE user_id = $1::bigint AND date >= $2::date AND date < $3::date GROUP BY 1) x ON true";

static const char PRECOMPUTE_CATS_SQL[] =
    PRECOMPUTE_HEAD_SQL
    " LEFT JOIN (SELECT to_char(date, 'YYYY-MM') AS p, coalesce(min(category), 'Uncategorized') AS category,"
    " sum(-amount_cents) AS total, count(*) AS n"
    " FROM transactions WHERE user_id = $1::bigint AND amount_cents < 0 AND date >= $2::date AND date < $3::date"
    " GROUP BY 1, category_key) x ON true ORDER BY x.p, x.total DESC, x.category";

static void precompute_head(struct precompute_snapshot *s, const db_result *r)
{
    int64_t gen = db_int64(r, 0, 0);
    if (!s->have_generation || gen < s->generation)
        s->generation = gen;
    s->have_generation = true;
    s->user_exists = strcmp(db_value(r, 0, 1), "t") == 0;
}

/* Runs one of the fetch queries over months [first, first + n). */
static db_result *precompute_fetch(struct db *db, enum err *e, const char *sql, int64_t user_id, int first, int n,
                           struct precompute_snapshot *s)
{
    char uid[24], from[16], to[16];
    db_param_i64(uid, user_id);
    precompute_month_start(first, from);
    precompute_month_start(first + n, to);
    const char *params[3] = {uid, from, to};
    db_result *r = db_query(db, e, DB_RETRY_ON_RECONNECT, sql, 3, params);
    if (r != NULL)
        precompute_head(s, r);
    return r;
}

static enum err precompute_fetch_months(struct db *db, int64_t user_id, int first, int n, struct precompute_snapshot *s)
{
    enum err e;
    db_result *r = precompute_fetch(db, &e, PRECOMPUTE_MONTHS_SQL, user_id, first, n, s);
    if (r == NULL)
        return e;
    s->first = first;
    memset(s->months, 0, sizeof(s->months));
    for (int i = 0; i < db_rows(r); i++) {
        if (db_is_null(r, i, 2))
            continue;
        int y, m;
        const char *p = db_value(r, i, 2);
        if (parse_period(p, strlen(p), &y, &m) != 0)
            continue;
        int k = precompute_month_index(y, m) - first;
        if (k < 0 || k >= n)
            continue;
        s->months[k].spending = parse_wide(db_value(r, i, 3));
        s->months[k].income = parse_wide(db_value(r, i, 4));
        s->months[k].count = db_int64(r, i, 5);
    }
    db_clear(r);
    return ERR_NONE;
}

static enum err precompute_fetch_cats(struct db *db, int64_t user_id, int first, int n, struct precompute_snapshot *s)
{
    enum err e;
    s->cats = precompute_fetch(db, &e, PRECOMPUTE_CATS_SQL, user_id, first, n, s);
    return s->cats != NULL ? ERR_NONE : e;
}

/* ---- values: pure builders from the snapshot --------------------------- */

/* A ratio or duration with a fixed number of decimals ("-0.00" becomes "0.00"). */
static struct json_object *precompute_ratio(double v, int decimals)
{
    char text[48];
    snprintf(text, sizeof(text), "%.*f", decimals, v);
    if (text[0] == '-' && strspn(text + 1, "0.") == strlen(text + 1))
        memmove(text, text + 1, strlen(text));
    return json_object_new_double_s(strtod(text, NULL), text);
}

static struct json_object *precompute_monthly_json(const struct precompute_month *m, const char *period)
{
    struct json_object *o = json_object_new_object();
    if (period != NULL)
        json_object_object_add(o, "period", json_object_new_string(period));
    json_object_object_add(o, "spending", jsonx_money_wide(m->spending));
    json_object_object_add(o, "income", jsonx_money_wide(m->income));
    json_object_object_add(o, "net", jsonx_money_wide(m->income - m->spending));
    json_object_object_add(o, "count", json_object_new_int64(m->count));
    return o;
}

/* (cur - prev) / |prev| in percent, 2 decimals; null when prev is 0. */
static struct json_object *precompute_pct(__int128 cur, __int128 prev)
{
    if (prev == 0)
        return NULL;
    double pct = (double)(cur - prev) * 100.0 / (double)(prev < 0 ? -prev : prev);
    return precompute_ratio(pct, 2);
}

static struct json_object *precompute_value(const struct precompute_snapshot *s, enum precompute_type t, int idx, long *points)
{
    int k = idx - s->first;
    struct json_object *v = json_object_new_object();
    switch (t) {
    case PRECOMPUTE_MONTHLY_TOTAL:
        json_object_put(v);
        *points = (long)s->months[k].count;
        return precompute_monthly_json(&s->months[k], NULL);
    case PRECOMPUTE_CATEGORY_BREAKDOWN: {
        char period[PRECOMPUTE_PERIOD_BYTES];
        precompute_period_text(idx, period);
        __int128 all = 0, others = 0;
        int64_t others_n = 0;
        long n = 0, ncat = 0;
        int rows = s->cats ? db_rows(s->cats) : 0;
        for (int i = 0; i < rows; i++)
            if (!db_is_null(s->cats, i, 2) && strcmp(db_value(s->cats, i, 2), period) == 0)
                all += parse_wide(db_value(s->cats, i, 4));
        struct json_object *list = json_object_new_array();
        for (int i = 0; i < rows; i++) {
            if (db_is_null(s->cats, i, 2) || strcmp(db_value(s->cats, i, 2), period) != 0)
                continue;
            __int128 total = parse_wide(db_value(s->cats, i, 4));
            int64_t cnt = db_int64(s->cats, i, 5);
            n += (long)cnt;
            if (ncat++ < PRECOMPUTE_TOP_CATEGORIES) {
                struct json_object *c = json_object_new_object();
                json_object_object_add(c, "category", json_object_new_string(db_value(s->cats, i, 3)));
                json_object_object_add(c, "total", jsonx_money_wide(total));
                json_object_object_add(c, "share", precompute_ratio(all ? (double)total / (double)all : 0, 4));
                json_object_object_add(c, "count", json_object_new_int64(cnt));
                json_object_array_add(list, c);
            } else {
                others += total;
                others_n += cnt;
            }
        }
        if (ncat > PRECOMPUTE_TOP_CATEGORIES) {
            struct json_object *c = json_object_new_object();
            json_object_object_add(c, "category", json_object_new_string("Others"));
            json_object_object_add(c, "total", jsonx_money_wide(others));
            json_object_object_add(c, "share", precompute_ratio(all ? (double)others / (double)all : 0, 4));
            json_object_object_add(c, "count", json_object_new_int64(others_n));
            json_object_array_add(list, c);
        }
        json_object_object_add(v, "categories", list);
        json_object_object_add(v, "total_spending", jsonx_money_wide(all));
        *points = n;
        return v;
    }
    case PRECOMPUTE_MOM_COMPARISON: {
        const struct precompute_month *cur = &s->months[k], *prev = &s->months[k - 1];
        struct json_object *change = json_object_new_object();
        json_object_object_add(change, "spending_pct", precompute_pct(cur->spending, prev->spending));
        json_object_object_add(change, "income_pct", precompute_pct(cur->income, prev->income));
        json_object_object_add(change, "net_pct",
                               precompute_pct(cur->income - cur->spending, prev->income - prev->spending));
        json_object_object_add(change, "spending", jsonx_money_wide(cur->spending - prev->spending));
        json_object_object_add(change, "income", jsonx_money_wide(cur->income - prev->income));
        json_object_object_add(change, "net",
                               jsonx_money_wide((cur->income - cur->spending) - (prev->income - prev->spending)));
        json_object_object_add(v, "current", precompute_monthly_json(cur, NULL));
        json_object_object_add(v, "previous", precompute_monthly_json(prev, NULL));
        json_object_object_add(v, "change", change);
        *points = (long)(cur->count + prev->count);
        return v;
    }
    case PRECOMPUTE_TRENDS_6M: {
        struct json_object *list = json_object_new_array();
        __int128 slope_num = 0, income_num = 0;
        long n = 0;
        for (int x = 0; x < PRECOMPUTE_TREND_MONTHS; x++) {
            const struct precompute_month *mm = &s->months[k - (PRECOMPUTE_TREND_MONTHS - 1) + x];
            char period[PRECOMPUTE_PERIOD_BYTES];
            precompute_period_text(idx - (PRECOMPUTE_TREND_MONTHS - 1) + x, period);
            json_object_array_add(list, precompute_monthly_json(mm, period));
            /* least squares over x = 0..5: slope = sum((2x - 5) * y) / 35, exact in cents */
            slope_num += (__int128)(2 * x - 5) * mm->spending;
            income_num += (__int128)(2 * x - 5) * mm->income;
            n += (long)mm->count;
        }
        json_object_object_add(v, "months", list);
        json_object_object_add(v, "spending_slope", jsonx_money_wide(parse_round_div_wide(slope_num, 35)));
        json_object_object_add(v, "income_slope", jsonx_money_wide(parse_round_div_wide(income_num, 35)));
        *points = n;
        return v;
    }
    default:
        break;
    }
    json_object_put(v);
    return NULL;
}

/* Months the computation of type t for month idx needs: [first, idx]. */
static int precompute_window_first(enum precompute_type t, int idx)
{
    return t == PRECOMPUTE_MOM_COMPARISON ? idx - 1 : t == PRECOMPUTE_TRENDS_6M ? idx - (PRECOMPUTE_TREND_MONTHS - 1)
                                                                                 : idx;
}

/* ---- answer text -------------------------------------------------------- */

/* A computed or stored metric as the tail of the answer: everything after
 * `{"user_id":…,"metric_type":…,"period":…,"source":…,`. The cache holds
 * exactly this, so a hit is two string copies and no JSON work. */
static char *precompute_tail(const char *value_json, const char *computed_at, const char *expires_at, double ms, long points,
                     size_t *len)
{
    struct buf b;
    buf_init(&b, PRECOMPUTE_BODY_LIMIT);
    buf_printf(&b, "\"value\":%s,\"computed_at\":\"%s\",\"expires_at\":\"%s\",\"computation_time_ms\":%.3f,"
                   "\"data_points_count\":%ld}",
               value_json, computed_at, expires_at, ms, points);
    if (b.overflow) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b, len);
}

static char *precompute_answer(int64_t user_id, enum precompute_type t, const char *period, enum precompute_source src,
                       const char *tail, size_t tail_len, size_t *len)
{
    char head[192];
    int n = snprintf(head, sizeof(head), "{\"user_id\":%" PRId64 ",\"metric_type\":\"%s\",\"period\":\"%s\",\"source\":\"%s\",",
                     user_id, precompute_type_name(t), period, precompute_source_names[src]);
    if (n < 0 || (size_t)n >= sizeof(head))
        return NULL;
    char *out = malloc((size_t)n + tail_len + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, head, (size_t)n);
    memcpy(out + n, tail, tail_len);
    out[(size_t)n + tail_len] = '\0';
    *len = (size_t)n + tail_len;
    return out;
}

/* ---- cache layer -------------------------------------------------------- */

/* One entry per metric "<uid>:<type>:<period>", tagged with the user's
 * generation it was computed from; it counts only while that equals the
 * user's token, read in the same round trip (app/cache/cachegen.h). */

static size_t precompute_cache_key(char out[PRECOMPUTE_KEY_BYTES], int64_t user_id, enum precompute_type t, const char *period)
{
    return (size_t)snprintf(out, PRECOMPUTE_KEY_BYTES, "%" PRId64 ":%s:%s", user_id, precompute_type_name(t), period);
}

/* ---- store layer -------------------------------------------------------- */

static const char PRECOMPUTE_STORE_GET_SQL[] =
    "SELECT metric_value::text, " DB_SQL_TIMESTAMP("computed_at") ", " DB_SQL_TIMESTAMP("expires_at") ","
    " computation_time_ms,"
    " data_points_count, generation FROM pre_computed_metrics"
    " WHERE user_id = $1::bigint AND metric_type = $2 AND period = $3 AND expires_at > now()"
    " AND generation = coalesce((SELECT generation FROM metric_generations WHERE user_id = $1::bigint), 0)";

/* Rows: [{"metric_type","period","metric_value","computation_time_ms","data_points_count"}]. A row
 * computed from an older generation never replaces a newer one. */
static const char PRECOMPUTE_STORE_PUT_SQL[] =
    "INSERT INTO pre_computed_metrics (user_id, metric_type, period, metric_value, computed_at, expires_at,"
    " computation_time_ms, data_points_count, generation)"
    " SELECT $1::bigint, x.metric_type, x.period, x.metric_value, $2::timestamptz,"
    " $2::timestamptz + make_interval(days => $3::int), x.computation_time_ms, x.data_points_count, $4::bigint"
    " FROM jsonb_to_recordset($5::jsonb) AS x(metric_type text, period text, metric_value jsonb,"
    " computation_time_ms float8, data_points_count int)"
    " ON CONFLICT ON CONSTRAINT pre_computed_metrics_lookup DO UPDATE SET metric_value = EXCLUDED.metric_value,"
    " computed_at = EXCLUDED.computed_at, expires_at = EXCLUDED.expires_at,"
    " computation_time_ms = EXCLUDED.computation_time_ms, data_points_count = EXCLUDED.data_points_count,"
    " generation = EXCLUDED.generation WHERE pre_computed_metrics.generation <= EXCLUDED.generation";

static enum err precompute_store_put(struct db *db, int64_t user_id, const char *computed_at, int64_t generation,
                             struct json_object *rows)
{
    char uid[24], gen[24], days[16];
    db_param_i64(uid, user_id);
    db_param_i64(gen, generation);
    snprintf(days, sizeof(days), "%d", PRECOMPUTE_STORE_TTL_DAYS);
    const char *params[5] = {uid, computed_at, days, gen, json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN)};
    return db_exec(db, 0, PRECOMPUTE_STORE_PUT_SQL, 5, params);
}

static struct json_object *precompute_store_row(enum precompute_type t, const char *period, struct json_object *value,
                                        double ms, long points)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "metric_type", json_object_new_string(precompute_type_name(t)));
    json_object_object_add(o, "period", json_object_new_string(period));
    json_object_object_add(o, "metric_value", value);
    json_object_object_add(o, "computation_time_ms", precompute_ratio(ms, 3));
    json_object_object_add(o, "data_points_count", json_object_new_int64(points));
    return o;
}

/* ---- read path ---------------------------------------------------------- */

static void precompute_count(struct precompute_shared *reads, enum precompute_source src)
{
    if (reads == NULL)
        return;
    shm_add(src == PRECOMPUTE_FROM_CACHE ? &reads->cache : src == PRECOMPUTE_FROM_STORE ? &reads->store
                                                                                        : &reads->computed,
            1);
}

enum err precompute_read(struct tally_ctx *ctx, int64_t user_id, enum precompute_type type, int year, int month,
                         char **body, size_t *body_len)
{
    struct db *db = ctx->db;
    struct cache *cache = ctx->cache;
    struct precompute_shared *reads = module_shm(ctx->shm, "precompute");
    int idx = precompute_month_index(year, month);
    char period[PRECOMPUTE_PERIOD_BYTES], key[PRECOMPUTE_KEY_BYTES];
    uint64_t token = 0, generation = 0;
    precompute_period_text(idx, period);
    *body = NULL;
    size_t klen = 0;
    char *tail = NULL;
    size_t tail_len = 0;
    enum err e = ERR_NONE;
    enum precompute_source src;

    /* 1. memcached */
    klen = precompute_cache_key(key, user_id, type, period);
    int cached = cachegen_trusted(db, cache, "metrics", user_id)
                     ? cachegen_lookup(cache, "metrics", user_id, key, klen, &token, &tail, &tail_len)
                     : -1;
    bool cache_ok = cached >= 0;
    if (cached == 1) {
        src = PRECOMPUTE_FROM_CACHE;
        goto answer;
    }

    /* 2. PostgreSQL row, valid and of the current generation */
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[3] = {uid, precompute_type_name(type), period};
    db_result *r = db_query(db, &e, DB_RETRY_ON_RECONNECT, PRECOMPUTE_STORE_GET_SQL, 3, params);
    if (r == NULL)
        return e;
    if (db_rows(r) > 0) {
        tail = precompute_tail(db_value(r, 0, 0), db_value(r, 0, 1), db_value(r, 0, 2), strtod(db_value(r, 0, 3), NULL),
                       (long)db_int64(r, 0, 4), &tail_len);
        generation = (uint64_t)db_int64(r, 0, 5);
        db_clear(r);
        if (tail == NULL)
            return ERR_INTERNAL;
        src = PRECOMPUTE_FROM_STORE;
        goto write_cache;
    }
    db_clear(r);

    /* 3. computation, written back to both layers */
    double started = clock_ms();
    struct precompute_snapshot s = {0};
    int first = precompute_window_first(type, idx);
    e = precompute_fetch_months(db, user_id, first, idx - first + 1, &s);
    if (e == ERR_NONE && type == PRECOMPUTE_CATEGORY_BREAKDOWN)
        e = precompute_fetch_cats(db, user_id, idx, 1, &s);
    if (e == ERR_NONE && !s.user_exists)
        e = ERR_NOT_FOUND;
    if (e != ERR_NONE) {
        db_clear(s.cats);
        return e;
    }
    long points = 0;
    struct json_object *value = precompute_value(&s, type, idx, &points);
    db_clear(s.cats);
    double ms = clock_ms() - started;
    time_t now = time(NULL);
    char computed_at[PRECOMPUTE_TS_BYTES], expires_at[PRECOMPUTE_TS_BYTES];
    precompute_now_text(now, computed_at);
    precompute_now_text(now + (time_t)PRECOMPUTE_STORE_TTL_DAYS * 86400, expires_at);
    tail = precompute_tail(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN), computed_at, expires_at, ms,
                   points, &tail_len);
    struct json_object *rows = json_object_new_array();
    json_object_array_add(rows, precompute_store_row(type, period, value, ms, points));
    if (precompute_store_put(db, user_id, computed_at, s.generation, rows) != ERR_NONE)
        log_warn("precompute: storing %s %s of user %" PRId64 " failed", precompute_type_name(type), period, user_id);
    json_object_put(rows);
    if (tail == NULL)
        return ERR_INTERNAL;
    src = PRECOMPUTE_COMPUTED;
    generation = (uint64_t)s.generation;

write_cache:
    if (cache_ok)
        cachegen_put(cache, "metrics", user_id, key, klen, generation, token, tail, tail_len,
                     PRECOMPUTE_CACHE_TTL_S);
answer:
    *body = precompute_answer(user_id, type, period, src, tail, tail_len, body_len);
    free(tail);
    if (*body == NULL)
        return ERR_INTERNAL;
    precompute_count(reads, src);
    return ERR_NONE;
}

/* ---- batch -------------------------------------------------------------- */

int precompute_user(struct db *db, struct cache *cache, int64_t user_id, int year, int month)
{
    int idx = precompute_month_index(year, month);
    double started = clock_ms();
    struct precompute_snapshot s = {0};
    /* previous month's trends reach back to idx - 6 */
    int first = idx - PRECOMPUTE_TREND_MONTHS;
    enum err e = precompute_fetch_months(db, user_id, first, PRECOMPUTE_TREND_MONTHS + 1, &s);
    if (e == ERR_NONE)
        e = precompute_fetch_cats(db, user_id, idx - 1, 2, &s);
    if (e == ERR_NONE && !s.user_exists)
        e = ERR_NOT_FOUND;
    if (e != ERR_NONE) {
        db_clear(s.cats);
        log_warn("precompute: user %" PRId64 ": fetching transactions failed (%s)", user_id, err_lookup(e)->code);
        return -1;
    }
    struct json_object *values[2][PRECOMPUTE_TYPES];
    long points[2][PRECOMPUTE_TYPES];
    for (int p = 0; p < 2; p++)
        for (int t = 0; t < PRECOMPUTE_TYPES; t++)
            values[p][t] = precompute_value(&s, (enum precompute_type)t, idx - 1 + p, &points[p][t]);
    db_clear(s.cats);
    double ms = (clock_ms() - started) / (2 * PRECOMPUTE_TYPES);   /* each metric's share of the work */
    time_t now = time(NULL);
    char computed_at[PRECOMPUTE_TS_BYTES], expires_at[PRECOMPUTE_TS_BYTES];
    precompute_now_text(now, computed_at);
    precompute_now_text(now + (time_t)PRECOMPUTE_STORE_TTL_DAYS * 86400, expires_at);
    bool cache_ok = cachegen_trusted(db, cache, "metrics", user_id);
    uint64_t token = 0;
    struct json_object *rows = json_object_new_array();
    for (int p = 0; p < 2; p++) {
        char period[PRECOMPUTE_PERIOD_BYTES];
        precompute_period_text(idx - 1 + p, period);
        for (int t = 0; t < PRECOMPUTE_TYPES; t++) {
            if (cache_ok) {
                size_t tail_len;
                char *tail = precompute_tail(json_object_to_json_string_ext(values[p][t], JSON_C_TO_STRING_PLAIN),
                                     computed_at, expires_at, ms, points[p][t], &tail_len);
                char key[PRECOMPUTE_KEY_BYTES];
                size_t klen = precompute_cache_key(key, user_id, (enum precompute_type)t, period);
                if (tail != NULL) {   /* the first put raises the token; UINT64_MAX: done */
                    cachegen_put(cache, "metrics", user_id, key, klen, (uint64_t)s.generation, token, tail,
                                 tail_len, PRECOMPUTE_CACHE_TTL_S);
                    token = UINT64_MAX;
                }
                free(tail);
            }
            json_object_array_add(rows, precompute_store_row((enum precompute_type)t, period, values[p][t], ms, points[p][t]));
        }
    }
    e = precompute_store_put(db, user_id, computed_at, s.generation, rows);
    json_object_put(rows);
    if (e != ERR_NONE) {
        log_warn("precompute: user %" PRId64 ": storing metrics failed (%s)", user_id, err_lookup(e)->code);
        return -1;
    }
    return 0;
}

static const char PRECOMPUTE_ACTIVE_SQL[] =
    "SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM transactions t WHERE t.user_id = u.id"
    " AND (t.date >= current_date - $1::int OR t.created_at >= now() - make_interval(days => $1::int)))"
    " OR EXISTS (SELECT 1 FROM user_profiles p WHERE p.user_id = u.id"
    " AND p.last_active >= now() - make_interval(days => $1::int)) ORDER BY u.id";

int precompute_all(struct db *db, struct cache *cache, int year, int month, precompute_progress_fn progress,
                   void *arg, long *done, long *failed)
{
    *done = 0;
    *failed = 0;
    char days[16];
    snprintf(days, sizeof(days), "%d", PRECOMPUTE_ACTIVE_DAYS);
    const char *params[1] = {days};
    enum err e;
    db_result *r = db_query(db, &e, DB_RETRY_ON_RECONNECT, PRECOMPUTE_ACTIVE_SQL, 1, params);
    if (r == NULL) {
        log_error("precompute: listing active users failed (%s)", err_lookup(e)->code);
        return -1;
    }
    long total = db_rows(r);
    for (long i = 0; i < total; i++) {
        if (precompute_user(db, cache, db_int64(r, (int)i, 0), year, month) != 0)
            (*failed)++;
        (*done)++;
        if (progress != NULL)
            progress(arg, *done, total, *failed);
    }
    db_clear(r);
    return *failed == 0 ? 0 : -1;
}

int precompute_cleanup(struct db *db, long *deleted)
{
    char days[16];
    snprintf(days, sizeof(days), "%d", PRECOMPUTE_CLEANUP_AFTER_DAYS);
    const char *params[1] = {days};
    enum err e;
    db_result *r = db_query(db, &e, 0,
                            "DELETE FROM pre_computed_metrics WHERE expires_at < now() - make_interval(days => $1::int)",
                            1, params);
    *deleted = 0;
    if (r == NULL) {
        log_error("precompute: cleanup failed (%s)", err_lookup(e)->code);
        return -1;
    }
    *deleted = db_affected(r);
    db_clear(r);
    return 0;
}

/* ---- the request's period, the read counters --------------------------- */

enum err precompute_request_period(struct request *req, int *year, int *month)
{
    const char *p = request_query(req, "period");
    if (p != NULL) {
        if (parse_period(p, strlen(p), year, month) != 0)
            return request_fail(req, ERR_BAD_REQUEST, "period", "period must be a month YYYY-MM");
        return ERR_NONE;
    }
    int d;
    return request_today(req, year, month, &d);
}

void precompute_read_counts(const struct tally_ctx *ctx, uint64_t *cache, uint64_t *store, uint64_t *computed)
{
    const struct precompute_shared *r = module_shm(ctx->shm, "precompute");
    *cache = r != NULL ? shm_load(&r->cache) : 0;
    *store = r != NULL ? shm_load(&r->store) : 0;
    *computed = r != NULL ? shm_load(&r->computed) : 0;
}
