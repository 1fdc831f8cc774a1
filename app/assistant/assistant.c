/* assistant: the chat endpoint. See assistant.h and docs/assistant.md.
 *
 * Flow: validate the body -> load the user's language, merchants and
 * categories (for entity matching) -> understand the message (period,
 * category, merchant, intent) -> run the searches for the intent -> build
 * KPI cards, one chart, insights and the text -> store both messages ->
 * answer. Understanding never fails: what it cannot place becomes
 * clarification.needed. Only a malformed request is a 4xx. */
#define _GNU_SOURCE
#include "assistant.h"
#include "../core/clock.h"
#include "../core/module.h"
#include "assistant_nlu.h"
#include "assistant_words.h"
#include "../modules/profiles.h"
#include "../modules/auth.h"
#include "../core/arena.h"
#include "../core/jsonx.h"
#include "../core/limits.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/text.h"
#include "../core/module.h"
#include "../store/db.h"
#include "../store/sqlbuf.h"
#include "../store/db_json.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ASSISTANT_MESSAGE_MAX_BYTES   4000
#define ASSISTANT_PIE_SLICES          5      /* + one Others slice */
#define ASSISTANT_TREND_MONTHS        6
#define ASSISTANT_ANOMALY_MIN_POINTS  8      /* history needed per category */
#define ASSISTANT_ANOMALY_MAX         10
#define ASSISTANT_TREND_MIN_MONTHS    3      /* months with data for a trend insight */
#define ASSISTANT_MERCHANTS_SHOWN     10     /* merchant names listed behind a merchant filter */

/* Everything one answer is built from. Strings live in the arena. */
struct chat {
    struct request *req;
    int64_t user_id;
    char currency[4];
    struct nlu_result nlu;
    const char *uid_text;
    bool spending_only;         /* "dépenses", "spent": debits only */
    /* KPIs over the filtered period. */
    int64_t count;
    __int128 total_cents;       /* a sum: exact at any row count */
    struct json_object *visualizations;
    struct json_object *insights;
    struct json_object *merchants_counted;   /* names behind a merchant filter */
    const struct nlu_vocab *vocab;
    char text[1024];
};

static bool assistant_fr(const struct chat *c)
{
    return strcmp(c->nlu.lang, "en") != 0;
}

/* "1 234,50 €" (fr) or "€1,234.50" style kept simple: "1234.50 EUR" (en). */
static void assistant_money_text(const struct chat *c, __int128 cents, char *out, size_t cap)
{
    char num[PARSE_WIDE_CENTS_BYTES];
    parse_format_cents_wide(cents, num);
    if (assistant_fr(c)) {
        char *dot = strchr(num, '.');
        if (dot)
            *dot = ',';
        snprintf(out, cap, "%s %s", num, strcmp(c->currency, "EUR") == 0 ? "€" : c->currency);
    } else {
        snprintf(out, cap, "%s %s", num, c->currency);
    }
}

/* ---- queries ----------------------------------------------------------- */

/* Appends the question's filter: user, period, then the category and
 * merchant keys when present, and debits only for a spending question. */
static void assistant_filter_sql(const struct chat *c, struct sqlbuf *b, bool with_entities)
{
    sqlbuf_add(b, "user_id = ");
    sqlbuf_text(b, c->uid_text);
    sqlbuf_add(b, " AND date BETWEEN ");
    sqlbuf_text(b, c->nlu.from);
    sqlbuf_add(b, "::date AND ");
    sqlbuf_text(b, c->nlu.to);
    sqlbuf_add(b, "::date");
    if (with_entities && c->nlu.category_key[0])
        sqlbuf_add_with(b, " AND category_key = ?", c->nlu.category_key);
    /* as ?merchant= does: every merchant whose name holds the words */
    if (with_entities && c->nlu.merchant_key[0])
        sqlbuf_add_with(b, " AND strpos(merchant_key, ?) > 0", c->nlu.merchant_key);
    if (c->spending_only)
        sqlbuf_add(b, " AND amount_cents < 0");
}

static enum err assistant_kpis(struct chat *c)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT count(*), coalesce(sum(amount_cents), 0) FROM transactions WHERE ");
    assistant_filter_sql(c, &b, true);
    enum err e;
    db_result *r = sqlbuf_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT, &b);
    if (r == NULL)
        return e;
    c->count = db_int64(r, 0, 0);
    c->total_cents = parse_wide(db_value(r, 0, 1));
    db_clear(r);
    return ERR_NONE;
}

static struct json_object *assistant_kpi_card(const char *title, struct json_object *value, const char *unit)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("kpi_card"));
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "value", value);
    if (unit != NULL)
        json_object_object_add(o, "unit", json_object_new_string(unit));
    return o;
}

static void assistant_add_kpi_cards(struct chat *c)
{
    bool fr = assistant_fr(c);
    json_object_array_add(c->visualizations, assistant_kpi_card("Total", jsonx_money_wide(c->total_cents), c->currency));
    json_object_array_add(c->visualizations,
                          assistant_kpi_card(fr ? "Nombre" : "Count", json_object_new_int64(c->count), NULL));
    json_object_array_add(c->visualizations,
                          assistant_kpi_card(fr ? "Moyenne" : "Average",
                                        jsonx_money_wide(parse_round_div_wide(c->total_cents, c->count)), c->currency));
}

/* A Chart.js config: {type, data: {labels, datasets: [{label, data}]}}. */
static struct json_object *assistant_chart(const char *viz_type, const char *chart_type, const char *title,
                                      struct json_object *labels, struct json_object *datasets)
{
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "labels", labels);
    json_object_object_add(data, "datasets", datasets);
    struct json_object *chart = json_object_new_object();
    json_object_object_add(chart, "type", json_object_new_string(chart_type));
    json_object_object_add(chart, "data", data);
    struct json_object *options = json_object_new_object();
    struct json_object *plugins = json_object_new_object();
    struct json_object *title_obj = json_object_new_object();
    json_object_object_add(title_obj, "display", json_object_new_boolean(1));
    json_object_object_add(title_obj, "text", json_object_new_string(title));
    json_object_object_add(plugins, "title", title_obj);
    json_object_object_add(options, "plugins", plugins);
    json_object_object_add(chart, "options", options);
    struct json_object *viz = json_object_new_object();
    json_object_object_add(viz, "type", json_object_new_string(viz_type));
    json_object_object_add(viz, "title", json_object_new_string(title));
    json_object_object_add(viz, "chart", chart);
    return viz;
}

