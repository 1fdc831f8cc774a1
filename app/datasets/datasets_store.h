/* datasets_store: internals shared by the service files of datasets
 * (datasets.c, datasets_upload.c, datasets_transform.c, datasets_diff.c):
 * reading a version's stored chunks, writing new ones (DATASETS_STORE_BATCH
 * to a statement), the dataset and version rows, the error helper. Not for
 * other modules: they use datasets.h. */
#ifndef TALLY_DATASETS_STORE_H
#define TALLY_DATASETS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datasets.h"
#include "datasets_table.h"
#include "../core/buf.h"
#include "../store/db.h"

struct tally_ctx;
struct csv_field;

/* Fills er (if any) and returns e. */
enum err datasets_fail(struct datasets_error *er, enum err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A version from row `row` of a SELECT of DATASETS_VERSION_COLUMNS. */
void datasets_version_read(struct tally_ctx *ctx, const db_result *r, int row, struct datasets_version *v);
/* Names and types of a version's columns (arena). */
int datasets_schema(struct tally_ctx *ctx, const struct datasets_version *v, char ***names,
                    enum datasets_type **types, size_t *ncols);
enum err datasets_find_by_id(struct tally_ctx *ctx, int64_t version_id, struct datasets_version *out);

/* A row callback: 0 goes on, DATASETS_NO_MEMORY stops (ERR_PAYLOAD_TOO_LARGE), another < 0 fails. */
typedef int (*datasets_row_fn)(void *ud, long row, const struct csv_field *f, size_t n);
#define DATASETS_NO_MEMORY (-2)
/* The whole version in memory (the arena); ERR_PAYLOAD_TOO_LARGE past its cap. */
enum err datasets_load(struct tally_ctx *ctx, const struct datasets_version *v, struct datasets_table *t);
/* Stats of every column of t, as stored in a version's "columns". */
struct json_object *datasets_table_columns_json(const struct datasets_table *t);

/* Chunks are written DATASETS_STORE_BATCH to a statement: a round trip
 * per 32 KiB was most of an upload's wall time on a loaded machine. */
#define DATASETS_STORE_BATCH 16

struct datasets_store_ctx {
    struct tally_ctx *ctx;
    char version_id[32];
    enum err err;
    int n;                                     /* chunks waiting */
    char meta[DATASETS_STORE_BATCH][3][24];    /* seq, first_row, row_count */
    size_t off[DATASETS_STORE_BATCH + 1];      /* each chunk's start in data */
    struct buf data;                           /* the waiting chunks' text, each NUL-terminated */
};
void datasets_store_init(struct datasets_store_ctx *sc, struct tally_ctx *ctx, int64_t version_id);
/* A datasets_flush_fn: queues a chunk, writes the queue when full or at the end (seq -1). */
int datasets_store_chunk(void *ud, int seq, long first_row, long row_count, const char *data, size_t len);
void datasets_store_free(struct datasets_store_ctx *sc);
/* The dataset row of (owner, name), created if missing, locked for the transaction. */
enum err datasets_lock_dataset(struct tally_ctx *ctx, int64_t owner, const char *name, int64_t *id);
/* Inserts the version row (the next number); its id in *version_id. */
enum err datasets_insert_version(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id, int parent,
                                 struct json_object *steps, const char *sha, long rows, struct json_object *columns,
                                 uint64_t bytes, int64_t *version_id);
/* COMMIT (e == ERR_NONE) or ROLLBACK, unless in_tx (the caller's transaction). */
enum err datasets_tx_end(struct tally_ctx *ctx, enum err e, bool in_tx);

#endif
