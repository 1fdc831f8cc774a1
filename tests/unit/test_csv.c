/* Unit tests of csv: quoting, line endings, BOM, delimiters (given and
 * detected), every malformed case with its line and column, UTF-8, limits,
 * the canonical writer, and the callback mode fed one byte at a time (so
 * every boundary case, CRLF and BOM split across reads included, is hit). */
#include "check.h"
#include "csv/csv.h"

#include <stdlib.h>
#include <string.h>

struct out {
    char data[4096];
    size_t len;
};

static int emit(void *ud, const char *d, size_t n)
{
    struct out *o = ud;
    if (o->len + n >= sizeof(o->data))
        return -1;
    memcpy(o->data + o->len, d, n);
    o->len += n;
    o->data[o->len] = '\0';
    return 0;
}

struct feed {
    const char *s;
    size_t len, pos, step;
};

static long feed_read(void *ud, char *buf, size_t cap)
{
    struct feed *f = ud;
    size_t n = f->len - f->pos;
    if (n > f->step)
        n = f->step;
    if (n > cap)
        n = cap;
    memcpy(buf, f->s + f->pos, n);
    f->pos += n;
    return (long)n;
}

/* Parses input and rewrites it in canonical form into o ("" and error on failure). */
static enum csv_status parse_step(const char *in, size_t len, char delim, size_t step, struct out *o,
                                  struct csv_reader *r)
{
    struct feed f = {in, len, 0, step};
    o->len = 0;
    o->data[0] = '\0';
    if (step == 0)
        CHECK_INT(csv_reader_init_mem(r, in, len, delim, 1024, 64), 0);
    else
        CHECK_INT(csv_reader_init(r, feed_read, &f, delim, 1024, 64), 0);
    enum csv_status st;
    while ((st = csv_next(r)) == CSV_ROW) {
        const char *vals[64];
        size_t lens[64];
        for (size_t i = 0; i < r->nfields; i++) {
            vals[i] = r->fields[i].ptr;
            lens[i] = r->fields[i].len;
        }
        csv_write_row(vals, lens, r->nfields, ',', emit, o);
    }
    return st;
}

/* Parses in memory and with 1-byte and 7-byte reads: the three must agree. */
static void ok(const char *in, char delim, const char *want)
{
    struct out o;
    struct csv_reader r;
    for (size_t step = 0; step <= 7; step += (step == 0 ? 1 : 6)) {
        enum csv_status st = parse_step(in, strlen(in), delim, step, &o, &r);
        if (st != CSV_END)
            fprintf(stderr, "input %s (step %zu): error line %ld col %ld: %s\n", in, step, r.err_line, r.err_col,
                    r.err_msg);
        CHECK_INT(st, CSV_END);
        CHECK_STR(o.data, want);
        csv_reader_free(&r);
    }
}

static void bad(const char *in, size_t len, char delim, long line, long col, const char *msg_part)
{
    struct out o;
    struct csv_reader r;
    for (size_t step = 0; step <= 1; step++) {
        enum csv_status st = parse_step(in, len, delim, step, &o, &r);
        CHECK_INT(st, CSV_ERROR);
        CHECK_INT(r.err_line, line);
        CHECK_INT(r.err_col, col);
        if (strstr(r.err_msg, msg_part) == NULL) {
            check_failures++;
            fprintf(stderr, "message \"%s\" lacks \"%s\"\n", r.err_msg, msg_part);
        }
        CHECK_INT(csv_next(&r), CSV_ERROR);              /* sticky */
        csv_reader_free(&r);
    }
}

static void test_plain_and_line_endings(void)
{
    ok("a,b\n1,2\n", 0, "a,b\n1,2\n");
    ok("a,b\r\n1,2\r\n", 0, "a,b\n1,2\n");
    ok("a,b\r1,2\r", 0, "a,b\n1,2\n");                   /* lone CR */
    ok("a,b\n1,2", 0, "a,b\n1,2\n");                     /* no final line end */
    ok("a,b\r\n1,2\n3,4\r5,6", 0, "a,b\n1,2\n3,4\n5,6\n"); /* mixed */
    ok("a,b\n,\n", 0, "a,b\n,\n");                       /* empty fields */
    ok("a,b\n\n1,2\n\n\n", 0, "a,b\n1,2\n");             /* blank lines skipped with 2+ columns */
    ok("a\n1\n\n2\n", 0, "a\n1\n\n2\n");                 /* one column: a blank line is a missing value */
    ok("", 0, "");
    ok("a,b\n", 0, "a,b\n");                             /* header only */
}