static struct json_object *assistant_dataset(const char *label, struct json_object *values)
{
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "label", json_object_new_string(label));
    json_object_object_add(d, "data", values);
    return d;
}

/* Pie: spending by category over the period, top 5 + one Others slice.
 * Slices are positive and sum to the period's total spending. */
static enum err assistant_pie(struct chat *c)
{
    enum err e;
    const char *params4[4] = {c->uid_text, c->nlu.from, c->nlu.to, assistant_fr(c) ? "Non catégorisé" : "Uncategorized"};
    db_result *r = db_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                 "SELECT coalesce(min(category), $4), sum(-amount_cents) AS s FROM transactions"
                 " WHERE user_id = $1 AND date BETWEEN $2::date AND $3::date AND amount_cents < 0"
                 " GROUP BY category_key ORDER BY s DESC, 1",
                 4, params4);
    if (r == NULL)
        return e;
    int rows = db_rows(r);
    if (rows > 0) {
        struct json_object *labels = json_object_new_array();
        struct json_object *values = json_object_new_array();
        __int128 others = 0;
        for (int i = 0; i < rows; i++) {
            if (i < ASSISTANT_PIE_SLICES) {
                json_object_array_add(labels, json_object_new_string(db_value(r, i, 0)));
                json_object_array_add(values, jsonx_money_wide(parse_wide(db_value(r, i, 1))));
            } else {
                others += parse_wide(db_value(r, i, 1));
            }
        }
        if (rows > ASSISTANT_PIE_SLICES) {
            json_object_array_add(labels, json_object_new_string(assistant_fr(c) ? "Autres" : "Others"));
            json_object_array_add(values, jsonx_money_wide(others));
        }
        struct json_object *datasets = json_object_new_array();
        json_object_array_add(datasets, assistant_dataset(assistant_fr(c) ? "Dépenses" : "Spending", values));
        json_object_array_add(c->visualizations,
                              assistant_chart("pie_chart", "pie", assistant_fr(c) ? "Répartition par catégorie" : "Spending by category",
                                         labels, datasets));
    }
    db_clear(r);
    return ERR_NONE;
}

/* Monthly sums over the ASSISTANT_TREND_MONTHS months ending with the month
 * of `to`; optional merchant and category filters. Columns: month,
 * spending, income, count. */
static db_result *assistant_monthly(struct chat *c, const char *merchant_key, const char *category_key, enum err *e)
{
    const char *params[4] = {c->uid_text, c->nlu.to, merchant_key && merchant_key[0] ? merchant_key : NULL,
                             category_key && category_key[0] ? category_key : NULL};
    return db_query(c->req->ctx->db, e, DB_RETRY_ON_RECONNECT,
                    "SELECT to_char(m, 'YYYY-MM'),"
                    " coalesce(sum(-t.amount_cents) FILTER (WHERE t.amount_cents < 0), 0),"
                    " coalesce(sum(t.amount_cents) FILTER (WHERE t.amount_cents > 0), 0),"
                    " count(t.id)"
                    " FROM generate_series(date_trunc('month', $2::date) - interval '5 months',"
                    "                      date_trunc('month', $2::date), interval '1 month') AS m"
                    " LEFT JOIN transactions t ON t.user_id = $1 AND date_trunc('month', t.date) = m"
                    "   AND ($3::text IS NULL OR strpos(t.merchant_key, $3) > 0)"
                    "   AND ($4::text IS NULL OR t.category_key = $4)"
                    " GROUP BY m ORDER BY m",
                    4, params);
}

static enum err assistant_merchant_bar(struct chat *c)
{
    enum err e;
    db_result *r = assistant_monthly(c, c->nlu.merchant_key, NULL, &e);
    if (r == NULL)
        return e;
    struct json_object *labels = json_object_new_array();
    struct json_object *values = json_object_new_array();
    for (int i = 0; i < db_rows(r); i++) {
        json_object_array_add(labels, json_object_new_string(db_value(r, i, 0)));
        json_object_array_add(values, jsonx_money_wide(parse_wide(db_value(r, i, 1))));
    }
    db_clear(r);
    struct json_object *datasets = json_object_new_array();
    json_object_array_add(datasets, assistant_dataset(c->nlu.merchant, values));
    char title[160];
    snprintf(title, sizeof(title), assistant_fr(c) ? "Dépenses chez %s par mois" : "Spending at %s by month",
             c->nlu.merchant);
    json_object_array_add(c->visualizations, assistant_chart("bar_chart", "bar", title, labels, datasets));
    return ERR_NONE;
}

/* Least-squares slope of y over x = 0..n-1. */
static double assistant_slope(const double *y, int n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        sx += i;
        sy += y[i];
        sxx += (double)i * i;
        sxy += i * y[i];
    }
    double den = n * sxx - sx * sx;
    return den != 0 ? (n * sxy - sx * sy) / den : 0;
}

static struct json_object *assistant_insight(const char *type, const char *message)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "message", json_object_new_string(message));
    return o;
}

/* Line chart of monthly spending and income, and the trend insight: slope of
 * spending per month; "increasing"/"decreasing" when |slope| > 5 % of the
 * mean per month, else "stable"; needs ASSISTANT_TREND_MIN_MONTHS months
 * with transactions. */
