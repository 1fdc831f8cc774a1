/* datasets_ops: see datasets_ops.h. Validation walks a copy of the schema
 * (names, types) through the steps and resolves every column name to its
 * index at that point, so running needs no more lookups and cannot fail on
 * a name. Row-removing steps compute a keep mask and compact every column. */
#define _GNU_SOURCE
#include "datasets_ops.h"
#include "../core/arena.h"
#include "../core/jsonx.h"
#include "../core/parse.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct datasets_schema {
    char **names;
    enum datasets_type *types;
    size_t ncols;
};

static const char *const datasets_op_names[] = {"drop_missing", "fill_missing", "drop_columns", "rename",
                                                "cast", "filter", "scale", "dedupe"};
static const char *const datasets_cmp_names[] = {"eq", "ne", "lt", "le", "gt", "ge", "contains", "in",
                                                 "is_missing", "not_missing"};
static const char *const datasets_strategy_names[] = {"mean", "median", "mode", "constant"};
static const char *const datasets_method_names[] = {"minmax", "zscore"};

static int datasets_ops_lookup(const char *const *table, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++)
        if (strcmp(table[i], name) == 0)
            return (int)i;
    return -1;
}

static int datasets_ops_column(const struct datasets_schema *s, const char *name)
{
    return datasets_ops_lookup((const char *const *)s->names, s->ncols, name);
}

static int datasets_ops_fail(char *reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int datasets_ops_fail(char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, DATASETS_REASON_BYTES, fmt, ap);
    va_end(ap);
    return -1;
}

/* "columns": optional array of existing names (absent: all). */
static int datasets_ops_columns(struct arena *a, struct json_object *o, const struct datasets_schema *s,
                                bool required, struct datasets_step *st, char *reason)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, "columns", &v) || v == NULL) {
        if (required)
            return datasets_ops_fail(reason, "\"columns\" is required (an array of column names)");
        st->cols = arena_alloc(a, (s->ncols + 1) * sizeof(*st->cols));
        if (st->cols == NULL)
            return datasets_ops_fail(reason, "out of memory");
        for (size_t i = 0; i < s->ncols; i++)
            st->cols[i] = i;
        st->ncols = s->ncols;
        return 0;
    }
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
        return datasets_ops_fail(reason, "\"columns\" must be a non-empty array of column names");
    size_t n = json_object_array_length(v);
    st->cols = arena_alloc(a, (n + 1) * sizeof(*st->cols));
    if (st->cols == NULL)
        return datasets_ops_fail(reason, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string))
            return datasets_ops_fail(reason, "\"columns\" must hold column names (strings)");
        int c = datasets_ops_column(s, json_object_get_string(e));
        if (c < 0)
            return datasets_ops_fail(reason, "unknown column \"%.100s\"", json_object_get_string(e));
        for (size_t k = 0; k < i; k++)
            if (st->cols[k] == (size_t)c)
                return datasets_ops_fail(reason, "column \"%.100s\" is listed twice", json_object_get_string(e));
        st->cols[i] = (size_t)c;
    }
    st->ncols = n;
    return 0;
}

static int datasets_ops_one_column(struct json_object *o, const struct datasets_schema *s, struct arena *a,
                                   struct datasets_step *st, char *reason)
{
    bool wrong;
    const char *name = jsonx_get_string(o, "column", &wrong);
    if (name == NULL)
        return datasets_ops_fail(reason, "\"column\" is required (a column name)");
    int c = datasets_ops_column(s, name);
    if (c < 0)
        return datasets_ops_fail(reason, "unknown column \"%.100s\"", name);
    st->cols = arena_alloc(a, sizeof(*st->cols));
    if (st->cols == NULL)
        return datasets_ops_fail(reason, "out of memory");
    st->cols[0] = (size_t)c;
    st->ncols = 1;
    st->type = s->types[c];
    return 0;
}

