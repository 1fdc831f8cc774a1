/* finance: users and transactions, the core of the finance API: bulk
 * all-or-nothing insert with external_id de-duplication, filtered search
 * with aggregates over the whole filtered set and keyset (cursor)
 * pagination, and grouped summaries. Amounts are integer cents end to end.
 * Category and merchant matching uses the folded keys stored beside them
 * (text_fold: lower case, accents removed), so it is case- and
 * accent-insensitive and can use an index. */
#ifndef TALLY_FINANCE_H
#define TALLY_FINANCE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/errors.h"
#include "../core/module.h"
#include "../core/router.h"

/* The rules of a new user, shared by POST /api/v1/users and `tallyctl user
 * create` so both say the same thing: NULL if name, currency and language
 * (NULL: the default) are acceptable, else the message (written to msg)
 * with *field naming the field. */
const char *finance_user_problem(const char *name, const char *currency, const char *language, const char **field,
                                 char *msg, size_t cap);

/* tallyctl user create | count | list (finance_cli.c). */
#define FINANCE_CLI_COMMANDS 3
extern const struct module_command finance_cli_commands[FINANCE_CLI_COMMANDS];

extern const struct tally_module finance_module;

struct json_object;

/* Validates a JSON array of transaction items exactly as POST
 * …/transactions does (the CSV import reuses it). Returns the valid rows in
 * insert form ({date, amount_cents, currency, external_id, merchant,
 * merchant_key, category, category_key, description}; caller puts it);
 * appends {index, field, message} objects to rejected; *invalid_items
 * counts the items with at least one problem. */
struct json_object *finance_validate_items(struct json_object *items, const char *user_currency,
                                          struct json_object *rejected, int *invalid_items);
struct db;
/* Inserts validated rows (ON CONFLICT (user_id, external_id) DO NOTHING),
 * recording the dataset version they came from (dataset_id 0: none).
 * *inserted = rows actually inserted. */
enum err finance_insert_rows(struct db *db, int64_t user_id, struct json_object *rows, int64_t dataset_id,
                             int dataset_version, int64_t *inserted);

#endif