static enum err assistant_trend(struct chat *c, bool add_chart)
{
    enum err e;
    db_result *r = assistant_monthly(c, c->nlu.merchant_key, c->nlu.category_key, &e);
    if (r == NULL)
        return e;
    int n = db_rows(r) < ASSISTANT_TREND_MONTHS ? db_rows(r) : ASSISTANT_TREND_MONTHS;
    double spending[ASSISTANT_TREND_MONTHS];
    int months_with_data = 0;
    struct json_object *labels = json_object_new_array();
    struct json_object *spend = json_object_new_array();
    struct json_object *income = json_object_new_array();
    for (int i = 0; i < n; i++) {
        spending[i] = (double)parse_wide(db_value(r, i, 1)) / 100.0;
        months_with_data += db_int64(r, i, 3) > 0;
        json_object_array_add(labels, json_object_new_string(db_value(r, i, 0)));
        json_object_array_add(spend, jsonx_money_wide(parse_wide(db_value(r, i, 1))));
        json_object_array_add(income, jsonx_money_wide(parse_wide(db_value(r, i, 2))));
    }
    db_clear(r);
    bool fr = assistant_fr(c);
    if (add_chart) {
        struct json_object *datasets = json_object_new_array();
        json_object_array_add(datasets, assistant_dataset(fr ? "Dépenses" : "Spending", spend));
        json_object_array_add(datasets, assistant_dataset(fr ? "Revenus" : "Income", income));
        json_object_array_add(c->visualizations,
                              assistant_chart("line_chart", "line", fr ? "Tendance sur 6 mois" : "6-month trend", labels, datasets));
    } else {
        json_object_put(labels);
        json_object_put(spend);
        json_object_put(income);
    }
    if (months_with_data < ASSISTANT_TREND_MIN_MONTHS)
        return ERR_NONE;
    double slope = assistant_slope(spending, n), mean = 0;
    for (int i = 0; i < n; i++)
        mean += spending[i] / n;
    const char *direction = mean > 0 && slope > 0.05 * mean ? "increasing"
                            : mean > 0 && slope < -0.05 * mean ? "decreasing" : "stable";
    char msg[256];
    if (fr)
        snprintf(msg, sizeof(msg), "Vos dépenses sont %s sur 6 mois (%+.2f € par mois en moyenne).",
                 strcmp(direction, "increasing") == 0 ? "en hausse" : strcmp(direction, "decreasing") == 0 ? "en baisse" : "stables",
                 slope);
    else
        snprintf(msg, sizeof(msg), "Your spending is %s over 6 months (%+.2f per month on average).", direction, slope);
    struct json_object *ins = assistant_insight("spending_trend", msg);
    json_object_object_add(ins, "direction", json_object_new_string(direction));
    char slope_text[32];
    snprintf(slope_text, sizeof(slope_text), "%.2f", slope);
    json_object_object_add(ins, "slope_per_month", json_object_new_double_s(slope, slope_text));
    json_object_array_add(c->insights, ins);
    return ERR_NONE;
}

/* Unusual transactions: spending in the period (and filter) larger than
 * median + 3.5 * max(1.4826 * MAD, 10 % of median, 1.00) of the same
 * category over the 6 months before the period, when that history has at
 * least ASSISTANT_ANOMALY_MIN_POINTS transactions. */
static enum err assistant_anomalies(struct chat *c, bool with_entities, int *found)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "WITH hist AS ("
                   "  SELECT category_key, -amount_cents AS v FROM transactions"
                   "  WHERE user_id = ");
    sqlbuf_text(&b, c->uid_text);
    sqlbuf_add(&b, " AND amount_cents < 0 AND category_key IS NOT NULL AND date >= ");
    int from = sqlbuf_text(&b, c->nlu.from);
    sqlbuf_add(&b, "::date - interval '6 months' AND date < ");
    sqlbuf_ref(&b, from);
    sqlbuf_add(&b, "::date),"
                   " med AS (SELECT category_key, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS med, count(*) AS n"
                   "  FROM hist GROUP BY category_key),"
                   " mad AS (SELECT h.category_key, percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(h.v - m.med)) AS mad"
                   "  FROM hist h JOIN med m USING (category_key) GROUP BY h.category_key)"
                   " SELECT t.id, t.date, -t.amount_cents, t.merchant, t.category, m.med, t.amount_cents"
                   " FROM (SELECT * FROM transactions WHERE ");
    assistant_filter_sql(c, &b, with_entities);
    sqlbuf_add(&b, ") t JOIN med m USING (category_key) JOIN mad d USING (category_key)"
                   " WHERE t.amount_cents < 0 AND m.n >= ");
    sqlbuf_add_int(&b, ASSISTANT_ANOMALY_MIN_POINTS);
    sqlbuf_add(&b, "   AND -t.amount_cents > m.med + 3.5 * greatest(1.4826 * d.mad, 0.1 * m.med, 100)"
                   " ORDER BY -t.amount_cents DESC, t.id LIMIT ");
    sqlbuf_add_int(&b, ASSISTANT_ANOMALY_MAX);
    enum err e;
    db_result *r = sqlbuf_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT, &b);
    if (r == NULL)
        return e;
    static const struct db_json_column insight_json[] = {
        {"transaction_id", 0, DB_JSON_INT64, NULL},
        {"amount", 6, DB_JSON_MONEY, NULL},
    };
    *found = db_rows(r);
    for (int i = 0; i < db_rows(r); i++) {
        char amount[64], usual[64], msg[400];
        assistant_money_text(c, db_int64(r, i, 2), amount, sizeof(amount));
        assistant_money_text(c, (int64_t)llround(atof(db_value(r, i, 5))), usual, sizeof(usual));
        snprintf(msg, sizeof(msg),
                 assistant_fr(c) ? "Dépense inhabituelle le %s : %s chez %s (%s), contre %s habituellement."
                            : "Unusual spending on %s: %s at %s (%s), against %s usually.",
                 db_value(r, i, 1), amount, db_is_null(r, i, 3) ? "?" : db_value(r, i, 3), db_value(r, i, 4), usual);
        struct json_object *ins = assistant_insight("unusual_transaction", msg);
        db_json_row_into(ins, r, i, insight_json, DB_JSON_COUNT(insight_json));
        json_object_array_add(c->insights, ins);
    }
    db_clear(r);
    return ERR_NONE;
}