/* The canonical text of a JSON operand for a column of type t, or NULL. */
static const char *datasets_ops_operand(struct arena *a, struct json_object *v, enum datasets_type t, double *num,
                                        bool *flag)
{
    char buf[DATASETS_NUMBER_BYTES];
    switch (t) {
    case DATASETS_INTEGER:
    case DATASETS_NUMBER:
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
            return NULL;
        *num = json_object_get_double(v);
        if (!isfinite(*num) || (t == DATASETS_INTEGER && json_object_is_type(v, json_type_double) &&
                                *num != floor(*num)))
            return NULL;
        if (t == DATASETS_INTEGER)
            snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)*num);
        else
            datasets_format_number(*num, buf);
        return arena_strndup(a, buf, strlen(buf));
    case DATASETS_BOOLEAN:
        if (!json_object_is_type(v, json_type_boolean))
            return NULL;
        *flag = json_object_get_boolean(v);
        return *flag ? "true" : "false";
    case DATASETS_DATE: {
        if (!json_object_is_type(v, json_type_string))
            return NULL;
        const char *s = json_object_get_string(v);
        int y, m, d;
        if (strlen(s) != 10 || parse_date(s, 10, &y, &m, &d) != 0)
            return NULL;
        return s;
    }
    default:
        if (!json_object_is_type(v, json_type_string))
            return NULL;
        return json_object_get_string(v);
    }
}

static int datasets_ops_filter(struct arena *a, struct json_object *o, const struct datasets_schema *s,
                               struct datasets_step *st, char *reason)
{
    if (datasets_ops_one_column(o, s, a, st, reason) != 0)
        return -1;
    bool wrong;
    const char *cmp = jsonx_get_string(o, "cmp", &wrong);
    int ci = datasets_ops_lookup(datasets_cmp_names, 10, cmp);
    if (ci < 0)
        return datasets_ops_fail(reason, "\"cmp\" must be one of eq, ne, lt, le, gt, ge, contains, in, is_missing, "
                                 "not_missing");
    st->cmp = (enum datasets_cmp)ci;
    enum datasets_type t = st->type;
    if (st->cmp == DATASETS_CMP_IS_MISSING || st->cmp == DATASETS_CMP_NOT_MISSING)
        return 0;
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, "value", &v) || v == NULL)
        return datasets_ops_fail(reason, "\"value\" is required for cmp %s", cmp);
    if (st->cmp == DATASETS_CMP_CONTAINS && t != DATASETS_STRING)
        return datasets_ops_fail(reason, "contains needs a string column; \"%.100s\" is %s", s->names[st->cols[0]],
                                 datasets_type_name(t));
    if (st->cmp >= DATASETS_CMP_LT && st->cmp <= DATASETS_CMP_GE && t == DATASETS_BOOLEAN)
        return datasets_ops_fail(reason, "%s cannot compare booleans", cmp);
    size_t n = 1;
    if (st->cmp == DATASETS_CMP_IN) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0 ||
            json_object_array_length(v) > DATASETS_IN_VALUES_MAX)
            return datasets_ops_fail(reason, "\"value\" of in must be an array of 1 to %d values",
                                     DATASETS_IN_VALUES_MAX);
        n = json_object_array_length(v);
    }
    st->values = arena_alloc(a, n * sizeof(*st->values));
    st->nums = arena_alloc(a, n * sizeof(*st->nums));
    if (st->values == NULL || st->nums == NULL)
        return datasets_ops_fail(reason, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = st->cmp == DATASETS_CMP_IN ? json_object_array_get_idx(v, i) : v;
        st->nums[i] = 0;
        st->values[i] = datasets_ops_operand(a, e, t, &st->nums[i], &st->flag);
        if (st->values[i] == NULL)
            return datasets_ops_fail(reason, "\"value\" must be a%s %s to compare with column \"%.100s\"",
                                     t == DATASETS_INTEGER ? "n" : "", datasets_type_name(t), s->names[st->cols[0]]);
    }
    st->nvalues = n;
    return 0;
}

