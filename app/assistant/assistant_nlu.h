/* assistant_nlu: the assistant's understanding of one message, built on
 * period (dates), lexicon (categories, merchants) and intent (rules).
 * Pure: no I/O; the caller supplies today's date and the user's own
 * merchants and categories. Never fails: what cannot be placed yields
 * clarification.needed. Defaults when the question names no period are
 * listed in docs/assistant.md. */
#ifndef TALLY_ASSISTANT_NLU_H
#define TALLY_ASSISTANT_NLU_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/limits.h"

struct nlu_vocab {
    const char **merchant_keys;      /* text_fold()ed, most used first */
    const char **merchant_names;     /* display forms */
    size_t merchant_count;
    const char **category_keys;
    const char **category_names;
    size_t category_count;
};

struct nlu_result {
    char lang[3];                    /* "fr" | "en" */
    const char *intent;              /* "transaction_search.by_merchant", ... (static) */
    double confidence;
    bool period_found;               /* named in the message (else a default) */
    bool period_invalid;             /* e.g. "31 février" */
    char from[36], to[36];           /* YYYY-MM-DD, inclusive (sized for any int) */
    char period_label[32];
    char category[LIMIT_TEXT_FIELD_BYTES + 1];      /* display form, "" if none */
    char category_key[LIMIT_TEXT_FIELD_BYTES + 1];
    char merchant[LIMIT_TEXT_FIELD_BYTES + 1];
    char merchant_key[LIMIT_TEXT_FIELD_BYTES + 1];
    char merchant_phrase[128];       /* merchant named but not among the user's */
    bool spending_only;              /* spending words, not "transactions"/income */
};

void nlu_understand(const char *message, size_t len, int today_y, int today_m, int today_d,
                    const struct nlu_vocab *vocab, const char *user_language, struct nlu_result *out);

#endif