/* Comparison with the period the NLU chose (nlu.against_*, compare_basis):
 * a bar chart of both totals and the per-category % change (categories
 * spent in both periods, at least 10.00 before), largest moves first; a
 * category or merchant named filters both periods. */
static enum err assistant_comparison(struct chat *c)
{
    const char *prev_from = c->nlu.against_from, *prev_to = c->nlu.against_to;
    const char *params[7] = {c->uid_text, prev_from, prev_to, c->nlu.from, c->nlu.to,
                             c->nlu.category_key[0] ? c->nlu.category_key : NULL,
                             c->nlu.merchant_key[0] ? c->nlu.merchant_key : NULL};
    enum err e;
    db_result *r = db_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT min(category),"
                            " coalesce(sum(-amount_cents) FILTER (WHERE date BETWEEN $2::date AND $3::date), 0) AS before,"
                            " coalesce(sum(-amount_cents) FILTER (WHERE date BETWEEN $4::date AND $5::date), 0) AS after"
                            " FROM transactions WHERE user_id = $1 AND amount_cents < 0 AND category_key IS NOT NULL"
                            " AND (date BETWEEN $2::date AND $3::date OR date BETWEEN $4::date AND $5::date)"
                            " AND ($6::text IS NULL OR category_key = $6)"
                            " AND ($7::text IS NULL OR strpos(merchant_key, $7) > 0)"
                            " GROUP BY category_key ORDER BY category_key",
                            7, params);
    if (r == NULL)
        return e;
    __int128 before_total = 0, after_total = 0;
    bool fr = assistant_fr(c);
    struct { const char *name; double pct; __int128 before, after; } moves[32];
    int nmoves = 0;
    for (int i = 0; i < db_rows(r); i++) {
        __int128 b = parse_wide(db_value(r, i, 1)), a = parse_wide(db_value(r, i, 2));
        before_total += b;
        after_total += a;
        if (b >= 1000 && a > 0 && nmoves < 32) {
            moves[nmoves].name = arena_strndup(c->req->arena, db_value(r, i, 0), strlen(db_value(r, i, 0)));
            moves[nmoves].pct = 100.0 * (double)(a - b) / (double)b;
            moves[nmoves].before = b;
            moves[nmoves].after = a;
            nmoves++;
        }
    }
    db_clear(r);
    struct json_object *labels = json_object_new_array();
    json_object_array_add(labels, json_object_new_string(arena_sprintf(c->req->arena, "%s → %s", prev_from, prev_to)));
    json_object_array_add(labels, json_object_new_string(arena_sprintf(c->req->arena, "%s → %s", c->nlu.from, c->nlu.to)));
    struct json_object *values = json_object_new_array();
    json_object_array_add(values, jsonx_money_wide(before_total));
    json_object_array_add(values, jsonx_money_wide(after_total));
    struct json_object *datasets = json_object_new_array();
    json_object_array_add(datasets, assistant_dataset(fr ? "Dépenses" : "Spending", values));
    json_object_array_add(c->visualizations,
                          assistant_chart("bar_chart", "bar", fr ? "Comparaison des périodes" : "Period comparison", labels, datasets));
    c->count = 0;
    c->total_cents = -after_total;
    /* Insertion sort by |pct| descending; at most 32 entries. */
    for (int i = 1; i < nmoves; i++)
        for (int j = i; j > 0 && fabs(moves[j].pct) > fabs(moves[j - 1].pct); j--) {
            __typeof__(moves[0]) t = moves[j];
            moves[j] = moves[j - 1];
            moves[j - 1] = t;
        }
    for (int i = 0; i < nmoves && i < 3; i++) {
        char msg[300];
        snprintf(msg, sizeof(msg), fr ? "%s : %+.1f %% par rapport à la période précédente."
                                      : "%s: %+.1f%% compared with the previous period.",
                 moves[i].name, moves[i].pct);
        struct json_object *ins = assistant_insight("category_change", msg);
        json_object_object_add(ins, "category", json_object_new_string(moves[i].name));
        char pct[32];
        snprintf(pct, sizeof(pct), "%.1f", moves[i].pct);
        json_object_object_add(ins, "change_pct", json_object_new_double_s(moves[i].pct, pct));
        json_object_array_add(c->insights, ins);
    }
    /* Say which periods are compared and why. */
    const char *basis = c->nlu.compare_basis;
    const char *why = strcmp(basis, "to_date") == 0
                          ? (fr ? "Période en cours jusqu'à aujourd'hui, contre les mêmes jours de la période précédente. "
                                : "The current period to date, against the same days of the previous one. ")
                      : strcmp(basis, "whole") == 0
                          ? (fr ? "La période en cours vient de commencer : comparaison des deux dernières périodes complètes. "
                                : "The current period has only just begun: comparing the last two whole periods. ")
                          : "";
    if (before_total > 0) {
        char a[64], b[64];
        assistant_money_text(c, after_total, a, sizeof(a));
        assistant_money_text(c, before_total, b, sizeof(b));
        double pct = 100.0 * (double)(after_total - before_total) / (double)before_total;
        snprintf(c->text, sizeof(c->text),
                 fr ? "%sDu %s au %s vous avez dépensé %s, contre %s du %s au %s (%+.1f %%)."
                    : "%sFrom %s to %s you spent %s, against %s from %s to %s (%+.1f%%).",
                 why, c->nlu.from, c->nlu.to, a, b, prev_from, prev_to, pct);
    } else {
        snprintf(c->text, sizeof(c->text),
                 fr ? "%sPas de dépenses du %s au %s : rien à comparer." : "%sNo spending from %s to %s: nothing to compare.",
                 why, prev_from, prev_to);
    }
    return ERR_NONE;
}

/* ---- the answer --------------------------------------------------------- */

/* The merchant names a merchant filter counted in the period (most
 * transactions first, ASSISTANT_MERCHANTS_SHOWN at most), into
 * c->merchants_counted and, joined, into names. */