static void test_quoting(void)
{
    ok("a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n", 0, "a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n");
    ok("a,b\n\"plain\",\"\"\n", 0, "a,b\nplain,\n");      /* extra quoting dropped */
    ok("a,b\n\"line1\nline2\",z\n", 0, "a,b\n\"line1\nline2\",z\n");
    ok("a,b\r\n\"line1\r\nline2\",z\r\n", 0, "a,b\n\"line1\nline2\",z\n");   /* CRLF inside -> LF */
    ok("a,b\r\"line1\rline2\",z\r", 0, "a,b\n\"line1\nline2\",z\n");
    ok("a;b\n\"x;y\";2\n", 0, "a,b\nx;y,2\n");   /* ; needs no quotes in the canonical form */
    ok("a,b\n\"x;y\",2\n", 0, "a,b\nx;y,2\n");
    ok("a,b\n\"\"\"\",\"a\"\"\"\n", 0, "a,b\n\"\"\"\",\"a\"\"\"\n");
    ok("\"a\"\"\",b\n1,2\n", 0, "\"a\"\"\",b\n1,2\n");
    ok("a,b\n x , y \n", 0, "a,b\n x , y \n");             /* spaces are data */
}

static void test_bom_and_delimiters(void)
{
    ok("\xEF\xBB\xBF" "a,b\n1,2\n", 0, "a,b\n1,2\n");
    ok("\xEF\xBB\xBF" "a;b\n1;2\n", 0, "a,b\n1,2\n");
    ok("a;b;c\n1,5;2;3\n", 0, "a,b,c\n\"1,5\",2,3\n");      /* ; wins on the header */
    ok("a\tb\n1\t2\n", 0, "a,b\n1,2\n");
    ok("\"x,y\";b\n1;2\n", 0, "\"x,y\",b\n1,2\n");         /* commas in quotes do not count */
    ok("a,b;c\n1,2;3\n", 0, "a,b;c\n1,2;3\n");     /* tie: , */
    ok("a;b\n1;2\n", ',', "a;b\n1;2\n");           /* given delimiter wins */
    ok("a\tb\n1\t2\n", '\t', "a,b\n1,2\n");
    ok("single\nx\n", 0, "single\nx\n");
    CHECK_INT(csv_delim_parse(","), ',');
    CHECK_INT(csv_delim_parse(";"), ';');
    CHECK_INT(csv_delim_parse("tab"), '\t');
    CHECK_INT(csv_delim_parse("|"), 0);
    CHECK_INT(csv_delim_parse(NULL), 0);
}

static void test_malformed(void)
{
    bad("a,b\n1,2,3\n", 10, 0, 2, 4, "more fields");
    bad("a,b\n1\n", 6, 0, 2, 2, "1 fields, the header has 2");
    bad("a,b\n1,2\n3\n", 10, 0, 3, 2, "header has 2");
    bad("a,b\r\n1,2\r\n3,4,5\r\n", 18, 0, 3, 4, "more fields");
    bad("a,b\n1,x\"y\n", 10, 0, 2, 4, "quote inside");
    bad("a,b\n1,\"xy\"z\n", 12, 0, 2, 7, "after a closing quote");
    bad("a,b\n1,\"xy\n2,3\n", 14, 0, 2, 3, "never closed");
    bad("a,b\n\"multi\nline\",\"open\n", 23, 0, 3, 7, "never closed");
    bad("a,b\n\"x\ny\",2,3\n", 14, 0, 3, 5, "more fields");   /* line of the error, not of the row start */
    bad("a,b\n1,\xC3\n", 8, 0, 2, 3, "UTF-8");                /* truncated sequence */
    bad("a,b\n1,ab\xFF\n", 10, 0, 2, 5, "UTF-8");
    bad("a,b\n\xC0\xAF,1\n", 9, 0, 2, 1, "UTF-8");             /* overlong */
    bad("a,b\n\xED\xA0\x80,1\n", 10, 0, 2, 1, "UTF-8");        /* surrogate */
    bad("a,b\n\"x\xF5\",1\n", 11, 0, 2, 3, "UTF-8");
    bad("a,b\n1,x\0y\n", 10, 0, 2, 4, "NUL");
    ok("a,b\n1,\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n", 0, "a,b\n1,\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n");
}

