/* datasets_table: see datasets_table.h. */
#define _GNU_SOURCE
#include "datasets_table.h"
#include "../core/arena.h"
#include "../core/parse.h"
#include "../csv/csv.h"

#include <json-c/json.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const datasets_type_names[DATASETS_TYPES] = {"integer", "number", "date", "boolean", "string"};

const char *datasets_type_name(enum datasets_type t)
{
    return (int)t >= 0 && t < DATASETS_TYPES ? datasets_type_names[t] : "string";
}

int datasets_type_parse(const char *name)
{
    for (int i = 0; name != NULL && i < DATASETS_TYPES; i++)
        if (strcmp(name, datasets_type_names[i]) == 0)
            return i;
    return -1;
}

bool datasets_type_numeric(enum datasets_type t)
{
    return t == DATASETS_INTEGER || t == DATASETS_NUMBER;
}

unsigned datasets_value_fits(const char *s, size_t len)
{
    unsigned fits = DATASETS_FIT(DATASETS_STRING);
    if (len == 0)
        return fits;
    size_t i = 0;
    if (s[0] == '-')
        i = 1;
    size_t digits = 0;
    while (i + digits < len && s[i + digits] >= '0' && s[i + digits] <= '9')
        digits++;
    if (digits > 0 && !(digits > 1 && s[i] == '0')) {
        size_t j = i + digits;
        if (j == len && digits <= 18)
            fits |= DATASETS_FIT(DATASETS_INTEGER) | DATASETS_FIT(DATASETS_NUMBER);
        else if (j < len && s[j] == '.' && j + 1 < len && digits <= 18) {
            size_t k = j + 1;
            while (k < len && s[k] >= '0' && s[k] <= '9')
                k++;
            if (k == len && k - j - 1 <= 18)
                fits |= DATASETS_FIT(DATASETS_NUMBER);
        }
    }
    int y, m, d;
    if (len == 10 && parse_date(s, len, &y, &m, &d) == 0)
        fits |= DATASETS_FIT(DATASETS_DATE);
    if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 5 && memcmp(s, "false", 5) == 0))
        fits |= DATASETS_FIT(DATASETS_BOOLEAN);
    return fits;
}

enum datasets_type datasets_type_of_fits(unsigned fits)
{
    for (int t = 0; t < DATASETS_STRING; t++)
        if (fits & DATASETS_FIT(t))
            return (enum datasets_type)t;
    return DATASETS_STRING;
}

double datasets_number(const char *s)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s;
    bool neg = *p == '-';
    if (neg || *p == '+')
        p++;
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (;; p++) {
        if (*p >= '0' && *p <= '9') {
            m = m * 10 + (uint64_t)(*p - '0');
            if (m != 0 || frac >= 0)
                digits++;
            if (frac >= 0)
                frac++;
        } else if (*p == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (*p != '\0' || digits > 15 || frac > 22 || p == s || frac == 0)
        return strtod(s, NULL);               /* exponents, long mantissas, anything else */
    /* m < 10^15 < 2^53 and 10^frac exact: one correctly rounded division. */
    double d = frac > 0 ? (double)m / pow10[frac] : (double)m;
    return neg ? -d : d;
}

void datasets_format_number(double v, char out[DATASETS_NUMBER_BYTES])
{
    if (v == 0 || !isfinite(v)) {                  /* -0 too; never NaN/inf in a table */
        snprintf(out, DATASETS_NUMBER_BYTES, "0");
        return;
    }
    int prec = 15;
    for (; prec < 17; prec++) {
        snprintf(out, DATASETS_NUMBER_BYTES, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (prec == 17)                                /* 17 significant digits always read back: no check */
        snprintf(out, DATASETS_NUMBER_BYTES, "%.17g", v);
    if (strchr(out, 'e') != NULL) {                /* spell it out: the number type has no exponent */
        if (fabs(v) >= 1e15) {
            snprintf(out, DATASETS_NUMBER_BYTES, "%.0f", v);
        } else {
            snprintf(out, DATASETS_NUMBER_BYTES, "%.18f", v);
            char *dot = strchr(out, '.');
            char *end = out + strlen(out) - 1;
            while (end > dot && *end == '0')
                *end-- = '\0';
            if (end == dot)
                *end = '\0';
            if (strcmp(out, "0") == 0 || strcmp(out, "-0") == 0)
                snprintf(out, DATASETS_NUMBER_BYTES, "0");
        }
    }
}

struct json_object *datasets_value_json(const char *s, enum datasets_type t)
{
    if (s == NULL || s[0] == '\0')
        return NULL;
    switch (t) {
    case DATASETS_INTEGER:
        return json_object_new_int64(strtoll(s, NULL, 10));
    case DATASETS_NUMBER:
        return json_object_new_double_s(datasets_number(s), s);
    case DATASETS_BOOLEAN:
        return json_object_new_boolean(s[0] == 't');
    default:
        return json_object_new_string(s);
    }
}

/* ---- statistics ----------------------------------------------------- */

void datasets_stats_init(struct datasets_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->fits = DATASETS_FITS_ALL;
}

void datasets_stats_free(struct datasets_stats *s)
{
    free(s->set);
    s->set = NULL;
}

/* 64-bit multiply, high and low halves folded (the wyhash mixer). */
static inline uint64_t datasets_mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A value's 64-bit hash, 8 bytes at a time (FNV-1a's byte loop was the
 * largest item of an upload's profile). Distinct counts compare these
 * hashes: two different values collide with probability ~2^-64 each pair. */
static uint64_t datasets_hash(const char *v, size_t len)
{
    const uint64_t k1 = 0xa0761d6478bd642fULL, k2 = 0xe7037ed1a0b428dbULL;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * k1);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, v + i, 8);
        h = datasets_mix(h ^ w ^ k1, k2);
    }
    uint64_t w = 0;
    memcpy(&w, v + i, len - i);
    h = datasets_mix(h ^ w ^ k2, k1 ^ (uint64_t)len);
    return datasets_mix(h, k2) | 1;                 /* 0 marks an empty slot */
}

