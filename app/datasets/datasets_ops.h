/* datasets_ops: the transform steps of API.md ("Datasets"): parse and
 * validate a whole chain against the columns and types each earlier step
 * produces, then run it on an in-memory table. Pure (json-c + arena).
 *
 * Semantics a test can compute by hand (docs/datasets.md has the table):
 * comparisons other than is_missing are false on a missing value (ne too);
 * mean/median/scale use the non-missing values; zscore divides by the
 * population standard deviation; a constant range (or zero deviation)
 * scales to 0; mode ties go to the smallest value; fill mean/median of an
 * integer column makes it a number column; dedupe keeps the first row of
 * each key, missing equals missing. */
#ifndef TALLY_DATASETS_OPS_H
#define TALLY_DATASETS_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "datasets_table.h"

struct arena;
struct json_object;

#define DATASETS_STEPS_MAX      64
#define DATASETS_REASON_BYTES   256
#define DATASETS_IN_VALUES_MAX  1000

enum datasets_op { DATASETS_OP_DROP_MISSING, DATASETS_OP_FILL_MISSING, DATASETS_OP_DROP_COLUMNS,
                   DATASETS_OP_RENAME, DATASETS_OP_CAST, DATASETS_OP_FILTER, DATASETS_OP_SCALE,
                   DATASETS_OP_DEDUPE };

enum datasets_cmp { DATASETS_CMP_EQ, DATASETS_CMP_NE, DATASETS_CMP_LT, DATASETS_CMP_LE, DATASETS_CMP_GT,
                    DATASETS_CMP_GE, DATASETS_CMP_CONTAINS, DATASETS_CMP_IN, DATASETS_CMP_IS_MISSING,
                    DATASETS_CMP_NOT_MISSING };

struct datasets_step {
    enum datasets_op op;
    const char *op_name;
    size_t *cols;                 /* column indices at this point of the chain */
    size_t ncols;
    bool has_threshold;
    double threshold;
    int strategy;                 /* fill: 0 mean, 1 median, 2 mode, 3 constant */
    int method;                   /* scale: 0 minmax, 1 zscore */
    const char *text;             /* fill constant / rename target */
    enum datasets_type type;      /* cast target; the filtered column's type */
    enum datasets_cmp cmp;
    const char **values;          /* filter operands as text (canonical) */
    double *nums;                 /* and as numbers for numeric columns */
    bool flag;                    /* filter on booleans: the value */
    size_t nvalues;
};

struct datasets_plan {
    struct datasets_step steps[DATASETS_STEPS_MAX];
    size_t nsteps;
};

/* Validates steps (a JSON array) for a table with these columns. On error:
 * -1, *bad_step = the 0-based step, reason filled. */
int datasets_ops_validate(struct arena *a, struct json_object *steps, char *const *names,
                          const enum datasets_type *types, size_t ncols, struct datasets_plan *plan,
                          int *bad_step, char reason[DATASETS_REASON_BYTES]);
/* Runs a validated plan on t in place. rows_after[i] = rows after step i;
 * warnings (a JSON array) gets human-readable strings. 0 or -1 (memory). */
int datasets_ops_run(const struct datasets_plan *plan, struct datasets_table *t, size_t *rows_after,
                     struct json_object *warnings);

#endif
