/* datasets_table: the pure part of datasets: value types and their
 * inference, per-column statistics, the in-memory table a transform works
 * on, and the sink that turns rows into the canonical CSV (hashing it and
 * cutting it into stored chunks as it goes). No database, no request.
 *
 * Types: integer (-?(0|[1-9][0-9]*), at most 18 digits: a leading zero
 * keeps a column a string), number (the same with an optional fraction, no
 * exponent), date (a real YYYY-MM-DD), boolean (true / false, lower case),
 * string. A column's type is the narrowest that all its non-missing values
 * fit (integer before number before date before boolean); an all-missing
 * column is a string. Empty = missing. */
#ifndef TALLY_DATASETS_TABLE_H
#define TALLY_DATASETS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"

struct arena;
struct json_object;
typedef struct evp_md_ctx_st EVP_MD_CTX;

enum datasets_type { DATASETS_INTEGER, DATASETS_NUMBER, DATASETS_DATE, DATASETS_BOOLEAN, DATASETS_STRING,
                     DATASETS_TYPES };

#define DATASETS_FITS_ALL      0x1Fu
#define DATASETS_FIT(t)        (1u << (t))
#define DATASETS_DISTINCT_MAX  (1u << 20)     /* distinct values counted exactly per column */
#define DATASETS_CHUNK_BYTES   (32 * 1024)    /* a stored chunk holds about this much CSV (docs/datasets.md) */
#define DATASETS_NUMBER_BYTES  32             /* a formatted number */

const char *datasets_type_name(enum datasets_type t);
int datasets_type_parse(const char *name);            /* -1 if unknown */
bool datasets_type_numeric(enum datasets_type t);
/* Bit set of the types the text fits (string always). */
unsigned datasets_value_fits(const char *s, size_t len);
enum datasets_type datasets_type_of_fits(unsigned fits);
/* The value of a number's text (a value of an integer or number column),
 * correctly rounded: Clinger's fast path for up to 15 significant digits,
 * strtod beyond. */
double datasets_number(const char *s);
/* Shortest text that reads back as v (no exponent for ordinary magnitudes). */
void datasets_format_number(double v, char out[DATASETS_NUMBER_BYTES]);
/* A value as JSON by its column's type; NULL (JSON null) when missing. */
struct json_object *datasets_value_json(const char *s, enum datasets_type t);

/* Statistics of one column, fed a value at a time. */
struct datasets_stats {
    unsigned fits;
    long count, missing;
    double sum, sum_comp;                  /* Kahan */
    double min, max;
    bool have_num;
    char min_text[16], max_text[16];       /* dates */
    uint64_t *set;                         /* distinct value hashes, open addressing */
    size_t set_cap, set_len;
    bool distinct_capped;
};
void datasets_stats_init(struct datasets_stats *s);
int datasets_stats_add(struct datasets_stats *s, const char *v, size_t len);   /* v NULL or "" = missing */
/* The same for a row (value i into s[i]) or one column's values (NULL =
 * missing), in batches of DATASETS_STATS_BATCH: the hashes first, their
 * slots prefetched, then the inserts, so the cache misses of a batch
 * overlap instead of coming one after another. */
#define DATASETS_STATS_BATCH 16
int datasets_stats_add_row(struct datasets_stats *s, const char *const *vals, const size_t *lens, size_t n);
int datasets_stats_add_column(struct datasets_stats *s, const char *const *vals, size_t n);
void datasets_stats_free(struct datasets_stats *s);
/* {name, type, missing, distinct, min, max, mean} for the given type. */
struct json_object *datasets_stats_json(const struct datasets_stats *s, const char *name, enum datasets_type t);

/* A whole table in memory (column-major; cells NULL = missing). */
struct datasets_table {
    struct arena *arena;
    size_t ncols, nrows, cap_rows;
    char **names;
    enum datasets_type *types;
    const char ***cols;
};
int datasets_table_init(struct datasets_table *t, struct arena *a, size_t ncols, size_t cap_rows);
/* Appends a row, copying its values into the arena ("" becomes missing). */
int datasets_table_add_row(struct datasets_table *t, const char *const *vals, const size_t *lens);
/* One row as a JSON array of typed values. */
struct json_object *datasets_table_row_json(const struct datasets_table *t, size_t row);

/* Canonical CSV writer: header then rows; every byte goes into the SHA-256
 * (OpenSSL's libcrypto, which libpq already loads: 5-10x the portable C of
 * core/sha256 on this data, docs/datasets.md "Benchmark")
 * and, when flush is set, into chunks handed to flush (rows only). */
/* A chunk (data valid during the call only); seq -1 (data NULL) once at the end. */
typedef int (*datasets_flush_fn)(void *ud, int seq, long first_row, long row_count, const char *data, size_t len);
struct datasets_sink {
    EVP_MD_CTX *sha;                       /* libcrypto's SHA-256 (SHA-NI / AVX2 where the CPU has them) */
    struct buf chunk;
    datasets_flush_fn flush;
    void *ud;
    int seq;
    long rows, chunk_first, chunk_rows;
    uint64_t bytes;
    bool failed;
    bool no_hash;                          /* chunks only: the digest is known already */
};
void datasets_sink_init(struct datasets_sink *k, datasets_flush_fn flush, void *ud);
int datasets_sink_header(struct datasets_sink *k, const char *const *names, size_t n);
int datasets_sink_row(struct datasets_sink *k, const char *const *vals, const size_t *lens, size_t n);
/* Flushes the last chunk and writes the hex digest. 0 or -1. */
int datasets_sink_finish(struct datasets_sink *k, char hex[65]);
void datasets_sink_free(struct datasets_sink *k);
/* Writes a whole table through a sink. */
int datasets_table_write(const struct datasets_table *t, struct datasets_sink *k);

#endif