static int datasets_set_grow(struct datasets_stats *s)
{
    size_t cap = s->set_cap ? s->set_cap * 2 : 64;
    uint64_t *n = calloc(cap, sizeof(*n));
    if (n == NULL)
        return -1;
    for (size_t i = 0; i < s->set_cap; i++) {
        if (s->set[i] == 0)
            continue;
        size_t j = s->set[i] & (cap - 1);
        while (n[j] != 0)
            j = (j + 1) & (cap - 1);
        n[j] = s->set[i];
    }
    free(s->set);
    s->set = n;
    s->set_cap = cap;
    return 0;
}

static int datasets_set_insert(struct datasets_stats *s, uint64_t h)
{
    if (s->distinct_capped)
        return 0;
    if (s->set_len * 2 >= s->set_cap) {
        if (s->set_len >= DATASETS_DISTINCT_MAX) {
            s->distinct_capped = true;
            return 0;
        }
        if (datasets_set_grow(s) != 0)
            return -1;
    }
    size_t j = h & (s->set_cap - 1);
    while (s->set[j] != 0) {
        if (s->set[j] == h)
            return 0;
        j = (j + 1) & (s->set_cap - 1);
    }
    s->set[j] = h;
    s->set_len++;
    return 0;
}

/* Starts the load of h's slot, so that the insert a few values later finds it in cache. */
static inline void datasets_set_prefetch(const struct datasets_stats *s, uint64_t h)
{
    if (s->set != NULL)
        __builtin_prefetch(&s->set[h & (s->set_cap - 1)]);
}

/* Everything but the distinct set; false for a missing value. */
static bool datasets_stats_value(struct datasets_stats *s, const char *v, size_t len)
{
    s->count++;
    if (v == NULL || len == 0) {
        s->missing++;
        return false;
    }
    unsigned fits = datasets_value_fits(v, len);
    s->fits &= fits;
    if (fits & DATASETS_FIT(DATASETS_NUMBER)) {
        double d = datasets_number(v);
        double y = d - s->sum_comp;
        double t = s->sum + y;
        s->sum_comp = (t - s->sum) - y;
        s->sum = t;
        if (!s->have_num || d < s->min)
            s->min = d;
        if (!s->have_num || d > s->max)
            s->max = d;
        s->have_num = true;
    }
    if (fits & DATASETS_FIT(DATASETS_DATE)) {
        if (s->min_text[0] == '\0' || memcmp(v, s->min_text, 10) < 0) {
            memcpy(s->min_text, v, 10);
            s->min_text[10] = '\0';
        }
        if (s->max_text[0] == '\0' || memcmp(v, s->max_text, 10) > 0) {
            memcpy(s->max_text, v, 10);
            s->max_text[10] = '\0';
        }
    }
    return true;
}

int datasets_stats_add(struct datasets_stats *s, const char *v, size_t len)
{
    if (!datasets_stats_value(s, v, len))
        return 0;
    return datasets_set_insert(s, datasets_hash(v, len));
}

