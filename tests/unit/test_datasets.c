/* Unit tests of the pure part of datasets: type inference, number
 * formatting, statistics, the canonical sink's digest and chunking, step
 * validation (names and types flowing through the chain) and running. */
#include "check.h"
#include "core/arena.h"
#include "core/sha256.h"
#include "datasets/datasets_import.h"
#include "datasets/datasets_ops.h"
#include "datasets/datasets_table.h"

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum datasets_type infer(const char *s)
{
    return datasets_type_of_fits(datasets_value_fits(s, strlen(s)));
}

static void test_inference(void)
{
    CHECK_INT(infer("0"), DATASETS_INTEGER);
    CHECK_INT(infer("-42"), DATASETS_INTEGER);
    CHECK_INT(infer("08123"), DATASETS_STRING);          /* a leading zero is kept */
    CHECK_INT(infer("+5"), DATASETS_STRING);
    CHECK_INT(infer("-0.5"), DATASETS_NUMBER);
    CHECK_INT(infer("1.50"), DATASETS_NUMBER);
    CHECK_INT(infer("1."), DATASETS_STRING);
    CHECK_INT(infer(".5"), DATASETS_STRING);
    CHECK_INT(infer("1e5"), DATASETS_STRING);
    CHECK_INT(infer("1234567890123456789"), DATASETS_STRING);   /* 19 digits */
    CHECK_INT(infer("2026-02-28"), DATASETS_DATE);
    CHECK_INT(infer("2026-02-30"), DATASETS_STRING);
    CHECK_INT(infer("true"), DATASETS_BOOLEAN);
    CHECK_INT(infer("TRUE"), DATASETS_STRING);
    CHECK_INT(infer(""), DATASETS_STRING);
    CHECK_INT(datasets_type_parse("number"), DATASETS_NUMBER);
    CHECK_INT(datasets_type_parse("float"), -1);
}

static void test_format_number(void)
{
    char b[DATASETS_NUMBER_BYTES];
    datasets_format_number(0.1 + 0.2, b);
    CHECK(strtod(b, NULL) == 0.1 + 0.2);
    CHECK(strchr(b, 'e') == NULL);
    datasets_format_number(2.5, b);
    CHECK_STR(b, "2.5");
    datasets_format_number(-0.0, b);
    CHECK_STR(b, "0");
    datasets_format_number(1e-7, b);
    CHECK(strchr(b, 'e') == NULL && fabs(strtod(b, NULL) - 1e-7) < 1e-18);
    datasets_format_number(3e20, b);
    CHECK_STR(b, "300000000000000000000");
    CHECK(infer(b) != DATASETS_STRING || strlen(b) > 18);
}

static void test_number_matches_strtod(void)
{
    char buf[64];
    uint64_t x = 88172645463325252ULL;             /* xorshift: reproducible texts */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int ip = (int)(x % 7), fp = (int)((x >> 8) % 9);
        unsigned long long a = (x >> 16) % 10000000ULL, b = (x >> 40) % 100000000ULL;
        if (fp == 0)
            snprintf(buf, sizeof(buf), "%s%llu", x & 1 ? "-" : "", a % (ip ? 1000000ULL : 10ULL));
        else
            snprintf(buf, sizeof(buf), "%s%llu.%0*llu", x & 1 ? "-" : "", a % (ip ? 1000000ULL : 10ULL), fp,
                     b % 100000000ULL % (unsigned long long)pow(10, fp));
        double want = strtod(buf, NULL), got = datasets_number(buf);
        if (memcmp(&want, &got, sizeof(got)) != 0) {
            check_failures++;
            fprintf(stderr, "datasets_number(\"%s\") = %.17g, strtod %.17g\n", buf, got, want);
            break;
        }
    }
    CHECK(datasets_number("12345678901234567") == 12345678901234567.0);   /* past the fast path */
    CHECK(datasets_number("0.1") == 0.1);
    CHECK(datasets_number("-0.000001") == -0.000001);
}

