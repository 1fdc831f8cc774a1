/* assistant_answer: see assistant_answer.h. Every search is one statement
 * with the question's filter (answer_filter_sql); sums are numeric in
 * PostgreSQL and __int128 here, so totals are exact at any row count. */
#define _GNU_SOURCE
#include "assistant_answer.h"
#include "assistant_words.h"
#include "../core/arena.h"
#include "../core/jsonx.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../store/db.h"
#include "../store/db_json.h"
#include "../store/sqlbuf.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_PIE_SLICES          5      /* + one Others slice */
#define ANSWER_TREND_MONTHS        6
#define ANSWER_ANOMALY_MIN_POINTS  8      /* history needed per category */
#define ANSWER_ANOMALY_MAX         10
#define ANSWER_TREND_MIN_MONTHS    3      /* months with data for a trend insight */
#define ANSWER_MERCHANTS_SHOWN     10     /* merchant names listed behind a merchant filter */

static bool answer_fr(const struct answer *c)
{
    return strcmp(c->nlu.lang, "en") != 0;
}

/* "1 234,50 €" (fr) or "€1,234.50" style kept simple: "1234.50 EUR" (en). */
static void answer_money_text(const struct answer *c, __int128 cents, char *out, size_t cap)
{
    char num[PARSE_WIDE_CENTS_BYTES];
    parse_format_cents_wide(cents, num);
    if (answer_fr(c)) {
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
static void answer_filter_sql(const struct answer *c, struct sqlbuf *b, bool with_entities)
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

static enum err answer_kpis(struct answer *c)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT count(*), coalesce(sum(amount_cents), 0) FROM transactions WHERE ");
    answer_filter_sql(c, &b, true);
    enum err e;
    db_result *r = sqlbuf_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT, &b);
    if (r == NULL)
        return e;
    c->count = db_int64(r, 0, 0);
    c->total_cents = parse_wide(db_value(r, 0, 1));
    db_clear(r);
    return ERR_NONE;
}

static struct json_object *answer_kpi_card(const char *title, struct json_object *value, const char *unit)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("kpi_card"));
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "value", value);
    if (unit != NULL)
        json_object_object_add(o, "unit", json_object_new_string(unit));
    return o;
}

static void answer_add_kpi_cards(struct answer *c)
{
    bool fr = answer_fr(c);
    json_object_array_add(c->visualizations, answer_kpi_card("Total", jsonx_money_wide(c->total_cents), c->currency));
    json_object_array_add(c->visualizations,
                          answer_kpi_card(fr ? "Nombre" : "Count", json_object_new_int64(c->count), NULL));
    json_object_array_add(c->visualizations,
                          answer_kpi_card(fr ? "Moyenne" : "Average",
                                          jsonx_money_wide(parse_round_div_wide(c->total_cents, c->count)), c->currency));
}

/* A Chart.js config: {type, data: {labels, datasets: [{label, data}]}}. */
static struct json_object *answer_chart(const char *viz_type, const char *chart_type, const char *title,
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

static struct json_object *answer_dataset(const char *label, struct json_object *values)
{
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "label", json_object_new_string(label));
    json_object_object_add(d, "data", values);
    return d;
}

/* Pie: spending by category over the period, top 5 + one Others slice.
 * Slices are positive and sum to the period's total spending. */
static enum err answer_pie(struct answer *c)
{
    enum err e;
    const char *params4[4] = {c->uid_text, c->nlu.from, c->nlu.to, answer_fr(c) ? "Non catégorisé" : "Uncategorized"};
    db_result *r = db_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                 "SELECT coalesce(min(category), $4), sum(-amount_cents) AS s FROM transactions"
                 " WHERE user_id = $1 AND date BETWEEN $2::date AND $3::date AND amount_cents < 0"
                 " GROUP BY category_key ORDER BY s DESC, 1",
                 4, params4);
    if (r == NULL)
        return e;
    int rows = db_rows(r);
    if (rows > 0) {
        struct json_object *labels = db_json_values(r, 0, DB_JSON_TEXT, 0, ANSWER_PIE_SLICES);
        struct json_object *values = db_json_values(r, 1, DB_JSON_MONEY_SUM, 0, ANSWER_PIE_SLICES);
        __int128 others = 0;
        for (int i = ANSWER_PIE_SLICES; i < rows; i++)
            others += parse_wide(db_value(r, i, 1));
        if (rows > ANSWER_PIE_SLICES) {
            json_object_array_add(labels, json_object_new_string(answer_fr(c) ? "Autres" : "Others"));
            json_object_array_add(values, jsonx_money_wide(others));
        }
        struct json_object *datasets = json_object_new_array();
        json_object_array_add(datasets, answer_dataset(answer_fr(c) ? "Dépenses" : "Spending", values));
        json_object_array_add(c->visualizations,
                              answer_chart("pie_chart", "pie", answer_fr(c) ? "Répartition par catégorie" : "Spending by category",
                                           labels, datasets));
    }
    db_clear(r);
    return ERR_NONE;
}