/* One step against the schema; updates the schema to the step's output. */
static int datasets_ops_step(struct arena *a, struct json_object *o, struct datasets_schema *s,
                             struct datasets_step *st, char *reason)
{
    memset(st, 0, sizeof(*st));
    if (!json_object_is_type(o, json_type_object))
        return datasets_ops_fail(reason, "a step must be a JSON object with an \"op\"");
    bool wrong;
    const char *op = jsonx_get_string(o, "op", &wrong);
    if (op == NULL)
        return datasets_ops_fail(reason, "\"op\" is required");
    int oi = datasets_ops_lookup(datasets_op_names, 8, op);
    if (oi < 0)
        return datasets_ops_fail(reason, "unknown op \"%.60s\"", op);
    st->op = (enum datasets_op)oi;
    st->op_name = datasets_op_names[oi];
    struct json_object *v = NULL;
    switch (st->op) {
    case DATASETS_OP_DROP_MISSING:
        if (datasets_ops_columns(a, o, s, false, st, reason) != 0)
            return -1;
        if (json_object_object_get_ex(o, "threshold", &v) && v != NULL) {
            if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return datasets_ops_fail(reason, "\"threshold\" must be a number from 0 to 1");
            st->threshold = json_object_get_double(v);
            if (!(st->threshold >= 0 && st->threshold <= 1))
                return datasets_ops_fail(reason, "\"threshold\" must be a number from 0 to 1");
            st->has_threshold = true;
        }
        return 0;
    case DATASETS_OP_FILL_MISSING: {
        if (datasets_ops_one_column(o, s, a, st, reason) != 0)
            return -1;
        const char *strategy = jsonx_get_string(o, "strategy", &wrong);
        st->strategy = datasets_ops_lookup(datasets_strategy_names, 4, strategy);
        if (st->strategy < 0)
            return datasets_ops_fail(reason, "\"strategy\" must be mean, median, mode or constant");
        size_t c = st->cols[0];
        if (st->strategy <= 1 && !datasets_type_numeric(s->types[c]))
            return datasets_ops_fail(reason, "%s needs a number column; \"%.100s\" is %s", strategy, s->names[c],
                                     datasets_type_name(s->types[c]));
        if (st->strategy == 3) {
            if (!json_object_object_get_ex(o, "value", &v) || v == NULL)
                return datasets_ops_fail(reason, "\"value\" is required with strategy constant");
            double num;
            bool flag;
            st->text = datasets_ops_operand(a, v, s->types[c], &num, &flag);
            if (st->text == NULL || st->text[0] == '\0')
                return datasets_ops_fail(reason, "\"value\" must be a%s %s for column \"%.100s\"",
                                         s->types[c] == DATASETS_INTEGER ? "n" : "", datasets_type_name(s->types[c]),
                                         s->names[c]);
        }
        if (st->strategy <= 1)
            s->types[c] = DATASETS_NUMBER;
        return 0;
    }
    case DATASETS_OP_DROP_COLUMNS:
        if (datasets_ops_columns(a, o, s, true, st, reason) != 0)
            return -1;
        if (st->ncols >= s->ncols)
            return datasets_ops_fail(reason, "at least one column must remain");
        for (size_t i = 0, w = 0; i < s->ncols; i++) {    /* the schema without them */
            bool gone = false;
            for (size_t k = 0; k < st->ncols; k++)
                gone = gone || st->cols[k] == i;
            if (!gone) {
                s->names[w] = s->names[i];
                s->types[w] = s->types[i];
                w++;
            }
        }
        s->ncols -= st->ncols;
        return 0;
    case DATASETS_OP_RENAME: {
        const char *from = jsonx_get_string(o, "from", &wrong);
        const char *to = jsonx_get_string(o, "to", &wrong);
        if (from == NULL || to == NULL)
            return datasets_ops_fail(reason, "\"from\" and \"to\" are required (column names)");
        int c = datasets_ops_column(s, from);
        if (c < 0)
            return datasets_ops_fail(reason, "unknown column \"%.100s\"", from);
        if (to[0] == '\0' || strlen(to) > 200)
            return datasets_ops_fail(reason, "\"to\" must be 1 to 200 bytes");
        int other = datasets_ops_column(s, to);
        if (other >= 0 && other != c)
            return datasets_ops_fail(reason, "a column \"%.100s\" already exists", to);
        st->cols = arena_alloc(a, sizeof(*st->cols));
        if (st->cols == NULL)
            return datasets_ops_fail(reason, "out of memory");
        st->cols[0] = (size_t)c;
        st->ncols = 1;
        st->text = to;
        s->names[c] = (char *)to;
        return 0;
    }
    case DATASETS_OP_CAST: {
        if (datasets_ops_one_column(o, s, a, st, reason) != 0)
            return -1;
        const char *type = jsonx_get_string(o, "type", &wrong);
        int t = datasets_type_parse(type);
        if (t < 0)
            return datasets_ops_fail(reason, "\"type\" must be integer, number, string, date or boolean");
        st->type = (enum datasets_type)t;
        s->types[st->cols[0]] = st->type;
        return 0;
    }
    case DATASETS_OP_FILTER:
        return datasets_ops_filter(a, o, s, st, reason);
    case DATASETS_OP_SCALE: {
        if (datasets_ops_one_column(o, s, a, st, reason) != 0)
            return -1;
        size_t c = st->cols[0];
        if (!datasets_type_numeric(s->types[c]))
            return datasets_ops_fail(reason, "scale needs a number column; \"%.100s\" is %s", s->names[c],
                                     datasets_type_name(s->types[c]));
        const char *method = jsonx_get_string(o, "method", &wrong);
        st->method = datasets_ops_lookup(datasets_method_names, 2, method);
        if (st->method < 0)
            return datasets_ops_fail(reason, "\"method\" must be minmax or zscore");
        s->types[c] = DATASETS_NUMBER;
        return 0;
    }
    case DATASETS_OP_DEDUPE:
        return datasets_ops_columns(a, o, s, false, st, reason);
    }
    return datasets_ops_fail(reason, "unknown op");
}

