/* datasets_import: POST /api/v1/users/{id}/transactions/import. A bank
 * export (`,` or `;`, decimal comma or point, DD/MM/YYYY or YYYY-MM-DD,
 * English or French column names matched case- and accent-insensitively)
 * becomes transaction items validated by finance's own rules
 * (finance_validate_items), all or nothing, rejects naming the CSV line; a
 * line break or tab inside a text field becomes a space.
 * The file is kept as the next version of the user's `transactions-import`
 * dataset and every inserted transaction records it, in one database
 * transaction. Without an external_id, a row's id is
 * "csv-" + the first 32 hex digits of SHA-256 over
 * date US amount_cents US merchant US description US n (US = 0x1F, n = the
 * row's 1-based rank among identical rows of the file), so re-importing a
 * file inserts nothing (docs/datasets.md). */
#ifndef TALLY_DATASETS_IMPORT_H
#define TALLY_DATASETS_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "datasets.h"

#define DATASETS_IMPORT_MAX_ROWS 100000
#define DATASETS_IMPORT_BATCH    2000     /* rows per INSERT statement */

struct datasets_import_result {
    long inserted, duplicates;
    int64_t dataset_id;
    int version;
    char delimiter;
};

/* *rejected (owned by the caller) is set when rows are invalid (422). */
enum err datasets_import(struct tally_ctx *ctx, const struct datasets_who *who, int64_t user_id,
                         const struct datasets_input *in, char delim, struct datasets_import_result *out,
                         struct json_object **rejected, struct datasets_error *er);
/* Normalises a bank amount ("1 234,56", "-42,50", "1,234.56") to "1234.56"
 * in out. Returns 0, or -1 when it does not look like an amount (left as is). */
int datasets_import_amount(const char *s, char *out, size_t cap);
/* "DD/MM/YYYY" -> "YYYY-MM-DD" in out (11 bytes); anything else is copied. */
void datasets_import_date(const char *s, char out[16]);

#endif