static void test_limits(void)
{
    struct csv_reader r;
    char big[2000];
    memset(big, 'x', sizeof(big));
    memcpy(big, "a\n", 2);
    CHECK_INT(csv_reader_init_mem(&r, big, sizeof(big), 0, 1000, 8), 0);
    CHECK_INT(csv_next(&r), CSV_ROW);
    CHECK_INT(csv_next(&r), CSV_ERROR);
    CHECK_INT(r.err_line, 2);
    CHECK(strstr(r.err_msg, "longer than 1000") != NULL);
    csv_reader_free(&r);
    const char *wide = "a,b,c,d\n";
    CHECK_INT(csv_reader_init_mem(&r, wide, strlen(wide), 0, 1000, 3), 0);
    CHECK_INT(csv_next(&r), CSV_ERROR);
    CHECK(strstr(r.err_msg, "more than 3 fields") != NULL);
    CHECK_INT(r.err_col, 7);
    csv_reader_free(&r);
    /* the row buffer, not the file, bounds memory: 10 000 rows through a 64-byte row limit */
    size_t n = 10000 * 4 + 2;
    char *many = malloc(n);
    memcpy(many, "a\n", 2);
    for (size_t i = 0; i < 10000; i++)
        memcpy(many + 2 + 4 * i, "abc\n", 4);
    CHECK_INT(csv_reader_init_mem(&r, many, n, 0, 64, 4), 0);
    long rows = 0;
    while (csv_next(&r) == CSV_ROW)
        rows++;
    CHECK_INT(rows, 10001);
    CHECK(r.row_cap <= 66);
    CHECK_INT(r.err_msg[0], 0);
    csv_reader_free(&r);
    free(many);
}

static void test_fields_and_lines(void)
{
    struct csv_reader r;
    const char *in = "h1,h2\r\n\"a\nb\",\"\"\r\nc,d\r\n";
    CHECK_INT(csv_reader_init_mem(&r, in, strlen(in), 0, 1000, 8), 0);
    CHECK_INT(csv_next(&r), CSV_ROW);
    CHECK_INT(csv_row_line(&r), 1);
    CHECK_INT(csv_next(&r), CSV_ROW);
    CHECK_INT(csv_row_line(&r), 2);
    CHECK_INT(r.nfields, 2);
    CHECK_STR(r.fields[0].ptr, "a\nb");
    CHECK_INT(r.fields[0].quoted, 1);
    CHECK_INT(r.fields[1].len, 0);
    CHECK_INT(r.fields[1].quoted, 1);
    CHECK_INT(csv_next(&r), CSV_ROW);
    CHECK_INT(csv_row_line(&r), 4);                        /* physical lines */
    CHECK_STR(r.fields[1].ptr, "d");
    CHECK_INT(r.fields[1].quoted, 0);
    CHECK_INT(csv_next(&r), CSV_END);
    CHECK_INT(csv_next(&r), CSV_END);
    csv_reader_free(&r);
}

static void test_writer(void)
{
    struct out o = {{0}, 0};
    const char *vals[4] = {"x", NULL, "a \"q\"", "l1\nl2"};
    size_t lens[4] = {1, 0, 5, 5};
    CHECK_INT(csv_write_row(vals, lens, 4, ',', emit, &o), 0);
    CHECK_STR(o.data, "x,,\"a \"\"q\"\"\",\"l1\nl2\"\n");
    o.len = 0;
    const char *v2[2] = {"a,b", "c;d"};
    size_t l2[2] = {3, 3};
    CHECK_INT(csv_write_row(v2, l2, 2, ';', emit, &o), 0);
    CHECK_STR(o.data, "a,b;\"c;d\"\n");
    CHECK(csv_needs_quotes("a\rb", 3, ','));
    CHECK(!csv_needs_quotes("a b", 3, ','));
    CHECK_INT(csv_utf8_check("abc", 3), 3);
    CHECK_INT(csv_utf8_check("a\xE2\x82", 3), 1);
    CHECK_INT(csv_utf8_check("\xF4\x90\x80\x80", 4), 0);   /* > U+10FFFF */
}

/* err_field: the 0-based field at fault, -1 when the row's shape is. */
static void bad_field(const char *in, long field)
{
    struct csv_reader r;
    if (csv_reader_init_mem(&r, in, strlen(in), 0, 1024, 64) != 0) {
        check_failures++;
        return;
    }
    enum csv_status st;
    while ((st = csv_next(&r)) == CSV_ROW)
        ;
    CHECK_INT(st, CSV_ERROR);
    CHECK_INT(r.err_field, field);
    csv_reader_free(&r);
}

static void test_error_field(void)
{
    bad_field("a,b,c\n1,x\"y,3\n", 1);            /* quote inside the second field */
    bad_field("a,b,c\n1,2,\"open\n", 2);           /* never closed: the third */
    bad_field("a,b,c\n\"q\"z,2,3\n", 0);            /* after a closing quote: the first */
    bad_field("a,b,c\n1,2,\xff\n", 2);             /* bad UTF-8 in the third */
    bad_field("a,b,c\n1,2\n", -1);                  /* too few fields */
    bad_field("a,b,c\n1,2,3,4\n", -1);              /* too many */
}

int main(void)
{
    test_error_field();
    test_plain_and_line_endings();
    test_quoting();
    test_bom_and_delimiters();
    test_malformed();
    test_limits();
    test_fields_and_lines();
    test_writer();
    CHECK_DONE();
}