int datasets_ops_validate(struct arena *a, struct json_object *steps, char *const *names,
                          const enum datasets_type *types, size_t ncols, struct datasets_plan *plan,
                          int *bad_step, char reason[DATASETS_REASON_BYTES])
{
    *bad_step = -1;
    reason[0] = '\0';
    if (!json_object_is_type(steps, json_type_array) || json_object_array_length(steps) == 0)
        return datasets_ops_fail(reason, "\"steps\" must be a non-empty array");
    size_t n = json_object_array_length(steps);
    if (n > DATASETS_STEPS_MAX)
        return datasets_ops_fail(reason, "at most %d steps", DATASETS_STEPS_MAX);
    struct datasets_schema s = {arena_alloc(a, (ncols + 1) * sizeof(char *)),
                                arena_alloc(a, (ncols + 1) * sizeof(enum datasets_type)), ncols};
    if (s.names == NULL || s.types == NULL)
        return datasets_ops_fail(reason, "out of memory");
    memcpy(s.names, names, ncols * sizeof(char *));
    memcpy(s.types, types, ncols * sizeof(enum datasets_type));
    plan->nsteps = n;
    for (size_t i = 0; i < n; i++) {
        if (datasets_ops_step(a, json_object_array_get_idx(steps, i), &s, &plan->steps[i], reason) != 0) {
            *bad_step = (int)i;
            return -1;
        }
    }
    return 0;
}

/* ---- running -------------------------------------------------------- */

