/* csv: see csv.h. The reader is one byte-at-a-time state machine over an
 * input window; the window is the whole buffer in memory mode and a
 * CSV_IN_BYTES buffer refilled through the callback otherwise. A row's
 * bytes accumulate in r->row (each field NUL-terminated), bounded by
 * max_row_bytes. Errors are sticky: after one, csv_next keeps failing. */
#include "csv.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum csv_state { CSV_S_START, CSV_S_UNQUOTED, CSV_S_QUOTED, CSV_S_QUOTE_IN_QUOTED };

static int csv_reader_alloc(struct csv_reader *r, char delim, size_t max_row_bytes, size_t max_fields)
{
    r->delim = delim;
    r->max_row_bytes = max_row_bytes < 16 ? 16 : max_row_bytes;
    r->max_fields = max_fields < 1 ? 1 : max_fields;
    r->row_cap = r->max_row_bytes + 2 < 256 ? r->max_row_bytes + 2 : 256;
    r->fields_cap = 16;
    r->row = malloc(r->row_cap);
    r->starts = malloc(r->fields_cap * sizeof(*r->starts));
    r->quoted = malloc(r->fields_cap * sizeof(*r->quoted));
    r->fields = malloc(r->fields_cap * sizeof(*r->fields));
    r->line = 1;
    r->col = 1;
    if (r->row == NULL || r->starts == NULL || r->quoted == NULL || r->fields == NULL) {
        csv_reader_free(r);
        return -1;
    }
    return 0;
}

int csv_reader_init(struct csv_reader *r, csv_read_fn read, void *ud, char delim, size_t max_row_bytes,
                    size_t max_fields)
{
    memset(r, 0, sizeof(*r));
    r->read = read;
    r->read_ud = ud;
    r->in = malloc(CSV_IN_BYTES);
    if (r->in == NULL)
        return -1;
    r->src = r->in;
    return csv_reader_alloc(r, delim, max_row_bytes, max_fields);
}

int csv_reader_init_mem(struct csv_reader *r, const char *data, size_t len, char delim, size_t max_row_bytes,
                        size_t max_fields)
{
    memset(r, 0, sizeof(*r));
    r->src = data;
    r->src_len = len;
    r->eof = true;
    return csv_reader_alloc(r, delim, max_row_bytes, max_fields);
}

void csv_reader_free(struct csv_reader *r)
{
    free(r->in);
    free(r->row);
    free(r->starts);
    free(r->quoted);
    free(r->fields);
    r->in = r->row = NULL;
    r->starts = NULL;
    r->quoted = NULL;
    r->fields = NULL;
}

void csv_reader_expect(struct csv_reader *r, size_t nfields)
{
    r->expect_fields = nfields;
}