static enum err assistant_merchants_counted(struct chat *c, char *names, size_t cap)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT min(merchant) FROM transactions WHERE ");
    assistant_filter_sql(c, &b, true);
    sqlbuf_add(&b, " AND merchant_key IS NOT NULL GROUP BY merchant_key ORDER BY count(*) DESC, 1 LIMIT ");
    sqlbuf_add_int(&b, ASSISTANT_MERCHANTS_SHOWN);
    enum err e;
    db_result *r = sqlbuf_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT, &b);
    if (r == NULL)
        return e;
    c->merchants_counted = json_object_new_array();
    size_t n = 0;
    names[0] = '\0';
    for (int i = 0; i < db_rows(r); i++) {
        json_object_array_add(c->merchants_counted, json_object_new_string(db_value(r, i, 0)));
        if (n < cap)
            n += (size_t)snprintf(names + n, cap - n, "%s%s", i ? ", " : "", db_value(r, i, 0));
    }
    if (n >= cap)
        names[words_utf8_cut(names, cap - 1)] = '\0';
    db_clear(r);
    return ERR_NONE;
}

static void assistant_search_text(struct chat *c, const char *counted)
{
    bool fr = assistant_fr(c);
    char what[600] = "";
    if (c->nlu.merchant[0] && counted[0] && strcmp(counted, c->nlu.merchant) != 0)
        snprintf(what, sizeof(what), fr ? " chez %s (%s)" : " at %s (%s)", c->nlu.merchant, counted);
    else if (c->nlu.merchant[0])
        snprintf(what, sizeof(what), fr ? " chez %s" : " at %s", c->nlu.merchant);
    else if (c->nlu.category[0])
        snprintf(what, sizeof(what), fr ? " en %s" : " on %s", c->nlu.category);
    if (c->count == 0) {
        snprintf(c->text, sizeof(c->text),
                 fr ? "Aucune transaction%s du %s au %s." : "No transactions%s from %s to %s.",
                 what, c->nlu.from, c->nlu.to);
        return;
    }
    if (c->nlu.merchant[0] && c->nlu.category[0])
        snprintf(what + strlen(what), sizeof(what) - strlen(what), fr ? ", en %s" : ", on %s", c->nlu.category);
    char total[64], avg[64];
    assistant_money_text(c, c->spending_only ? -c->total_cents : c->total_cents, total, sizeof(total));
    assistant_money_text(c, parse_round_div_wide(c->spending_only ? -c->total_cents : c->total_cents, c->count), avg,
                    sizeof(avg));
    if (c->spending_only)
        snprintf(c->text, sizeof(c->text),
                 fr ? "Du %s au %s, vous avez dépensé %s%s en %" PRId64 " transaction%s (moyenne %s)."
                    : "From %s to %s you spent %s%s in %" PRId64 " transaction%s (average %s).",
                 c->nlu.from, c->nlu.to, total, what, c->count, c->count > 1 ? "s" : "", avg);
    else
        snprintf(c->text, sizeof(c->text),
                 fr ? "Du %s au %s : %" PRId64 " transaction%s%s, solde %s (moyenne %s)."
                    : "From %s to %s: %" PRId64 " transaction%s%s, net %s (average %s).",
                 c->nlu.from, c->nlu.to, c->count, c->count > 1 ? "s" : "", what, total, avg);
}

static void assistant_clarify(struct chat *c)
{
    bool fr = assistant_fr(c);
    snprintf(c->text, sizeof(c->text), "%s",
             fr ? "Je n'ai pas compris votre question. Essayez par exemple : « Mes dépenses du mois dernier », "
                  "« Combien j'ai dépensé chez Carrefour ce mois-ci ? », « Répartition de mes dépenses par catégorie »."
                : "I did not understand your question. Try for example: \"My spending last month\", "
                  "\"How much did I spend at Netflix this month?\", \"Breakdown of my spending by category\".");
}