/* Monthly sums over the ANSWER_TREND_MONTHS months ending with the month
 * of `to`; optional merchant and category filters. Columns: month,
 * spending, income, count. */
static db_result *answer_monthly(struct answer *c, const char *merchant_key, const char *category_key, enum err *e)
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

static enum err answer_merchant_bar(struct answer *c)
{
    enum err e;
    db_result *r = answer_monthly(c, c->nlu.merchant_key, NULL, &e);
    if (r == NULL)
        return e;
    struct json_object *labels = db_json_values(r, 0, DB_JSON_TEXT, 0, db_rows(r));
    struct json_object *values = db_json_values(r, 1, DB_JSON_MONEY_SUM, 0, db_rows(r));
    db_clear(r);
    struct json_object *datasets = json_object_new_array();
    json_object_array_add(datasets, answer_dataset(c->nlu.merchant, values));
    char title[160];
    snprintf(title, sizeof(title), answer_fr(c) ? "Dépenses chez %s par mois" : "Spending at %s by month",
             c->nlu.merchant);
    json_object_array_add(c->visualizations, answer_chart("bar_chart", "bar", title, labels, datasets));
    return ERR_NONE;
}

/* Least-squares slope of y over x = 0..n-1. */
static double answer_slope(const double *y, int n)
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

static struct json_object *answer_insight(const char *type, const char *message)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "message", json_object_new_string(message));
    return o;
}

/* Line chart of monthly spending and income, and the trend insight: slope of
 * spending per month; "increasing"/"decreasing" when |slope| > 5 % of the
 * mean per month, else "stable"; needs ANSWER_TREND_MIN_MONTHS months
 * with transactions. */
static enum err answer_trend(struct answer *c, bool add_chart)
{
    enum err e;
    db_result *r = answer_monthly(c, c->nlu.merchant_key, c->nlu.category_key, &e);
    if (r == NULL)
        return e;
    int n = db_rows(r) < ANSWER_TREND_MONTHS ? db_rows(r) : ANSWER_TREND_MONTHS;
    double spending[ANSWER_TREND_MONTHS];
    int months_with_data = 0;
    struct json_object *labels = db_json_values(r, 0, DB_JSON_TEXT, 0, n);
    struct json_object *spend = db_json_values(r, 1, DB_JSON_MONEY_SUM, 0, n);
    struct json_object *income = db_json_values(r, 2, DB_JSON_MONEY_SUM, 0, n);
    for (int i = 0; i < n; i++) {
        spending[i] = (double)parse_wide(db_value(r, i, 1)) / 100.0;
        months_with_data += db_int64(r, i, 3) > 0;
    }
    db_clear(r);
    bool fr = answer_fr(c);
    if (add_chart) {
        struct json_object *datasets = json_object_new_array();
        json_object_array_add(datasets, answer_dataset(fr ? "Dépenses" : "Spending", spend));
        json_object_array_add(datasets, answer_dataset(fr ? "Revenus" : "Income", income));
        json_object_array_add(c->visualizations,
                              answer_chart("line_chart", "line", fr ? "Tendance sur 6 mois" : "6-month trend", labels, datasets));
    } else {
        json_object_put(labels);
        json_object_put(spend);
        json_object_put(income);
    }
    if (months_with_data < ANSWER_TREND_MIN_MONTHS)
        return ERR_NONE;
    double slope = answer_slope(spending, n), mean = 0;
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
    struct json_object *ins = answer_insight("spending_trend", msg);
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
 * least ANSWER_ANOMALY_MIN_POINTS transactions. */
static enum err answer_anomalies(struct answer *c, bool with_entities, int *found)
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
    answer_filter_sql(c, &b, with_entities);
    sqlbuf_add(&b, ") t JOIN med m USING (category_key) JOIN mad d USING (category_key)"
                   " WHERE t.amount_cents < 0 AND m.n >= ");
    sqlbuf_add_int(&b, ANSWER_ANOMALY_MIN_POINTS);
    sqlbuf_add(&b, "   AND -t.amount_cents > m.med + 3.5 * greatest(1.4826 * d.mad, 0.1 * m.med, 100)"
                   " ORDER BY -t.amount_cents DESC, t.id LIMIT ");
    sqlbuf_add_int(&b, ANSWER_ANOMALY_MAX);
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
        answer_money_text(c, db_int64(r, i, 2), amount, sizeof(amount));
        answer_money_text(c, (int64_t)llround(atof(db_value(r, i, 5))), usual, sizeof(usual));
        snprintf(msg, sizeof(msg),
                 answer_fr(c) ? "Dépense inhabituelle le %s : %s chez %s (%s), contre %s habituellement."
                            : "Unusual spending on %s: %s at %s (%s), against %s usually.",
                 db_value(r, i, 1), amount, db_is_null(r, i, 3) ? "?" : db_value(r, i, 3), db_value(r, i, 4), usual);
        struct json_object *ins = answer_insight("unusual_transaction", msg);
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
static enum err answer_comparison(struct answer *c)
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
    bool fr = answer_fr(c);
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
    json_object_array_add(datasets, answer_dataset(fr ? "Dépenses" : "Spending", values));
    json_object_array_add(c->visualizations,
                          answer_chart("bar_chart", "bar", fr ? "Comparaison des périodes" : "Period comparison", labels, datasets));
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
        struct json_object *ins = answer_insight("category_change", msg);
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
        answer_money_text(c, after_total, a, sizeof(a));
        answer_money_text(c, before_total, b, sizeof(b));
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
 * transactions first, ANSWER_MERCHANTS_SHOWN at most), into
 * c->merchants_counted and, joined, into names. */
