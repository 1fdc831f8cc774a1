/* assistant_answer: the answer to one understood question: the searches
 * its intent needs (KPIs, category pie, merchant bars, 6-month trend,
 * unusual transactions, period comparison), the charts (Chart.js configs),
 * the insights and the response text. Reads PostgreSQL through the
 * request's context; writes nothing. See docs/assistant.md. */
#ifndef TALLY_ASSISTANT_ANSWER_H
#define TALLY_ASSISTANT_ANSWER_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/errors.h"
#include "assistant_nlu.h"

struct json_object;
struct request;

/* Everything one answer is built from. Strings live in the arena. */
struct answer {
    struct request *req;
    int64_t user_id;
    char currency[4];
    struct nlu_result nlu;
    const char *uid_text;
    bool spending_only;         /* "dépenses", "spent": debits only */
    /* KPIs over the filtered period. */
    int64_t count;
    __int128 total_cents;       /* a sum: exact at any row count */
    struct json_object *visualizations;
    struct json_object *insights;
    struct json_object *merchants_counted;   /* names behind a merchant filter */
    const struct nlu_vocab *vocab;
    char text[1024];
};

/* Fills c's KPIs, visualizations, insights and text for c->nlu. An error
 * only when PostgreSQL fails (or a user is missing: ERR_NOT_FOUND). */
enum err answer_build(struct answer *c);

#endif
