/* opportunities_score: the deterministic scorer of recruiter opportunities
 * against a user's preferences (docs/opportunities.md has the rules and
 * their numbers). Pure: no I/O, no clock, no locale; the same inputs give
 * the same score and the same details, so a job run twice agrees with
 * itself. Every rule that applies leaves one entry in the details, and the
 * entries' points add up to `raw`; the score is raw clamped to 0..100. */
#ifndef TALLY_OPPORTUNITIES_SCORE_H
#define TALLY_OPPORTUNITIES_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPP_SCORE_BASE              40
#define OPP_SCORE_KEYWORD_CAP       40    /* keyword points above this are cut (one "keyword_cap" rule) */
#define OPP_SCORE_AVOID_POINTS      (-30) /* per avoided word found */
#define OPP_SCORE_SENIORITY_MATCH   10
#define OPP_SCORE_SENIORITY_MISS    (-15)
#define OPP_SCORE_REMOTE_MATCH      10
#define OPP_SCORE_REMOTE_MISS       (-10)
#define OPP_SCORE_SALARY_FULL       10    /* the whole range is >= min_salary */
#define OPP_SCORE_SALARY_PARTIAL    5     /* only the top of the range reaches it */
#define OPP_SCORE_SALARY_BELOW      (-20)
#define OPP_SCORE_TIER_A            75
#define OPP_SCORE_TIER_B            50

#define OPP_KEYWORDS_MAX            50
#define OPP_AVOID_MAX               50
#define OPP_WORD_BYTES              65    /* 64 bytes + NUL */
#define OPP_KEYWORD_WEIGHT_MAX      50
#define OPP_RULES_MAX               (OPP_KEYWORDS_MAX + OPP_AVOID_MAX + 6)
#define OPP_RULE_DETAIL_BYTES       160

struct opportunities_keyword {
    char word[OPP_WORD_BYTES];
    int weight;                           /* 1..OPP_KEYWORD_WEIGHT_MAX */
};

/* Preferences; "unset" rules contribute nothing and are not listed. */
struct opportunities_prefs {
    struct opportunities_keyword keywords[OPP_KEYWORDS_MAX];
    int keyword_count;
    char avoid[OPP_AVOID_MAX][OPP_WORD_BYTES];
    int avoid_count;
    char seniority[16];                   /* intern|junior|senior|default, "" = unset */
    int remote;                           /* -1 unset, 0 on site wanted, 1 remote wanted */
    bool has_min_salary;
    int64_t min_salary;
    char currency[4];                     /* of min_salary */
};

/* The scored fields of one opportunity. */
struct opportunities_input {
    const char *title;
    const char *company;                  /* NULL = none */
    const char *message;                  /* NULL = none */
    int remote;                           /* -1 unknown, 0, 1 */
    bool has_salary_min, has_salary_max;
    int64_t salary_min, salary_max;
    const char *currency;
};

struct opportunities_rule {
    const char *rule;                     /* base, keyword, keyword_cap, avoid, seniority, remote, salary */
    int points;
    char detail[OPP_RULE_DETAIL_BYTES];
};

struct opportunities_score {
    int score;                            /* 0..100 */
    int raw;                              /* sum of the rules' points */
    char tier;                            /* 'A', 'B', 'C' */
    int rule_count;
    struct opportunities_rule rules[OPP_RULES_MAX];
};

/* Returns 0, or -1 when out of memory (out is then zeroed). */
int opportunities_score_compute(const struct opportunities_prefs *prefs, const struct opportunities_input *in,
                                struct opportunities_score *out);
char opportunities_tier_of(int score);
/* Words normalised for matching: case- and accent-folded, split on anything
 * that is not a letter, a digit, '+' or '#', joined by single spaces. The
 * result fits in len + 1 bytes. Returns its length. */
size_t opportunities_score_words(const char *s, char *out, size_t out_cap);

/* The seniority segment of a job title: "intern", "junior", "senior" or
 * "default" - Learning's rules (learning_segment_of, app/learning/). */
const char *opportunities_seniority_of(const char *title);

#endif