int datasets_stats_add_row(struct datasets_stats *s, const char *const *vals, const size_t *lens, size_t n)
{
    uint64_t h[DATASETS_STATS_BATCH];
    for (size_t from = 0; from < n; from += DATASETS_STATS_BATCH) {
        size_t to = from + DATASETS_STATS_BATCH < n ? from + DATASETS_STATS_BATCH : n;
        for (size_t i = from; i < to; i++) {
            h[i - from] = datasets_stats_value(&s[i], vals[i], lens[i]) ? datasets_hash(vals[i], lens[i]) : 0;
            if (h[i - from] != 0)
                datasets_set_prefetch(&s[i], h[i - from]);
        }
        for (size_t i = from; i < to; i++)
            if (h[i - from] != 0 && datasets_set_insert(&s[i], h[i - from]) != 0)
                return -1;
    }
    return 0;
}

int datasets_stats_add_column(struct datasets_stats *s, const char *const *vals, size_t n)
{
    uint64_t h[DATASETS_STATS_BATCH];
    for (size_t from = 0; from < n; from += DATASETS_STATS_BATCH) {
        size_t to = from + DATASETS_STATS_BATCH < n ? from + DATASETS_STATS_BATCH : n;
        for (size_t r = from; r < to; r++) {
            size_t len = vals[r] != NULL ? strlen(vals[r]) : 0;
            h[r - from] = datasets_stats_value(s, vals[r], len) ? datasets_hash(vals[r], len) : 0;
            if (h[r - from] != 0)
                datasets_set_prefetch(s, h[r - from]);
        }
        for (size_t r = from; r < to; r++)
            if (h[r - from] != 0 && datasets_set_insert(s, h[r - from]) != 0)
                return -1;
    }
    return 0;
}

struct json_object *datasets_stats_json(const struct datasets_stats *s, const char *name, enum datasets_type t)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "type", json_object_new_string(datasets_type_name(t)));
    json_object_object_add(o, "missing", json_object_new_int64(s->missing));
    json_object_object_add(o, "distinct", json_object_new_int64((int64_t)s->set_len));
    if (s->distinct_capped)
        json_object_object_add(o, "distinct_at_least", json_object_new_boolean(1));
    long present = s->count - s->missing;
    if (datasets_type_numeric(t) && s->have_num && present > 0) {
        char buf[DATASETS_NUMBER_BYTES];
        datasets_format_number(s->min, buf);
        json_object_object_add(o, "min", datasets_value_json(buf, t == DATASETS_INTEGER ? t : DATASETS_NUMBER));
        datasets_format_number(s->max, buf);
        json_object_object_add(o, "max", datasets_value_json(buf, t == DATASETS_INTEGER ? t : DATASETS_NUMBER));
        json_object_object_add(o, "mean", json_object_new_double(s->sum / (double)present));
    } else if (t == DATASETS_DATE && s->min_text[0] != '\0') {
        json_object_object_add(o, "min", json_object_new_string(s->min_text));
        json_object_object_add(o, "max", json_object_new_string(s->max_text));
    }
    return o;
}

/* ---- the in-memory table -------------------------------------------- */

int datasets_table_init(struct datasets_table *t, struct arena *a, size_t ncols, size_t cap_rows)
{
    memset(t, 0, sizeof(*t));
    t->arena = a;
    t->ncols = ncols;
    t->cap_rows = cap_rows < 16 ? 16 : cap_rows;
    t->names = arena_alloc(a, (ncols + 1) * sizeof(*t->names));
    t->types = arena_alloc(a, (ncols + 1) * sizeof(*t->types));
    t->cols = arena_alloc(a, (ncols + 1) * sizeof(*t->cols));
    if (t->names == NULL || t->types == NULL || t->cols == NULL)
        return -1;
    for (size_t c = 0; c < ncols; c++) {
        t->names[c] = NULL;
        t->types[c] = DATASETS_STRING;
        t->cols[c] = arena_alloc(a, t->cap_rows * sizeof(**t->cols));
        if (t->cols[c] == NULL)
            return -1;
    }
    return 0;
}

int datasets_table_add_row(struct datasets_table *t, const char *const *vals, const size_t *lens)
{
    if (t->nrows == t->cap_rows) {
        size_t cap = t->cap_rows * 2;
        for (size_t c = 0; c < t->ncols; c++) {
            const char **n = arena_alloc(t->arena, cap * sizeof(*n));
            if (n == NULL)
                return -1;
            memcpy(n, t->cols[c], t->nrows * sizeof(*n));
            t->cols[c] = n;
        }
        t->cap_rows = cap;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        if (vals[c] == NULL || lens[c] == 0) {
            t->cols[c][t->nrows] = NULL;
            continue;
        }
        char *v = arena_strndup(t->arena, vals[c], lens[c]);
        if (v == NULL)
            return -1;
        t->cols[c][t->nrows] = v;
    }
    t->nrows++;
    return 0;
}