static enum err assistant_answer(struct chat *c)
{
    const char *intent = c->nlu.intent;
    int found = 0;
    enum err e = ERR_NONE;
    bool fr = assistant_fr(c);
    if (strcmp(intent, "clarification.needed") == 0) {
        assistant_clarify(c);
        return ERR_NONE;
    }
    if (c->nlu.period_unrecognised) {
        /* never answer for another period than the one asked */
        snprintf(c->text, sizeof(c->text), "%s",
                 fr ? "Je n'ai pas su lire la période de votre question. Précisez-la, par exemple : « en octobre », "
                      "« du 3 au 9 août », « le trimestre dernier », « depuis le 2 mars »."
                    : "I could not read the period in your question. Please say it another way, for example: "
                      "\"in October\", \"from August 3 to 9\", \"last quarter\", \"since March 2\".");
        return ERR_NONE;
    }
    if (c->nlu.unknown_category[0] && !c->nlu.category[0]) {
        size_t n = (size_t)snprintf(c->text, sizeof(c->text),
                                    fr ? "Je ne connais pas de catégorie « %s » dans vos transactions. Vos catégories :"
                                       : "I know no category \"%s\" in your transactions. Your categories:",
                                    c->nlu.unknown_category);
        for (size_t i = 0; i < c->vocab->category_count && i < 12 && n < sizeof(c->text); i++)
            n += (size_t)snprintf(c->text + n, sizeof(c->text) - n, "%s %s", i ? "," : "", c->vocab->category_names[i]);
        if (n < sizeof(c->text))
            snprintf(c->text + n, sizeof(c->text) - n, "%s", c->vocab->category_count ? "." : (fr ? " aucune." : " none."));
        else
            c->text[words_utf8_cut(c->text, sizeof(c->text) - 1)] = '\0';
        assistant_add_kpi_cards(c);
        return ERR_NONE;
    }
    if (c->nlu.period_invalid) {
        snprintf(c->text, sizeof(c->text), "%s",
                 fr ? "Cette date n'existe pas dans le calendrier : aucune transaction."
                    : "That date does not exist in the calendar: no transactions.");
        assistant_add_kpi_cards(c);
        return ERR_NONE;
    }
    if (c->nlu.merchant_phrase[0] && !c->nlu.merchant[0] && strncmp(intent, "transaction_search", 18) == 0) {
        snprintf(c->text, sizeof(c->text),
                 fr ? "Je ne trouve aucun marchand « %s » dans vos transactions."
                    : "I cannot find any merchant \"%s\" in your transactions.",
                 c->nlu.merchant_phrase);
        assistant_add_kpi_cards(c);
        return ERR_NONE;
    }
    if (strncmp(intent, "transaction_search", 18) == 0) {
        if ((e = assistant_kpis(c)))
            return e;
        char counted[400] = "";
        if (c->nlu.merchant_key[0] && (e = assistant_merchants_counted(c, counted, sizeof(counted))))
            return e;
        assistant_add_kpi_cards(c);
        assistant_search_text(c, counted);
        if (strcmp(intent, "transaction_search.by_category") == 0)
            e = assistant_pie(c);
        else if (strcmp(intent, "transaction_search.by_merchant") == 0)
            e = assistant_merchant_bar(c);
        if (e == ERR_NONE && c->count > 0)
            e = assistant_anomalies(c, true, &found);
        return e;
    }
    if (strcmp(intent, "analytics.trends") == 0) {
        e = assistant_trend(c, true);
        if (e == ERR_NONE && json_object_array_length(c->insights) == 0)
            snprintf(c->text, sizeof(c->text), "%s",
                     fr ? "Pas assez de mois avec des transactions pour dégager une tendance."
                        : "Not enough months with transactions to show a trend.");
        else if (e == ERR_NONE)
            snprintf(c->text, sizeof(c->text), "%s",
                     json_object_get_string(json_object_object_get(json_object_array_get_idx(c->insights, 0), "message")));
        return e;
    }
    if (strcmp(intent, "analytics.comparison") == 0)
        return assistant_comparison(c);
    /* analytics.anomalies (within the merchant or category named, if any) */
    if ((e = assistant_anomalies(c, c->nlu.merchant_key[0] || c->nlu.category_key[0], &found)))
        return e;
    if (found == 0)
        snprintf(c->text, sizeof(c->text),
                 fr ? "Aucune dépense inhabituelle du %s au %s." : "No unusual spending from %s to %s.",
                 c->nlu.from, c->nlu.to);
    else
        snprintf(c->text, sizeof(c->text),
                 fr ? "%d dépense%s inhabituelle%s du %s au %s." : "%d unusual transaction%s%s from %s to %s.",
                 found, found > 1 ? "s" : "", fr && found > 1 ? "s" : "", c->nlu.from, c->nlu.to);
    return ERR_NONE;
}

/* ---- request, vocabulary, storage --------------------------------------- */

/* The user's merchants and categories (most used first) for matching, and
 * the user's currency and language. */
static enum err assistant_vocabulary(struct chat *c, struct nlu_vocab *v, char language[3])
{
    enum err e;
    const char *params[1] = {c->uid_text};
    db_result *r = db_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT 'u', currency, language, 0 FROM users WHERE id = $1"
                            " UNION ALL (SELECT 'm', merchant_key, min(merchant), count(*) FROM transactions"
                            "  WHERE user_id = $1 AND merchant_key IS NOT NULL GROUP BY merchant_key"
                            "  ORDER BY count(*) DESC LIMIT 300)"
                            " UNION ALL (SELECT 'c', category_key, min(category), count(*) FROM transactions"
                            "  WHERE user_id = $1 AND category_key IS NOT NULL GROUP BY category_key"
                            "  ORDER BY count(*) DESC LIMIT 100)",
                            1, params);
    if (r == NULL)
        return e;
    int rows = db_rows(r);
    if (rows == 0 || db_value(r, 0, 0)[0] != 'u') {
        db_clear(r);
        return request_fail(c->req, ERR_NOT_FOUND, "user_id", "user %" PRId64 " not found", c->user_id);
    }
    snprintf(c->currency, sizeof(c->currency), "%s", db_value(r, 0, 1));
    snprintf(language, 3, "%s", db_value(r, 0, 2));
    struct arena *a = c->req->arena;
    v->merchant_keys = arena_alloc(a, sizeof(char *) * (size_t)rows);
    v->merchant_names = arena_alloc(a, sizeof(char *) * (size_t)rows);
    v->category_keys = arena_alloc(a, sizeof(char *) * (size_t)rows);
    v->category_names = arena_alloc(a, sizeof(char *) * (size_t)rows);
    v->merchant_count = v->category_count = 0;
    if (!v->merchant_keys || !v->merchant_names || !v->category_keys || !v->category_names) {
        db_clear(r);
        return request_fail(c->req, ERR_INTERNAL, NULL, "out of memory");
    }
    for (int i = 1; i < rows; i++) {
        const char *key = arena_strndup(a, db_value(r, i, 1), strlen(db_value(r, i, 1)));
        const char *name = arena_strndup(a, db_value(r, i, 2), strlen(db_value(r, i, 2)));
        if (db_value(r, i, 0)[0] == 'm') {
            v->merchant_keys[v->merchant_count] = key;
            v->merchant_names[v->merchant_count++] = name;
        } else {
            v->category_keys[v->category_count] = key;
            v->category_names[v->category_count++] = name;
        }
    }
    db_clear(r);
    return ERR_NONE;
}

static void assistant_new_conversation_id(char out[40])
{
    unsigned char raw[12];
    arc4random_buf(raw, sizeof(raw));
    out[0] = 'c';
    out[1] = '-';
    text_hex(raw, sizeof(raw), out + 2);
}

static void assistant_copy_entity(struct json_object *ent, const char *name, char *out, size_t cap)
{
    struct json_object *v = json_object_object_get(ent, name);
    if (v != NULL && json_object_is_type(v, json_type_string))
        snprintf(out, cap, "%s", json_object_get_string(v));
}