static void test_stats(void)
{
    struct datasets_stats s;
    datasets_stats_init(&s);
    const char *vals[] = {"3", "", "1.5", "3", "-2", NULL};
    for (int i = 0; i < 6; i++)
        datasets_stats_add(&s, vals[i], vals[i] ? strlen(vals[i]) : 0);
    CHECK_INT(datasets_type_of_fits(s.fits), DATASETS_NUMBER);
    struct json_object *o = datasets_stats_json(&s, "x", DATASETS_NUMBER), *v = NULL;
    json_object_object_get_ex(o, "missing", &v);
    CHECK_INT(json_object_get_int(v), 2);
    json_object_object_get_ex(o, "distinct", &v);
    CHECK_INT(json_object_get_int(v), 3);
    json_object_object_get_ex(o, "min", &v);
    CHECK(json_object_get_double(v) == -2);
    json_object_object_get_ex(o, "mean", &v);
    CHECK(fabs(json_object_get_double(v) - 5.5 / 4) < 1e-12);
    json_object_put(o);
    datasets_stats_free(&s);
}

struct chunks {
    int n;
    long rows;
    char first[64];
    bool ended;
};

static int count_chunk(void *ud, int seq, long first_row, long row_count, const char *data, size_t len)
{
    struct chunks *c = ud;
    if (seq < 0) {                 /* the end marker, once, after every chunk */
        CHECK(data == NULL && len == 0 && row_count == 0 && first_row == c->rows && !c->ended);
        c->ended = true;
        return 0;
    }
    CHECK(!c->ended);
    CHECK_INT(seq, c->n);
    CHECK_INT(first_row, c->rows);
    if (c->n == 0)
        snprintf(c->first, sizeof(c->first), "%.*s", (int)(len < 40 ? len : 40), data);
    c->n++;
    c->rows += row_count;
    return 0;
}

static void test_sink(void)
{
    struct datasets_sink k;
    struct chunks c = {0, 0, "", false};
    datasets_sink_init(&k, count_chunk, &c);
    const char *names[2] = {"a", "b"};
    CHECK_INT(datasets_sink_header(&k, names, 2), 0);
    char big[64];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *vals[2] = {"q,\"r\"", big};
    size_t lens[2] = {5, strlen(big)};
    long n = (DATASETS_CHUNK_BYTES / 70) * 3;
    for (long i = 0; i < n; i++)
        CHECK_INT(datasets_sink_row(&k, vals, lens, 2), 0);
    char hex[65];
    CHECK_INT(datasets_sink_finish(&k, hex), 0);
    CHECK(c.n >= 3);
    CHECK(c.ended);
    CHECK_INT(c.rows, n);
    CHECK(strncmp(c.first, "\"q,\"\"r\"\"\",xxx", 13) == 0);
    /* the digest is the SHA-256 of header + rows as written */
    size_t row_len = strlen("\"q,\"\"r\"\"\",") + strlen(big) + 1;
    size_t total = 4 + row_len * (size_t)n;
    char *all = malloc(total + 1);
    memcpy(all, "a,b\n", 4);
    for (long i = 0; i < n; i++)
        snprintf(all + 4 + row_len * (size_t)i, row_len + 1, "\"q,\"\"r\"\"\",%s\n", big);
    char want[65];
    sha256_hex(all, total, want);
    CHECK_STR(hex, want);
    CHECK_INT(k.bytes, total);
    free(all);
    datasets_sink_free(&k);
}

