/* assistant_nlu: the assistant's understanding of one message, built on
 * words (stems), period (dates), lexicon (categories, merchants) and intent
 * (rules). Pure: no I/O; the caller supplies today's date, the user's own
 * merchants and categories, and the previous question of the conversation
 * (for follow-ups). Never fails: what cannot be placed yields
 * clarification.needed, an unreadable period period_unrecognised, an
 * unknown category word unknown_category. Rules: docs/assistant.md. */
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
    bool period_unrecognised;        /* a time expression that could not be read */
    char from[36], to[36];           /* YYYY-MM-DD, inclusive (sized for any int) */
    char period_label[32];
    /* analytics.comparison: the period compared with, and how it was chosen:
     * "to_date" (same days of the previous unit), "whole" (the unit had only
     * begun: whole previous units), "named" (two periods in the message),
     * "previous" (the span just before). */
    char against_from[36], against_to[36];
    char compare_basis[16];
    char category[LIMIT_TEXT_FIELD_BYTES + 1];      /* display form, "" if none */
    char category_key[LIMIT_TEXT_FIELD_BYTES + 1];
    char unknown_category[64];       /* a category word the user has no category for */
    char merchant[LIMIT_TEXT_FIELD_BYTES + 1];      /* display form of the merchant named */
    char merchant_key[LIMIT_TEXT_FIELD_BYTES + 1];  /* folded; matches keys containing it (as ?merchant=) */
    char merchant_phrase[128];       /* merchant named but not among the user's */
    bool spending_only;              /* spending words, not "transactions"/income */
    bool followup;                   /* completed from the previous question */
};

/* previous: the conversation's previous understood question, or NULL. */
void nlu_understand(const char *message, size_t len, int today_y, int today_m, int today_d,
                    const struct nlu_vocab *vocab, const char *user_language, const struct nlu_result *previous,
                    struct nlu_result *out);

/* The static intent name equal to name, or NULL (restoring a stored intent). */
const char *nlu_intent_name(const char *name);

#endif
