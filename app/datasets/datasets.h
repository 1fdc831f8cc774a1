/* datasets: versioned tables (API.md "Datasets"), the service layer. It
 * owns the tables of sql/008_datasets (datasets, dataset_versions,
 * dataset_chunks): uploads with canonical-form SHA-256 dedupe, version
 * reads (metadata, rows pages, download, lineage, diff), transforms
 * (preview and apply), pinning and retention. Storage (docs/datasets.md):
 * a version's canonical CSV rows in chunks of about DATASETS_CHUNK_BYTES,
 * compressed by PostgreSQL, so a rows page reads one or two chunks.
 *
 * Every function takes a tally_ctx (worker, job runner, CLI alike) and the
 * caller's identity; a dataset of another user is ERR_NOT_FOUND. Failures
 * that the API reports with more than a message (a CSV line, a step) fill
 * a struct datasets_error. */
#ifndef TALLY_DATASETS_H
#define TALLY_DATASETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/errors.h"
#include "datasets_ops.h"
#include "../csv/csv.h"

struct buf;
struct json_object;
struct tally_ctx;

#define DATASETS_IMPORT_NAME        "transactions-import"
#define DATASETS_KEEP_DEFAULT       10
#define DATASETS_MAX_ROWS_DEFAULT   2000000
#define DATASETS_MAX_COLUMNS        512      /* hard: also the default of dataset_max_columns */
#define DATASETS_MAX_ROW_BYTES      (1024 * 1024)
#define DATASETS_SAMPLE_ROWS        20
#define DATASETS_DIFF_SAMPLE        20
#define DATASETS_ROWS_LIMIT_MAX     1000

struct datasets_who {
    int64_t user_id;                 /* 0 for an admin token */
    bool admin;
};

struct datasets_error {
    const char *field;
    char message[256];
    long line, column;               /* > 0: a CSV error at that place */
    int step;                        /* >= 0: the transform step at fault */
    char reason[DATASETS_REASON_BYTES];
};

/* Limits read from the config (docs/config.md). */
struct datasets_limits {
    long max_rows;
    long max_columns;
    int keep_versions;
};
void datasets_limits_get(const struct tally_ctx *ctx, struct datasets_limits *out);

/* A version as stored (the metadata row). */
struct datasets_version {
    int64_t id, dataset_id, owner;   /* owner 0: an admin's dataset */
    const char *name;
    int version, parent;             /* parent 0: an upload */
    int64_t rows, content_bytes;
    bool pinned, purged;
    const char *sha256, *created_at;
    int64_t created_by;              /* 0: an admin token */
    struct json_object *columns;     /* owned */
    struct json_object *steps;       /* owned, NULL for an upload */
};
void datasets_version_free(struct datasets_version *v);

/* Sees every row an upload parses, the header first (rd->rows_read == 1),
 * before it is stored; anything but ERR_NONE stops the upload with that
 * error (er filled by the hook). */
typedef enum err (*datasets_row_hook)(void *ud, const struct csv_reader *rd, struct datasets_error *er);

/* An upload's CSV: a buffer (read NULL), or bytes pulled through read (a
 * streamed request body: the upload holds one 64 KiB window and one row,
 * never the file). hook, if set, sees each row (the import's one pass). */
struct datasets_input {
    const char *data;
    size_t len;
    csv_read_fn read;
    void *read_ud;
    datasets_row_hook hook;
    void *hook_ud;
};
static inline struct datasets_input datasets_input_mem(const char *data, size_t len)
{
    return (struct datasets_input){.data = data, .len = len};
}

/* Parses and stores a CSV as the next version of (owner, name); an equal
 * table already stored under that name answers that version (*created
 * false). owner 0: no owner (admin). Inside a transaction the caller opened
 * when in_tx (the import), else in its own; on any error nothing is kept. */
enum err datasets_upload(struct tally_ctx *ctx, const struct datasets_who *who, int64_t owner, const char *name,
                         const struct datasets_input *in, char delim, bool in_tx, struct datasets_version *out,
                         bool *created, struct datasets_error *er);
struct json_object *datasets_version_json(const struct datasets_version *v, bool with_stats);

enum err datasets_list(struct tally_ctx *ctx, const struct datasets_who *who, const char *name,
                       struct json_object **out);
enum err datasets_get(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id,
                      struct json_object **out);
enum err datasets_versions(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id,
                           struct json_object **out);
/* One version's metadata; ERR_NOT_FOUND for another user's or a missing one. */
enum err datasets_find(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id, int version,
                       struct datasets_version *out);
/* {columns, rows, total}; a purged version gives ERR_NOT_FOUND with *gone. */
enum err datasets_rows(struct tally_ctx *ctx, const struct datasets_version *v, long offset, long limit,
                       struct json_object **out);
/* The canonical CSV (header + rows: v->content_bytes bytes) handed to emit
 * piece by piece. ERR_GONE for a purged version (checked before the first
 * byte: datasets_download_check says so without writing anything). */
enum err datasets_download(struct tally_ctx *ctx, const struct datasets_version *v, csv_emit_fn emit, void *ud);
enum err datasets_download_check(struct tally_ctx *ctx, const struct datasets_version *v);
enum err datasets_lineage(struct tally_ctx *ctx, const struct datasets_version *v, struct json_object **out);
enum err datasets_diff(struct tally_ctx *ctx, const struct datasets_version *v, const struct datasets_version *w,
                       struct json_object **out);
/* Runs body {"steps", "preview", "force"} on v. Preview: *out the preview
 * (nothing stored); apply: *out the new version (201). */
enum err datasets_transform(struct tally_ctx *ctx, const struct datasets_who *who, const struct datasets_version *v,
                            struct json_object *body, struct json_object **out, bool *created,
                            struct datasets_error *er);
enum err datasets_pin(struct tally_ctx *ctx, const struct datasets_version *v, bool pin);
/* Purges the content of every version outside the last keep of its dataset
 * that is not pinned. */
enum err datasets_retention(struct tally_ctx *ctx, int keep, long *purged);

#endif