static void datasets_ops_warn(struct json_object *warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void datasets_ops_warn(struct json_object *warnings, const char *fmt, ...)
{
    char msg[DATASETS_REASON_BYTES + 200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object_array_add(warnings, json_object_new_string(msg));
}

static void datasets_ops_compact(struct datasets_table *t, const bool *keep)
{
    size_t w = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        if (!keep[r])
            continue;
        if (w != r)
            for (size_t c = 0; c < t->ncols; c++)
                t->cols[c][w] = t->cols[c][r];
        w++;
    }
    t->nrows = w;
}

static const char *datasets_ops_number_text(struct arena *a, double v)
{
    char buf[DATASETS_NUMBER_BYTES];
    datasets_format_number(v, buf);
    return arena_strndup(a, buf, strlen(buf));
}

static int datasets_ops_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static enum datasets_type datasets_ops_sort_type;

static int datasets_ops_cmp_text(const void *x, const void *y)
{
    const char *a = *(const char *const *)x, *b = *(const char *const *)y;
    if (datasets_type_numeric(datasets_ops_sort_type)) {
        double da = datasets_number(a), db = datasets_number(b);
        if (da != db)
            return da < db ? -1 : 1;
    }
    return strcmp(a, b);
}

/* Non-missing values of column c (pointers into the table). */
static const char **datasets_ops_present(const struct datasets_table *t, size_t c, size_t *n)
{
    const char **v = arena_alloc(t->arena, (t->nrows + 1) * sizeof(*v));
    *n = 0;
    if (v == NULL)
        return NULL;
    for (size_t r = 0; r < t->nrows; r++)
        if (t->cols[c][r] != NULL)
            v[(*n)++] = t->cols[c][r];
    return v;
}

static int datasets_ops_fill(const struct datasets_step *st, size_t idx, struct datasets_table *t,
                             struct json_object *warnings)
{
    size_t c = st->cols[0], n = 0;
    const char *fill = st->text;
    if (st->strategy != 3) {
        const char **v = datasets_ops_present(t, c, &n);
        if (v == NULL)
            return -1;
        if (n == 0) {
            datasets_ops_warn(warnings, "step %zu: column \"%.100s\" has no values to take the %s of; nothing filled",
                              idx, t->names[c], datasets_strategy_names[st->strategy]);
            return 0;
        }
        if (st->strategy == 0) {
            double sum = 0, comp = 0;
            for (size_t i = 0; i < n; i++) {
                double y = datasets_number(v[i]) - comp, s2 = sum + y;
                comp = (s2 - sum) - y;
                sum = s2;
            }
            fill = datasets_ops_number_text(t->arena, sum / (double)n);
        } else if (st->strategy == 1) {
            double *d = arena_alloc(t->arena, n * sizeof(*d));
            if (d == NULL)
                return -1;
            for (size_t i = 0; i < n; i++)
                d[i] = datasets_number(v[i]);
            qsort(d, n, sizeof(*d), datasets_ops_cmp_double);
            fill = datasets_ops_number_text(t->arena, n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2);
        } else {
            datasets_ops_sort_type = t->types[c];
            qsort(v, n, sizeof(*v), datasets_ops_cmp_text);
            size_t best = 0, best_run = 0;
            for (size_t i = 0; i < n;) {
                size_t j = i + 1;
                while (j < n && datasets_ops_cmp_text(&v[i], &v[j]) == 0)
                    j++;
                if (j - i > best_run) {            /* strictly more: ties keep the smallest */
                    best_run = j - i;
                    best = i;
                }
                i = j;
            }
            fill = v[best];
        }
        if (fill == NULL)
            return -1;
    }
    for (size_t r = 0; r < t->nrows; r++)
        if (t->cols[c][r] == NULL)
            t->cols[c][r] = fill;
    return 0;
}

/* Casts one value's text to type t: the new text, or NULL when it cannot be. */
static const char *datasets_ops_cast_value(struct arena *a, const char *v, enum datasets_type t)
{
    size_t len = strlen(v);
    unsigned fits = datasets_value_fits(v, len);
    if (fits & DATASETS_FIT(t))
        return v;
    switch (t) {
    case DATASETS_INTEGER: {
        int64_t n;
        if (parse_int64(v[0] == '+' ? v + 1 : v, v[0] == '+' ? len - 1 : len, -999999999999999999LL,
                        999999999999999999LL, &n) == 0)
            return arena_sprintf(a, "%" PRId64, n);
        char *end;
        double d = strtod(v, &end);
        if (end != v && *end == '\0' && isfinite(d) && d == floor(d) && fabs(d) < 1e18 &&
            strpbrk(v, "xXpPnNiI") == NULL)
            return arena_sprintf(a, "%" PRId64, (int64_t)d);
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            return v[0] == 't' ? "1" : "0";
        return NULL;
    }
    case DATASETS_NUMBER: {
        char *end;
        double d = strtod(v, &end);
        if (end != v && *end == '\0' && isfinite(d) && strpbrk(v, "xXpPnNiI") == NULL)
            return datasets_ops_number_text(a, d);
        return NULL;
    }
    case DATASETS_DATE: {
        int y, m, d;
        if (len == 10 && v[2] == '/' && v[5] == '/') {      /* DD/MM/YYYY */
            char iso[11] = {v[6], v[7], v[8], v[9], '-', v[3], v[4], '-', v[0], v[1], '\0'};
            if (parse_date(iso, 10, &y, &m, &d) == 0)
                return arena_strndup(a, iso, 10);
        }
        return NULL;
    }
    case DATASETS_BOOLEAN:
        if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
            return "true";
        if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0)
            return "false";
        return NULL;
    default:
        return v;
    }
}