static void test_validate_flow(void)
{
    struct arena a;
    arena_init(&a);
    char *names[3] = {"x", "y", "s"};
    enum datasets_type types[3] = {DATASETS_INTEGER, DATASETS_NUMBER, DATASETS_STRING};
    struct datasets_plan plan;
    int bad;
    char reason[DATASETS_REASON_BYTES];
    struct json_object *steps = json_tokener_parse(
        "[{\"op\":\"rename\",\"from\":\"x\",\"to\":\"z\"},{\"op\":\"scale\",\"column\":\"z\",\"method\":\"minmax\"},"
        "{\"op\":\"drop_columns\",\"columns\":[\"y\"]},{\"op\":\"filter\",\"column\":\"s\",\"cmp\":\"contains\","
        "\"value\":\"a\"}]");
    CHECK_INT(datasets_ops_validate(&a, steps, names, types, 3, &plan, &bad, reason), 0);
    CHECK_INT(plan.nsteps, 4);
    CHECK_INT(plan.steps[3].cols[0], 1);                 /* s moved left after y went */
    CHECK_STR(names[0], "x");                             /* the caller's schema is untouched */
    json_object_put(steps);
    steps = json_tokener_parse("[{\"op\":\"drop_columns\",\"columns\":[\"y\"]},"
                               "{\"op\":\"fill_missing\",\"column\":\"y\",\"strategy\":\"mean\"}]");
    CHECK_INT(datasets_ops_validate(&a, steps, names, types, 3, &plan, &bad, reason), -1);
    CHECK_INT(bad, 1);
    CHECK(strstr(reason, "unknown column \"y\"") != NULL);
    json_object_put(steps);
    steps = json_tokener_parse("[{\"op\":\"cast\",\"column\":\"s\",\"type\":\"number\"},"
                               "{\"op\":\"scale\",\"column\":\"s\",\"method\":\"zscore\"},"
                               "{\"op\":\"filter\",\"column\":\"s\",\"cmp\":\"contains\",\"value\":\"1\"}]");
    CHECK_INT(datasets_ops_validate(&a, steps, names, types, 3, &plan, &bad, reason), -1);
    CHECK_INT(bad, 2);                                    /* s is a number by then */
    json_object_put(steps);
    arena_free(&a);
}

static void test_run(void)
{
    struct arena a;
    arena_init(&a);
    struct datasets_table t;
    CHECK_INT(datasets_table_init(&t, &a, 2, 4), 0);
    t.names[0] = "k";
    t.names[1] = "v";
    t.types[0] = DATASETS_STRING;
    t.types[1] = DATASETS_INTEGER;
    const char *rows[][2] = {{"a", "1"}, {"b", ""}, {"a", "1"}, {"c", "4"}, {"", "7"}};
    for (int i = 0; i < 5; i++) {
        size_t lens[2] = {strlen(rows[i][0]), strlen(rows[i][1])};
        CHECK_INT(datasets_table_add_row(&t, rows[i], lens), 0);
    }
    struct datasets_plan plan;
    int bad;
    char reason[DATASETS_REASON_BYTES];
    struct json_object *steps = json_tokener_parse(
        "[{\"op\":\"dedupe\"},{\"op\":\"fill_missing\",\"column\":\"v\",\"strategy\":\"median\"},"
        "{\"op\":\"filter\",\"column\":\"k\",\"cmp\":\"not_missing\"},"
        "{\"op\":\"cast\",\"column\":\"v\",\"type\":\"integer\"}]");
    CHECK_INT(datasets_ops_validate(&a, steps, t.names, t.types, 2, &plan, &bad, reason), 0);
    size_t after[4];
    struct json_object *w = json_object_new_array();
    CHECK_INT(datasets_ops_run(&plan, &t, after, w), 0);
    CHECK_INT(after[0], 4);
    CHECK_INT(after[1], 4);
    CHECK_INT(after[2], 3);
    CHECK_INT(after[3], 3);
    CHECK_STR(t.cols[1][1], "4");                        /* median of 1, 4, 7 */
    CHECK_INT(t.types[1], DATASETS_INTEGER);
    CHECK_INT(json_object_array_length(w), 0);
    json_object_put(w);
    json_object_put(steps);
    arena_free(&a);
}

