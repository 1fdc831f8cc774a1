/* libFuzzer target for the CSV reader (tests/fuzz/run). Properties: no
 * crash or sanitizer report; memory mode and callback mode (odd-sized reads)
 * agree row for row and on the error position; the canonical form written
 * from a parsed table parses back to the same canonical form. */
#include "csv/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fz_out {
    char *data;
    size_t len, cap;
};

static int fz_emit(void *ud, const char *d, size_t n)
{
    struct fz_out *o = ud;
    if (o->len + n > o->cap) {
        size_t cap = (o->len + n) * 2 + 64;
        char *p = realloc(o->data, cap);
        if (p == NULL)
            return -1;
        o->data = p;
        o->cap = cap;
    }
    memcpy(o->data + o->len, d, n);
    o->len += n;
    return 0;
}

struct fz_feed {
    const uint8_t *s;
    size_t len, pos;
};

static long fz_read(void *ud, char *buf, size_t cap)
{
    struct fz_feed *f = ud;
    size_t n = f->len - f->pos;
    size_t step = 1 + (f->pos % 5);
    if (n > step)
        n = step;
    if (n > cap)
        n = cap;
    memcpy(buf, f->s + f->pos, n);
    f->pos += n;
    return (long)n;
}

/* Canonical form of the whole input; returns the final status. */
static enum csv_status fz_canon(struct csv_reader *r, struct fz_out *o)
{
    enum csv_status st;
    while ((st = csv_next(r)) == CSV_ROW) {
        const char *vals[64];
        size_t lens[64];
        for (size_t i = 0; i < r->nfields; i++) {
            vals[i] = r->fields[i].ptr;
            lens[i] = r->fields[i].len;
        }
        if (csv_write_row(vals, lens, r->nfields, ',', fz_emit, o) != 0)
            abort();
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_reader a, b, c;
    struct fz_out oa = {0}, ob = {0}, oc = {0};
    struct fz_feed feed = {data, size, 0};
    if (csv_reader_init_mem(&a, (const char *)data, size, 0, 4096, 64) != 0 ||
        csv_reader_init(&b, fz_read, &feed, 0, 4096, 64) != 0)
        abort();
    enum csv_status sa = fz_canon(&a, &oa);
    enum csv_status sb = fz_canon(&b, &ob);
    /* the callback window is 64 KiB, larger than any fuzz input: same detection */
    if (sa != sb || oa.len != ob.len || (oa.len && memcmp(oa.data, ob.data, oa.len) != 0))
        abort();
    if (sa == CSV_ERROR && (a.err_line != b.err_line || a.err_col != b.err_col))
        abort();
    if (sa == CSV_END && oa.len > 0 && oa.data[0] != '\n') {   /* an empty 1-column header line is skipped */
        if (csv_reader_init_mem(&c, oa.data, oa.len, ',', 8192, 64) != 0)
            abort();
        enum csv_status sc = fz_canon(&c, &oc);
        if (sc != CSV_END || oc.len != oa.len || memcmp(oc.data, oa.data, oa.len) != 0)
            abort();
        csv_reader_free(&c);
    }
    csv_reader_free(&a);
    csv_reader_free(&b);
    free(oa.data);
    free(ob.data);
    free(oc.data);
    return 0;
}