static int datasets_ops_cast(const struct datasets_step *st, size_t idx, struct datasets_table *t,
                             struct json_object *warnings)
{
    size_t c = st->cols[0], failed = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        const char *v = t->cols[c][r];
        if (v == NULL)
            continue;
        const char *out = datasets_ops_cast_value(t->arena, v, st->type);
        if (out == NULL)
            failed++;
        t->cols[c][r] = out;
    }
    t->types[c] = st->type;
    if (failed > 0) {
        datasets_ops_warn(warnings, "step %zu: %zu value%s of \"%.100s\" could not be cast to %s and %s now missing",
                          idx, failed, failed == 1 ? "" : "s", t->names[c], datasets_type_name(st->type),
                          failed == 1 ? "is" : "are");
    }
    return 0;
}

static bool datasets_ops_match(const struct datasets_step *st, const char *v)
{
    if (st->cmp == DATASETS_CMP_IS_MISSING)
        return v == NULL;
    if (st->cmp == DATASETS_CMP_NOT_MISSING)
        return v != NULL;
    if (v == NULL)
        return false;
    if (st->cmp == DATASETS_CMP_CONTAINS)
        return strstr(v, st->values[0]) != NULL;
    bool numeric = datasets_type_numeric(st->type);
    double d = numeric ? datasets_number(v) : 0;
    if (st->cmp == DATASETS_CMP_IN) {
        for (size_t i = 0; i < st->nvalues; i++)
            if (numeric ? d == st->nums[i] : strcmp(v, st->values[i]) == 0)
                return true;
        return false;
    }
    int c = numeric ? (d < st->nums[0] ? -1 : d > st->nums[0]) : strcmp(v, st->values[0]);
    switch (st->cmp) {
    case DATASETS_CMP_EQ: return c == 0;
    case DATASETS_CMP_NE: return c != 0;
    case DATASETS_CMP_LT: return c < 0;
    case DATASETS_CMP_LE: return c <= 0;
    case DATASETS_CMP_GT: return c > 0;
    case DATASETS_CMP_GE: return c >= 0;
    default: return false;
    }
}

static int datasets_ops_scale(const struct datasets_step *st, size_t idx, struct datasets_table *t,
                              struct json_object *warnings)
{
    size_t c = st->cols[0], n = 0;
    double min = 0, max = 0, sum = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->cols[c][r] == NULL)
            continue;
        double d = datasets_number(t->cols[c][r]);
        if (n == 0 || d < min)
            min = d;
        if (n == 0 || d > max)
            max = d;
        sum += d;
        n++;
    }
    double mean = n ? sum / (double)n : 0, var = 0;
    for (size_t r = 0; st->method == 1 && r < t->nrows; r++)
        if (t->cols[c][r] != NULL) {
            double e = datasets_number(t->cols[c][r]) - mean;
            var += e * e;
        }
    double sd = n ? sqrt(var / (double)n) : 0;
    bool flat = st->method == 0 ? max == min : sd == 0;
    if (n > 0 && flat)
        datasets_ops_warn(warnings, "step %zu: column \"%.100s\" is constant; scaled to 0", idx, t->names[c]);
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->cols[c][r] == NULL)
            continue;
        double d = datasets_number(t->cols[c][r]);
        double s = flat ? 0 : st->method == 0 ? (d - min) / (max - min) : (d - mean) / sd;
        t->cols[c][r] = datasets_ops_number_text(t->arena, s);
        if (t->cols[c][r] == NULL)
            return -1;
    }
    t->types[c] = DATASETS_NUMBER;
    return 0;
}

static uint64_t datasets_ops_row_hash(const struct datasets_table *t, const struct datasets_step *st, size_t r)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t k = 0; k < st->ncols; k++) {
        const char *v = t->cols[st->cols[k]][r];
        if (v == NULL) {
            h = (h ^ 0x1F) * 1099511628211ULL;
        } else {
            for (; *v; v++)
                h = (h ^ (unsigned char)*v) * 1099511628211ULL;
        }
        h = (h ^ 0x1E) * 1099511628211ULL;        /* field separator */
    }
    return h;
}

