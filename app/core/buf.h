/* buf: a growable byte buffer with a hard size limit, for responses built
 * piece by piece (Prometheus text, HTML). Appends past the limit fail and
 * set `overflow`, so callers check once at the end. */
#ifndef TALLY_BUF_H
#define TALLY_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;                  /* NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t limit;
    bool overflow;
};

void buf_init(struct buf *b, size_t limit);
bool buf_append(struct buf *b, const char *s, size_t n);
bool buf_puts(struct buf *b, const char *s);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prometheus text: the # HELP and # TYPE lines of a metric family. */
bool buf_metric_header(struct buf *b, const char *name, const char *type, const char *help);
/* Hands the data over (caller frees) and resets b. */
char *buf_take(struct buf *b, size_t *len);
void buf_free(struct buf *b);

#endif
