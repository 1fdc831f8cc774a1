/* assistant_words: the words of one message as the assistant reads them.
 * A folded message (text_fold: lower case, no accents) is cut into at most
 * WORDS_MAX words; SMS spellings and a few multi-word forms are rewritten
 * to one canonical word ("cb" -> "combien", "avant-hier" -> "avanthier",
 * "week-end" -> "weekend"); each word gets its Snowball stems (French and
 * English, libstemmer). Cues are matched on stems (words_cue), so
 * "répartissent" and "répartition" meet the cue "répartir". Pure apart from
 * the two stemmers, created on first use and kept for the process. */
#ifndef TALLY_ASSISTANT_WORDS_H
#define TALLY_ASSISTANT_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#define WORDS_MAX      64
#define WORDS_BYTES    48
#define WORDS_STEM     24

struct words {
    char w[WORDS_MAX][WORDS_BYTES];     /* folded, canonical */
    char fr[WORDS_MAX][WORDS_STEM];     /* French stem */
    char en[WORDS_MAX][WORDS_STEM];     /* English stem */
    bool used[WORDS_MAX];               /* taken by the period grammar */
    int n;
};

/* Splits a folded text: letters, digits and '_' make words; digits joined
 * by '/', '.' or '-' stay one word ("12/05/19", "2026-10-03"). */
void words_split(const char *folded, struct words *out);

/* Splits without rewriting or stemming (merchant keys). */
void words_split_plain(const char *folded, struct words *out);

bool words_is(const struct words *w, int i, const char *word);
int words_find(const struct words *w, const char *word);
/* Does word i match the cue? Cue syntax: "=word" that exact word only;
 * "~word" any word whose stem starts with the cue's stem (a family:
 * répartir, répartition); "word" the same stem (or the same word). Words
 * and cues of 7+ letters also match within one typo. */
bool words_cue(const struct words *w, int i, const char *cue);
/* Index of the first word (from `from`) matching one of the cues, or -1. */
int words_find_cue(const struct words *w, int from, const char *const *cues);

/* Damerau-Levenshtein (optimal string alignment), 99 when too long. */
int words_distance(const char *a, const char *b);
/* The same when it is at most max, else max + 1 (stops early). */
int words_distance_within(const char *a, const char *b, int max);
/* Typos tolerated: none under 4 letters, 1 up to 7, 2 from 8. */
int words_tolerance(size_t len);
/* Length of s[0..len) without a trailing incomplete UTF-8 sequence. */
size_t words_utf8_cut(const char *s, size_t len);

#endif