/* The stored entities of a previous question back into an nlu_result. */
static bool assistant_previous_from(const char *intent, const char *entities_json, struct nlu_result *prev)
{
    memset(prev, 0, sizeof(*prev));
    prev->intent = nlu_intent_name(intent);
    struct json_object *ent = json_tokener_parse(entities_json);
    if (prev->intent == NULL || ent == NULL) {
        json_object_put(ent);
        return false;
    }
    struct json_object *period = json_object_object_get(ent, "period");
    if (period != NULL) {
        assistant_copy_entity(period, "from", prev->from, sizeof(prev->from));
        assistant_copy_entity(period, "to", prev->to, sizeof(prev->to));
        assistant_copy_entity(period, "label", prev->period_label, sizeof(prev->period_label));
        prev->period_found = json_object_get_boolean(json_object_object_get(period, "explicit"));
        prev->period_unrecognised = !json_object_get_boolean(json_object_object_get(period, "recognised")) &&
                                    json_object_object_get(period, "recognised") != NULL;
        prev->period_invalid = strcmp(prev->period_label, "invalid_date") == 0;
    }
    assistant_copy_entity(ent, "category", prev->category, sizeof(prev->category));
    assistant_copy_entity(ent, "merchant", prev->merchant, sizeof(prev->merchant));
    assistant_copy_entity(ent, "unknown_merchant", prev->merchant_phrase, sizeof(prev->merchant_phrase));
    assistant_copy_entity(ent, "unknown_category", prev->unknown_category, sizeof(prev->unknown_category));
    text_fold(prev->category, strlen(prev->category), prev->category_key, sizeof(prev->category_key));
    text_fold(prev->merchant, strlen(prev->merchant), prev->merchant_key, sizeof(prev->merchant_key));
    struct json_object *scope = json_object_object_get(ent, "scope");
    prev->spending_only = scope == NULL || strcmp(json_object_get_string(scope), "all") != 0;
    prev->confidence = 0.5;
    json_object_put(ent);
    return true;
}

/* A given conversation id must exist and belong to the user; its last
 * understood question (if any) goes to *prev for follow-ups. */
static enum err assistant_check_conversation(struct chat *c, const char *id, struct nlu_result *prev, bool *have_prev)
{
    const char *params[2] = {id, c->uid_text};
    enum err e;
    db_result *r = db_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT m.intent, m.entities::text FROM conversations c"
                            " LEFT JOIN LATERAL (SELECT intent, entities FROM conversation_messages"
                            "  WHERE conversation_id = c.id AND role = 'user' AND intent IS NOT NULL"
                            "  AND intent <> 'clarification.needed' AND entities IS NOT NULL"
                            "  ORDER BY id DESC LIMIT 1) m ON true"
                            " WHERE c.id = $1 AND c.user_id = $2",
                            2, params);
    if (r == NULL)
        return e;
    int rows = db_rows(r);
    *have_prev = rows > 0 && !db_is_null(r, 0, 0) && assistant_previous_from(db_value(r, 0, 0), db_value(r, 0, 1), prev);
    db_clear(r);
    if (rows == 0)
        return request_fail(c->req, ERR_NOT_FOUND, "conversation_id", "conversation %s not found for this user", id);
    return ERR_NONE;
}

static enum err assistant_store(struct chat *c, const char *conversation_id, const char *message,
                           struct json_object *entities, double ms)
{
    char ms_text[32];
    snprintf(ms_text, sizeof(ms_text), "%.3f", ms);
    const char *params[7] = {conversation_id, c->uid_text, message, c->nlu.intent,
                             json_object_to_json_string_ext(entities, JSON_C_TO_STRING_PLAIN), c->text, ms_text};
    return db_exec(c->req->ctx->db, 0,
                   "WITH conv AS (INSERT INTO conversations (id, user_id) VALUES ($1, $2::bigint)"
                   "  ON CONFLICT (id) DO UPDATE SET updated_at = now() RETURNING id)"
                   " INSERT INTO conversation_messages (conversation_id, role, content, intent, entities,"
                   "  processing_time_ms)"
                   " SELECT conv.id, v.role, v.content, v.intent, v.entities::jsonb, v.ms FROM conv,"
                   " (VALUES (1, 'user', $3, $4, $5, NULL::double precision),"
                   "         (2, 'assistant', $6, NULL, NULL, $7::double precision))"
                   "   AS v(n, role, content, intent, entities, ms) ORDER BY v.n",
                   7, params);
}

static struct json_object *assistant_entities_json(const struct chat *c)
{
    struct json_object *ent = json_object_new_object();
    struct json_object *period = NULL;
    if (c->nlu.from[0] || c->nlu.period_invalid || c->nlu.period_unrecognised) {
        period = json_object_new_object();
        json_object_object_add(period, "from", c->nlu.from[0] ? json_object_new_string(c->nlu.from) : NULL);
        json_object_object_add(period, "to", c->nlu.to[0] ? json_object_new_string(c->nlu.to) : NULL);
        json_object_object_add(period, "label", json_object_new_string(c->nlu.period_label));
        json_object_object_add(period, "explicit", json_object_new_boolean(c->nlu.period_found || c->nlu.period_invalid ||
                                                                          c->nlu.period_unrecognised));
        json_object_object_add(period, "recognised", json_object_new_boolean(!c->nlu.period_unrecognised));
    }
    json_object_object_add(ent, "period", period);
    json_object_object_add(ent, "merchant", c->nlu.merchant[0] ? json_object_new_string(c->nlu.merchant) : NULL);
    json_object_object_add(ent, "category", c->nlu.category[0] ? json_object_new_string(c->nlu.category) : NULL);
    if (c->nlu.merchant_phrase[0] && !c->nlu.merchant[0])
        json_object_object_add(ent, "unknown_merchant", json_object_new_string(c->nlu.merchant_phrase));
    if (c->nlu.unknown_category[0] && !c->nlu.category[0])
        json_object_object_add(ent, "unknown_category", json_object_new_string(c->nlu.unknown_category));
    if (c->merchants_counted != NULL)
        json_object_object_add(ent, "merchants_counted", json_object_get(c->merchants_counted));
    if (c->nlu.against_from[0] && strcmp(c->nlu.intent, "analytics.comparison") == 0) {
        struct json_object *cmp = json_object_new_object();
        json_object_object_add(cmp, "from", json_object_new_string(c->nlu.against_from));
        json_object_object_add(cmp, "to", json_object_new_string(c->nlu.against_to));
        json_object_object_add(cmp, "basis", json_object_new_string(c->nlu.compare_basis));
        json_object_object_add(ent, "compared_with", cmp);
    }
    json_object_object_add(ent, "scope", json_object_new_string(c->nlu.spending_only ? "spending" : "all"));
    json_object_object_add(ent, "follow_up", json_object_new_boolean(c->nlu.followup));
    return ent;
}

