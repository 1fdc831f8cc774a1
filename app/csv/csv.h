/* csv: a streaming RFC 4180 reader and a canonical writer. Pure C, no I/O of
 * its own: the reader pulls bytes through a callback (or reads a buffer in
 * place) and hands out one row at a time, so its memory is bounded by the
 * longest row (max_row_bytes), never by the file.
 *
 * Reader rules: a UTF-8 BOM is dropped; lines end with CRLF, LF or a lone
 * CR; fields may be quoted ("a ""b""", delimiters and line breaks inside);
 * a line break inside a quoted field is kept as LF whatever the file used,
 * so a table's values do not depend on its line endings. The delimiter is
 * `,` `;` or tab, given or detected from the header line (the most frequent
 * of the three outside quotes; `,` when none or tied). Every row must have
 * the header's number of fields. Completely empty physical lines are
 * skipped when the header has more than one field (with one field they are
 * rows whose only value is missing). Errors carry the physical line
 * (from 1) and the byte column (from 1) where the problem was seen: a quote
 * inside an unquoted field, a character after a closing quote, a quoted
 * field never closed, a ragged row, invalid UTF-8, a row over the limits.
 *
 * Writer: the canonical form is `,`-delimited, LF-terminated, no BOM, and
 * quotes a field only when it holds `,` `"` CR or LF (or starts with U+FEFF,
 * which would read back as a BOM). */
#ifndef TALLY_CSV_H
#define TALLY_CSV_H

#include <stdbool.h>
#include <stddef.h>

#define CSV_IN_BYTES        (64 * 1024)    /* callback mode: bytes pulled at a time */
#define CSV_ERROR_BYTES     160

/* Reads up to cap bytes into buf: the count, 0 at the end, -1 on error. */
typedef long (*csv_read_fn)(void *ud, char *buf, size_t cap);
/* Receives output bytes; returns 0, or -1 to stop the writer. */
typedef int (*csv_emit_fn)(void *ud, const char *data, size_t len);

struct csv_field {
    const char *ptr;               /* NUL-terminated, valid until the next row */
    size_t len;
    bool quoted;
};

enum csv_status { CSV_ROW = 1, CSV_END = 0, CSV_ERROR = -1 };

struct csv_reader {
    /* input */
    csv_read_fn read;
    void *read_ud;
    const char *src;               /* current input window */
    size_t src_len, src_pos;
    bool eof;
    char *in;                      /* callback mode buffer (CSV_IN_BYTES) */
    /* dialect */
    char delim;                    /* 0 until known */
    bool bom_checked;
    bool skip_lf;                  /* the last byte was a CR: an LF next is part of it */
    /* the row being read */
    char *row;
    size_t row_len, row_cap, max_row_bytes;
    size_t field_start;            /* offset in row of the field being read */
    size_t *starts;                /* offset of each field in row */
    bool *quoted;
    struct csv_field *fields;
    size_t nfields, fields_cap, max_fields;
    size_t expect_fields;          /* the header's count, 0 before it */
    long rows_read;                /* rows returned, header included */
    /* position */
    long line, col;                /* of the next byte, from 1 */
    long row_line;                 /* line where the current row started */
    /* error */
    long err_line, err_col;
    long err_field;                /* 0-based field of the row at fault; -1: the row's number of fields */
    char err_msg[CSV_ERROR_BYTES];
};

/* delim: ',' ';' '\t' or 0 to detect. Returns 0, or -1 (out of memory). */
int csv_reader_init(struct csv_reader *r, csv_read_fn read, void *ud, char delim, size_t max_row_bytes,
                    size_t max_fields);
/* The same over a buffer read in place (no copy of the input). */
int csv_reader_init_mem(struct csv_reader *r, const char *data, size_t len, char delim, size_t max_row_bytes,
                        size_t max_fields);
void csv_reader_free(struct csv_reader *r);
/* Input without a header: every row must have nfields fields (with one
 * field, an empty line is a row whose value is missing). */
void csv_reader_expect(struct csv_reader *r, size_t nfields);
/* Next row into r->fields / r->nfields (the first is the header).
 * CSV_ERROR leaves err_line, err_col, err_msg set. */
enum csv_status csv_next(struct csv_reader *r);
/* Line the last returned row started on. */
static inline long csv_row_line(const struct csv_reader *r) { return r->row_line; }

/* Parses a delimiter name: "," ";" "tab" "\t" ("comma", "semicolon" too). 0 if unknown. */
char csv_delim_parse(const char *name);
/* Whether a value must be quoted in the canonical form (delimiter ','). */
bool csv_needs_quotes(const char *s, size_t len, char delim);
/* Writes one row: fields (NULL ptr = missing, written empty), delimiter, LF. */
int csv_write_row(const char *const *vals, const size_t *lens, size_t n, char delim, csv_emit_fn emit, void *ud);
/* Writes one field, quoted if needed (no delimiter, no line end). */
int csv_write_field(const char *s, size_t len, char delim, csv_emit_fn emit, void *ud);
/* UTF-8 check (no overlongs, no surrogates, <= U+10FFFF). Returns the
 * offset of the first bad byte, or len when the text is valid. */
size_t csv_utf8_check(const char *s, size_t len);

#endif