static enum err answer_merchants_counted(struct answer *c, char *names, size_t cap)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT min(merchant) FROM transactions WHERE ");
    answer_filter_sql(c, &b, true);
    sqlbuf_add(&b, " AND merchant_key IS NOT NULL GROUP BY merchant_key ORDER BY count(*) DESC, 1 LIMIT ");
    sqlbuf_add_int(&b, ANSWER_MERCHANTS_SHOWN);
    enum err e;
    db_result *r = sqlbuf_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT, &b);
    if (r == NULL)
        return e;
    c->merchants_counted = db_json_values(r, 0, DB_JSON_TEXT, 0, db_rows(r));
    size_t n = 0;
    names[0] = '\0';
    for (int i = 0; i < db_rows(r); i++) {
        if (n < cap)
            n += (size_t)snprintf(names + n, cap - n, "%s%s", i ? ", " : "", db_value(r, i, 0));
    }
    if (n >= cap)
        names[words_utf8_cut(names, cap - 1)] = '\0';
    db_clear(r);
    return ERR_NONE;
}

static void answer_search_text(struct answer *c, const char *counted)
{
    bool fr = answer_fr(c);
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
    answer_money_text(c, c->spending_only ? -c->total_cents : c->total_cents, total, sizeof(total));
    answer_money_text(c, parse_round_div_wide(c->spending_only ? -c->total_cents : c->total_cents, c->count), avg,
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

static void answer_clarify(struct answer *c)
{
    bool fr = answer_fr(c);
    snprintf(c->text, sizeof(c->text), "%s",
             fr ? "Je n'ai pas compris votre question. Essayez par exemple : « Mes dépenses du mois dernier », "
                  "« Combien j'ai dépensé chez Carrefour ce mois-ci ? », « Répartition de mes dépenses par catégorie »."
                : "I did not understand your question. Try for example: \"My spending last month\", "
                  "\"How much did I spend at Netflix this month?\", \"Breakdown of my spending by category\".");
}

enum err answer_build(struct answer *c)
{
    const char *intent = c->nlu.intent;
    int found = 0;
    enum err e = ERR_NONE;
    bool fr = answer_fr(c);
    if (strcmp(intent, "clarification.needed") == 0) {
        answer_clarify(c);
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
        answer_add_kpi_cards(c);
        return ERR_NONE;
    }
    if (c->nlu.period_invalid) {
        snprintf(c->text, sizeof(c->text), "%s",
                 fr ? "Cette date n'existe pas dans le calendrier : aucune transaction."
                    : "That date does not exist in the calendar: no transactions.");
        answer_add_kpi_cards(c);
        return ERR_NONE;
    }
    if (c->nlu.merchant_phrase[0] && !c->nlu.merchant[0] && strncmp(intent, "transaction_search", 18) == 0) {
        snprintf(c->text, sizeof(c->text),
                 fr ? "Je ne trouve aucun marchand « %s » dans vos transactions."
                    : "I cannot find any merchant \"%s\" in your transactions.",
                 c->nlu.merchant_phrase);
        answer_add_kpi_cards(c);
        return ERR_NONE;
    }
    if (strncmp(intent, "transaction_search", 18) == 0) {
        if ((e = answer_kpis(c)))
            return e;
        char counted[400] = "";
        if (c->nlu.merchant_key[0] && (e = answer_merchants_counted(c, counted, sizeof(counted))))
            return e;
        answer_add_kpi_cards(c);
        answer_search_text(c, counted);
        if (strcmp(intent, "transaction_search.by_category") == 0)
            e = answer_pie(c);
        else if (strcmp(intent, "transaction_search.by_merchant") == 0)
            e = answer_merchant_bar(c);
        if (e == ERR_NONE && c->count > 0)
            e = answer_anomalies(c, true, &found);
        return e;
    }
    if (strcmp(intent, "analytics.trends") == 0) {
        e = answer_trend(c, true);
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
        return answer_comparison(c);
    /* analytics.anomalies (within the merchant or category named, if any) */
    if ((e = answer_anomalies(c, c->nlu.merchant_key[0] || c->nlu.category_key[0], &found)))
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