static enum err assistant_parse_body(struct request *req, struct json_object *body, int64_t *user_id,
                                const char **message, const char **conversation_id)
{
    if (!json_object_is_type(body, json_type_object))
        return request_fail(req, ERR_BAD_REQUEST, "body", "expected a JSON object");
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(body, "user_id", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) < 1)
        return request_fail(req, ERR_UNPROCESSABLE, "user_id", "user_id is required (a positive integer)");
    *user_id = json_object_get_int64(v);
    bool wrong;
    *message = jsonx_get_string(body, "message", &wrong);
    if (*message == NULL)
        return request_fail(req, ERR_UNPROCESSABLE, "message", "message is required (a string)");
    size_t len = strlen(*message);
    if (len > ASSISTANT_MESSAGE_MAX_BYTES)
        return request_fail(req, ERR_UNPROCESSABLE, "message", "message is longer than %d bytes",
                            ASSISTANT_MESSAGE_MAX_BYTES);
    if (!text_is_utf8(*message, len))
        return request_fail(req, ERR_UNPROCESSABLE, "message", "message is not valid UTF-8");
    *conversation_id = jsonx_get_string(body, "conversation_id", &wrong);
    if (wrong || (*conversation_id != NULL && (strlen(*conversation_id) == 0 || strlen(*conversation_id) > 64)))
        return request_fail(req, ERR_UNPROCESSABLE, "conversation_id", "conversation_id must be a string of 1 to 64 bytes");
    return ERR_NONE;
}

static int assistant_chat(struct request *req, struct response *res)
{
    uint64_t started = clock_us();
    enum err e = request_require_content_type(req, "application/json");
    struct json_object *body = NULL;
    if (e == ERR_NONE)
        e = jsonx_parse_body(req, &body);
    if (e != ERR_NONE)
        return e;
    struct chat c;
    memset(&c, 0, sizeof(c));
    c.req = req;
    const char *message = NULL, *conversation_id = NULL;
    char new_id[40];
    struct nlu_vocab vocab;
    char language[3];
    int y, m, d;
    int rc = assistant_parse_body(req, body, &c.user_id, &message, &conversation_id);
    if (rc == ERR_NONE)
        rc = auth_require_user(req, c.user_id);
    if (rc == ERR_NONE)
        rc = request_today(req, &y, &m, &d);
    if (rc != ERR_NONE)
        goto out;
    c.uid_text = arena_sprintf(req->arena, "%" PRId64, c.user_id);
    if ((rc = assistant_vocabulary(&c, &vocab, language)))
        goto out;
    struct nlu_result prev;
    bool have_prev = false;
    if (conversation_id != NULL && (rc = assistant_check_conversation(&c, conversation_id, &prev, &have_prev)))
        goto out;
    if (conversation_id == NULL) {
        assistant_new_conversation_id(new_id);
        conversation_id = new_id;
    }
    c.vocab = &vocab;
    nlu_understand(message, strlen(message), y, m, d, &vocab, language, have_prev ? &prev : NULL, &c.nlu);
    c.spending_only = c.nlu.spending_only;
    c.visualizations = json_object_new_array();
    c.insights = json_object_new_array();
    if ((rc = assistant_answer(&c)))
        goto out_json;
    double ms = (double)(clock_us() - started) / 1000.0;
    struct json_object *entities = assistant_entities_json(&c);
    if ((rc = assistant_store(&c, conversation_id, message, entities, ms))) {
        json_object_put(entities);
        goto out_json;
    }
    profiles_record_query(req->ctx, c.user_id, c.nlu.intent);   /* best effort: logged on failure */
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "conversation_id", json_object_new_string(conversation_id));
    struct json_object *intent = json_object_new_object();
    const char *dot = strchr(c.nlu.intent, '.');
    json_object_object_add(intent, "group", json_object_new_string_len(c.nlu.intent, (int)(dot - c.nlu.intent)));
    json_object_object_add(intent, "subtype", json_object_new_string(dot + 1));
    char conf[16];
    snprintf(conf, sizeof(conf), "%.2f", c.nlu.confidence);
    json_object_object_add(intent, "confidence", json_object_new_double_s(c.nlu.confidence, conf));
    json_object_object_add(intent, "name", json_object_new_string(c.nlu.intent));
    json_object_object_add(o, "intent", intent);
    json_object_object_add(o, "entities", entities);
    json_object_object_add(o, "language", json_object_new_string(c.nlu.lang));
    json_object_object_add(o, "response_text", json_object_new_string(c.text));
    json_object_object_add(o, "insights", c.insights);
    json_object_object_add(o, "data_visualizations", c.visualizations);
    c.insights = c.visualizations = NULL;
    ms = (double)(clock_us() - started) / 1000.0;
    char ms_text[32];
    snprintf(ms_text, sizeof(ms_text), "%.3f", ms);
    json_object_object_add(o, "processing_time_ms", json_object_new_double_s(ms, ms_text));
    rc = response_json(res, 200, o);
out_json:
    json_object_put(c.insights);
    json_object_put(c.visualizations);
    json_object_put(c.merchants_counted);
out:
    json_object_put(body);
    return rc;
}

static const struct route assistant_routes[] = {
    {"POST", "/api/v1/conversation/chat", assistant_chat, ROUTE_USER},
};

const struct tally_module assistant_module = {
    .name = "assistant",
    .routes = assistant_routes,
    .route_count = sizeof(assistant_routes) / sizeof(assistant_routes[0]),
};