struct json_object *datasets_table_row_json(const struct datasets_table *t, size_t row)
{
    struct json_object *a = json_object_new_array_ext((int)t->ncols);
    for (size_t c = 0; c < t->ncols; c++)
        json_object_array_add(a, datasets_value_json(t->cols[c][row], t->types[c]));
    return a;
}

/* ---- canonical sink ------------------------------------------------- */

void datasets_sink_init(struct datasets_sink *k, datasets_flush_fn flush, void *ud)
{
    memset(k, 0, sizeof(*k));
    k->sha = EVP_MD_CTX_new();
    if (k->sha == NULL || EVP_DigestInit_ex(k->sha, EVP_sha256(), NULL) != 1)
        k->failed = true;                  /* every later call fails */
    buf_init(&k->chunk, (size_t)DATASETS_CHUNK_BYTES * 64);   /* one row can exceed the target */
    k->flush = flush;
    k->ud = ud;
}

void datasets_sink_free(struct datasets_sink *k)
{
    EVP_MD_CTX_free(k->sha);
    k->sha = NULL;
    buf_free(&k->chunk);
}

static int datasets_sink_hash_emit(void *ud, const char *d, size_t n)
{
    struct datasets_sink *k = ud;
    k->bytes += n;
    return k->failed || EVP_DigestUpdate(k->sha, d, n) != 1 ? -1 : 0;
}

/* Rows go to the chunk buffer; the buffer is hashed in one call when it is
 * flushed (or, without a flush, when it is full). */
static int datasets_sink_emit(void *ud, const char *d, size_t n)
{
    struct datasets_sink *k = ud;
    k->bytes += n;
    return buf_append(&k->chunk, d, n) ? 0 : -1;
}

static int datasets_sink_hash_chunk(struct datasets_sink *k)
{
    if (!k->no_hash && k->chunk.len > 0 && EVP_DigestUpdate(k->sha, k->chunk.data, k->chunk.len) != 1)
        return -1;
    return 0;
}

int datasets_sink_header(struct datasets_sink *k, const char *const *names, size_t n)
{
    size_t lens[n + 1];
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(names[i]);
    return csv_write_row(names, lens, n, ',', datasets_sink_hash_emit, k);
}

static int datasets_sink_flush(struct datasets_sink *k)
{
    if (datasets_sink_hash_chunk(k) != 0)
        return -1;
    if (k->chunk_rows == 0 || k->flush == NULL) {
        k->chunk.len = 0;
        return 0;
    }
    int rc = k->flush(k->ud, k->seq, k->chunk_first, k->chunk_rows, k->chunk.data, k->chunk.len);
    k->seq++;
    k->chunk_first = k->rows;
    k->chunk_rows = 0;
    k->chunk.len = 0;
    if (k->chunk.data != NULL)
        k->chunk.data[0] = '\0';
    return rc;
}

int datasets_sink_row(struct datasets_sink *k, const char *const *vals, const size_t *lens, size_t n)
{
    if (k->failed)
        return -1;
    int rc = csv_write_row(vals, lens, n, ',', datasets_sink_emit, k);
    k->rows++;
    k->chunk_rows++;
    if (rc == 0 && k->chunk.len >= DATASETS_CHUNK_BYTES)
        rc = datasets_sink_flush(k);
    if (rc != 0)
        k->failed = true;
    return rc;
}

int datasets_sink_finish(struct datasets_sink *k, char hex[65])
{
    if (k->failed || datasets_sink_flush(k) != 0)
        return -1;
    if (k->flush != NULL && k->flush(k->ud, -1, k->rows, 0, NULL, 0) != 0)    /* the end: nothing more comes */
        return -1;
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (EVP_DigestFinal_ex(k->sha, d, &dlen) != 1 || dlen != 32)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

int datasets_table_write(const struct datasets_table *t, struct datasets_sink *k)
{
    if (datasets_sink_header(k, (const char *const *)t->names, t->ncols) != 0)
        return -1;
    const char *vals[t->ncols + 1];
    size_t lens[t->ncols + 1];
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            vals[c] = t->cols[c][r];
            lens[c] = vals[c] ? strlen(vals[c]) : 0;
        }
        if (datasets_sink_row(k, vals, lens, t->ncols) != 0)
            return -1;
    }
    return 0;
}