static bool datasets_ops_rows_equal(const struct datasets_table *t, const struct datasets_step *st, size_t a,
                                    size_t b)
{
    for (size_t k = 0; k < st->ncols; k++) {
        const char *x = t->cols[st->cols[k]][a], *y = t->cols[st->cols[k]][b];
        if ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0))
            return false;
    }
    return true;
}

static int datasets_ops_dedupe(const struct datasets_step *st, struct datasets_table *t, bool *keep)
{
    size_t cap = 16;
    while (cap < t->nrows * 2)
        cap *= 2;
    size_t *slots = malloc(cap * sizeof(*slots));     /* row index + 1; 0 = empty */
    if (slots == NULL)
        return -1;
    memset(slots, 0, cap * sizeof(*slots));
    for (size_t r = 0; r < t->nrows; r++) {
        size_t j = datasets_ops_row_hash(t, st, r) & (cap - 1);
        keep[r] = true;
        while (slots[j] != 0) {
            if (datasets_ops_rows_equal(t, st, slots[j] - 1, r)) {
                keep[r] = false;
                break;
            }
            j = (j + 1) & (cap - 1);
        }
        if (keep[r])
            slots[j] = r + 1;
    }
    free(slots);
    return 0;
}

static void datasets_ops_drop_columns(const struct datasets_step *st, struct datasets_table *t)
{
    size_t w = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        bool gone = false;
        for (size_t k = 0; k < st->ncols; k++)
            gone = gone || st->cols[k] == i;
        if (!gone) {
            t->names[w] = t->names[i];
            t->types[w] = t->types[i];
            t->cols[w] = t->cols[i];
            w++;
        }
    }
    t->ncols = w;
}

int datasets_ops_run(const struct datasets_plan *plan, struct datasets_table *t, size_t *rows_after,
                     struct json_object *warnings)
{
    bool *keep = arena_alloc(t->arena, (t->nrows + 1) * sizeof(*keep));
    if (keep == NULL)
        return -1;
    for (size_t i = 0; i < plan->nsteps; i++) {
        const struct datasets_step *st = &plan->steps[i];
        size_t before = t->nrows;
        bool removes_rows = false;
        switch (st->op) {
        case DATASETS_OP_DROP_MISSING:
            for (size_t r = 0; r < t->nrows; r++) {
                size_t missing = 0;
                for (size_t k = 0; k < st->ncols; k++)
                    missing += t->cols[st->cols[k]][r] == NULL;
                keep[r] = st->has_threshold ? (double)missing / (double)st->ncols <= st->threshold : missing == 0;
            }
            removes_rows = true;
            break;
        case DATASETS_OP_FILL_MISSING:
            if (datasets_ops_fill(st, i, t, warnings) != 0)
                return -1;
            if (st->strategy <= 1)
                t->types[st->cols[0]] = DATASETS_NUMBER;
            break;
        case DATASETS_OP_DROP_COLUMNS:
            datasets_ops_drop_columns(st, t);
            break;
        case DATASETS_OP_RENAME:
            t->names[st->cols[0]] = (char *)st->text;
            break;
        case DATASETS_OP_CAST:
            if (datasets_ops_cast(st, i, t, warnings) != 0)
                return -1;
            break;
        case DATASETS_OP_FILTER:
            for (size_t r = 0; r < t->nrows; r++)
                keep[r] = datasets_ops_match(st, t->cols[st->cols[0]][r]);
            removes_rows = true;
            break;
        case DATASETS_OP_SCALE:
            if (datasets_ops_scale(st, i, t, warnings) != 0)
                return -1;
            break;
        case DATASETS_OP_DEDUPE:
            if (datasets_ops_dedupe(st, t, keep) != 0)
                return -1;
            removes_rows = true;
            break;
        }
        if (removes_rows)
            datasets_ops_compact(t, keep);
        rows_after[i] = t->nrows;
        if (before > 0 && t->nrows * 2 < before) {
            long pct = lround(100.0 * (double)(before - t->nrows) / (double)before);
            datasets_ops_warn(warnings, "step %zu drops %ld %% of the rows", i, pct);
        }
    }
    return 0;
}