static enum csv_status csv_fail(struct csv_reader *r, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum csv_status csv_fail(struct csv_reader *r, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A failure of the row as a whole (its number of fields): no one field. */
static enum csv_status csv_fail_shape(struct csv_reader *r)
{
    r->err_field = -1;
    return CSV_ERROR;
}

static enum csv_status csv_fail(struct csv_reader *r, long line, long col, const char *fmt, ...)
{
    if (r->err_msg[0] != '\0')
        return CSV_ERROR;
    r->err_line = line;
    r->err_col = col;
    r->err_field = (long)r->nfields;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_msg, sizeof(r->err_msg), fmt, ap);
    va_end(ap);
    if (r->err_msg[0] == '\0')
        snprintf(r->err_msg, sizeof(r->err_msg), "malformed CSV");
    return CSV_ERROR;
}

/* Pulls more input when the window is used up: 1 if bytes are available,
 * 0 at the end, -1 on a read error. */
static int csv_refill(struct csv_reader *r)
{
    if (r->src_pos < r->src_len)
        return 1;
    if (r->eof)
        return 0;
    long n = r->read(r->read_ud, r->in, CSV_IN_BYTES);
    if (n < 0)
        return -1;
    if (n == 0) {
        r->eof = true;
        return 0;
    }
    r->src_len = (size_t)n;
    r->src_pos = 0;
    return 1;
}

/* Callback mode: fills the first window (BOM check, delimiter detection). */
static int csv_fill_start(struct csv_reader *r)
{
    if (r->read == NULL)
        return 0;
    while (!r->eof && r->src_len < CSV_IN_BYTES) {   /* the header line for detection */
        long n = r->read(r->read_ud, r->in + r->src_len, CSV_IN_BYTES - r->src_len);
        if (n < 0)
            return -1;
        if (n == 0)
            r->eof = true;
        r->src_len += (size_t)n;
    }
    return 0;
}

/* The most frequent of , ; tab outside quotes on the first line in the window. */
static char csv_detect(const char *s, size_t len)
{
    size_t comma = 0, semi = 0, tab = 0;
    bool inq = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '"')
            inq = !inq;
        else if (!inq && (c == '\n' || c == '\r'))
            break;
        else if (!inq && c == ',')
            comma++;
        else if (!inq && c == ';')
            semi++;
        else if (!inq && c == '\t')
            tab++;
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

size_t csv_utf8_check(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return i;                        /* NUL: values are C strings */
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

static bool csv_row_grow(struct csv_reader *r, size_t need)
{
    if (need <= r->row_cap)
        return true;
    size_t cap = r->row_cap;
    while (cap < need)
        cap *= 2;
    if (cap > r->max_row_bytes + 2)
        cap = r->max_row_bytes + 2;
    if (cap < need)
        return false;
    char *p = realloc(r->row, cap);
    if (p == NULL)
        return false;
    r->row = p;
    r->row_cap = cap;
    return true;
}

static enum csv_status csv_end_field(struct csv_reader *r, bool quoted, long fline, long fcol)
{
    if (r->nfields >= r->max_fields)
        return csv_fail(r, fline, fcol, "row has more than %zu fields", r->max_fields), csv_fail_shape(r);
    if (r->nfields == r->fields_cap) {
        size_t cap = r->fields_cap * 2;
        size_t *s = realloc(r->starts, cap * sizeof(*s));
        if (s == NULL)
            return csv_fail(r, fline, fcol, "out of memory");
        r->starts = s;
        bool *q = realloc(r->quoted, cap * sizeof(*q));
        if (q == NULL)
            return csv_fail(r, fline, fcol, "out of memory");
        r->quoted = q;
        struct csv_field *f = realloc(r->fields, cap * sizeof(*f));
        if (f == NULL)
            return csv_fail(r, fline, fcol, "out of memory");
        r->fields = f;
        r->fields_cap = cap;
    }
    size_t start = r->field_start;
    size_t flen = r->row_len - start;
    size_t bad = csv_utf8_check(r->row + start, flen);
    if (bad != flen)
        return csv_fail(r, fline, fcol + (quoted ? 1 : 0) + (long)bad, "invalid UTF-8 (or a NUL byte) in field %zu",
                        r->nfields + 1);
    if (!csv_row_grow(r, r->row_len + 1))
        return csv_fail(r, fline, fcol, "row longer than %zu bytes", r->max_row_bytes);
    r->row[r->row_len++] = '\0';
    r->field_start = r->row_len;
    r->starts[r->nfields] = start;
    r->quoted[r->nfields] = quoted;
    r->nfields++;
    return CSV_ROW;
}

static enum csv_status csv_end_row(struct csv_reader *r, long line, long col)
{
    if (r->expect_fields == 0) {
        r->expect_fields = r->nfields;
    } else if (r->nfields != r->expect_fields) {
        return csv_fail(r, line, col, "row has %zu fields, the header has %zu", r->nfields, r->expect_fields),
               csv_fail_shape(r);
    }
    for (size_t i = 0; i < r->nfields; i++) {
        size_t end = i + 1 < r->nfields ? r->starts[i + 1] : r->row_len;
        r->fields[i].ptr = r->row + r->starts[i];
        r->fields[i].len = end - r->starts[i] - 1;
        r->fields[i].quoted = r->quoted[i];
    }
    r->rows_read++;
    return CSV_ROW;
}

enum csv_status csv_next(struct csv_reader *r)
{
    if (r->err_msg[0] != '\0')
        return CSV_ERROR;
    if (!r->bom_checked) {
        r->bom_checked = true;
        if (csv_fill_start(r) != 0)
            return csv_fail(r, 1, 1, "could not read the input");
        if (r->src_len - r->src_pos >= 3 && memcmp(r->src + r->src_pos, "\xEF\xBB\xBF", 3) == 0)
            r->src_pos += 3;
        if (r->delim == 0)
            r->delim = csv_detect(r->src + r->src_pos, r->src_len - r->src_pos);
    }
    const char delim = r->delim;
    enum csv_state st = CSV_S_START;
    bool fquoted = false;
    long fline = r->line, fcol = r->col;          /* where the current field started */
    long qline = 0, qcol = 0;                     /* where its opening quote was */
    size_t row_bytes = 0;
    r->row_len = 0;
    r->field_start = 0;
    r->nfields = 0;
    r->row_line = r->line;
    for (;;) {
        if (r->src_pos == r->src_len) {
            int rf = csv_refill(r);
            if (rf < 0)
                return csv_fail(r, r->line, r->col, "could not read the input");
            if (rf == 0) {                        /* end of input */
                if (st == CSV_S_QUOTED)
                    return csv_fail(r, qline, qcol, "quoted field opened here is never closed");
                if (row_bytes == 0)
                    return CSV_END;
                if (csv_end_field(r, fquoted, fline, fcol) != CSV_ROW)
                    return CSV_ERROR;
                return csv_end_row(r, r->line, r->col);
            }
        }
        char c = r->src[r->src_pos++];
        if (r->skip_lf) {
            r->skip_lf = false;
            if (c == '\n')
                continue;
        }
        row_bytes++;
        switch (st) {
        case CSV_S_START:
            fquoted = false;
            fline = r->line;
            fcol = r->col;
            if (c == '"') {
                st = CSV_S_QUOTED;
                fquoted = true;
                qline = r->line;
                qcol = r->col;
                r->col++;
                continue;
            }
            /* fall through */
        case CSV_S_UNQUOTED:
        case CSV_S_QUOTE_IN_QUOTED:
            if (c == delim) {
                if (csv_end_field(r, fquoted, fline, fcol) != CSV_ROW)
                    return CSV_ERROR;
                if (r->expect_fields > 0 && r->nfields == r->expect_fields)
                    return csv_fail(r, r->line, r->col, "row has more fields than the header's %zu",
                                    r->expect_fields), csv_fail_shape(r);
                st = CSV_S_START;
                r->col++;
                continue;
            }
            if (c == '\n' || c == '\r') {
                long eline = r->line, ecol = r->col;
                if (c == '\r')
                    r->skip_lf = true;
                r->line++;
                r->col = 1;
                if (row_bytes == 1 && r->expect_fields != 1) {   /* an empty line */
                    row_bytes = 0;
                    r->row_line = r->line;
                    st = CSV_S_START;
                    continue;
                }
                if (csv_end_field(r, fquoted, fline, fcol) != CSV_ROW)
                    return CSV_ERROR;
                return csv_end_row(r, eline, ecol);
            }
            if (st == CSV_S_QUOTE_IN_QUOTED) {
                if (c == '"') {
                    st = CSV_S_QUOTED;
                    break;                       /* appended below */
                }
                return csv_fail(r, r->line, r->col, "unexpected character after a closing quote");
            }
            if (c == '"')
                return csv_fail(r, r->line, r->col, "quote inside an unquoted field (quote the whole field)");
            st = CSV_S_UNQUOTED;
            break;
        case CSV_S_QUOTED:
            if (c == '"') {
                st = CSV_S_QUOTE_IN_QUOTED;
                r->col++;
                continue;
            }
            if (c == '\r' || c == '\n') {
                if (c == '\r')
                    r->skip_lf = true;
                r->line++;
                r->col = 0;                      /* incremented below */
                c = '\n';
            }
            break;
        }
        if (r->row_len + 1 >= r->max_row_bytes || !csv_row_grow(r, r->row_len + 2))
            return csv_fail(r, r->line, r->col, "row longer than %zu bytes", r->max_row_bytes);
        r->row[r->row_len++] = c;
        r->col++;
    }
}

char csv_delim_parse(const char *name)
{
    if (name == NULL)
        return 0;
    if (strcmp(name, ",") == 0 || strcmp(name, "comma") == 0)
        return ',';
    if (strcmp(name, ";") == 0 || strcmp(name, "semicolon") == 0)
        return ';';
    if (strcmp(name, "tab") == 0 || strcmp(name, "\t") == 0)
        return '\t';
    return 0;
}

bool csv_needs_quotes(const char *s, size_t len, char delim)
{
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        return true;                 /* a leading U+FEFF must not read back as a BOM */
    for (size_t i = 0; i < len; i++)
        if (s[i] == delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            return true;
    return false;
}

int csv_write_field(const char *s, size_t len, char delim, csv_emit_fn emit, void *ud)
{
    if (s == NULL || len == 0)
        return 0;
    if (!csv_needs_quotes(s, len, delim))
        return emit(ud, s, len);
    if (emit(ud, "\"", 1) != 0)
        return -1;
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') {
            if (emit(ud, s + from, i + 1 - from) != 0)   /* up to and with the quote */
                return -1;
            from = i;                                    /* the quote again: doubled */
        }
    }
    if (emit(ud, s + from, len - from) != 0)
        return -1;
    return emit(ud, "\"", 1);
}

int csv_write_row(const char *const *vals, const size_t *lens, size_t n, char delim, csv_emit_fn emit, void *ud)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && emit(ud, &delim, 1) != 0)
            return -1;
        if (csv_write_field(vals[i], vals[i] ? lens[i] : 0, delim, emit, ud) != 0)
            return -1;
    }
    return emit(ud, "\n", 1);
}