static void test_import_amounts_and_dates(void)
{
    char out[64], d[16];
    const char *cases[][2] = {{"-42,50", "-42.50"}, {"1 234,56", "1234.56"}, {"1\xC2\xA0" "234,56", "1234.56"},
                              {"1\xE2\x80\xAF" "234,56", "1234.56"}, {"1.234,56", "1234.56"},
                              {"1,234.56", "1234.56"}, {"-1,299.00", "-1299.00"}, {"+12,00", "+12.00"},
                              {"3250", "3250"}, {"1'234.50", "1234.50"}, {"0,5", "0.5"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_INT(datasets_import_amount(cases[i][0], out, sizeof(out)), 0);
        CHECK_STR(out, cases[i][1]);
    }
    CHECK_INT(datasets_import_amount("12 EUR", out, sizeof(out)), -1);
    CHECK_INT(datasets_import_amount("", out, sizeof(out)), -1);
    CHECK_INT(datasets_import_amount("abc", out, sizeof(out)), -1);
    datasets_import_date("03/10/2026", d);
    CHECK_STR(d, "2026-10-03");
    datasets_import_date("2026-10-03", d);
    CHECK_STR(d, "2026-10-03");
    datasets_import_date("3/10/2026", d);
    CHECK_STR(d, "3/10/2026");                            /* left for finance to refuse */
}

/* Distinct counts by row (batched, prefetched) and by column agree with
 * one value at a time and with the count known here: values that differ
 * only after 8 bytes, only in the last byte, or only in length. */
static void test_distinct_batched(void)
{
    enum { NC = 20, NR = 3000 };
    struct datasets_stats one[NC], row[NC], col;
    char cells[NR][NC][32];
    const char *colvals[NR];
    for (int c = 0; c < NC; c++) {
        datasets_stats_init(&one[c]);
        datasets_stats_init(&row[c]);
    }
    for (int r = 0; r < NR; r++) {
        const char *vals[NC];
        size_t lens[NC];
        for (int c = 0; c < NC; c++) {
            if (c % 5 == 4 && r % 3 == 0)
                cells[r][c][0] = '\0';                                    /* missing */
            else if (c % 5 == 0)
                snprintf(cells[r][c], 32, "abcdefgh%d", r % (c + 2));     /* c + 2 distinct */
            else if (c % 5 == 1)
                snprintf(cells[r][c], 32, "%.*s", 1 + r % 17, "zzzzzzzzzzzzzzzzzzz");   /* 17 lengths */
            else
                snprintf(cells[r][c], 32, "%d", r / (c % 5));              /* NR / k distinct */
            vals[c] = cells[r][c];
            lens[c] = strlen(cells[r][c]);
            datasets_stats_add(&one[c], vals[c], lens[c]);
        }
        CHECK_INT(datasets_stats_add_row(row, vals, lens, NC), 0);
    }
    for (int c = 0; c < NC; c++) {
        long want = c % 5 == 0 ? c + 2 : c % 5 == 1 ? 17 : c % 5 == 4 ? -1 : (NR + c % 5 - 1) / (c % 5);
        if (want >= 0)
            CHECK_INT((long)row[c].set_len, want);
        CHECK_INT((long)row[c].set_len, (long)one[c].set_len);
        CHECK_INT(row[c].missing, one[c].missing);
        datasets_stats_init(&col);
        for (int r = 0; r < NR; r++)
            colvals[r] = cells[r][c][0] ? cells[r][c] : NULL;
        CHECK_INT(datasets_stats_add_column(&col, colvals, NR), 0);
        CHECK_INT((long)col.set_len, (long)one[c].set_len);
        CHECK_INT(col.missing, one[c].missing);
        CHECK(col.sum == one[c].sum && col.fits == one[c].fits);
        datasets_stats_free(&col);
        datasets_stats_free(&one[c]);
        datasets_stats_free(&row[c]);
    }
}

int main(void)
{
    test_distinct_batched();
    test_inference();
    test_format_number();
    test_number_matches_strtod();
    test_stats();
    test_sink();
    test_validate_flow();
    test_run();
    test_import_amounts_and_dates();
    CHECK_DONE();
}
