/* opportunities_score: see opportunities_score.h. Matching works on word
 * lists: the text and every keyword are normalised by
 * opportunities_score_words into " w1 w2 … " and a keyword matches when its
 * normalised form, padded with spaces, occurs in the padded text — whole
 * words only, multi-word keywords as consecutive words, "node.js" as
 * "node js" on both sides. */
#include "opportunities_score.h"
#include "../core/text.h"
#include "../learning/learning_segment.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool os_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '#' || c >= 0x80;
}

size_t opportunities_score_words(const char *s, char *out, size_t out_cap)
{
    if (out_cap == 0)
        return 0;
    size_t len = strlen(s);
    char *folded = malloc(len + 1);
    if (folded == NULL) {
        out[0] = '\0';
        return 0;
    }
    size_t n = text_fold(s, len, folded, len + 1);
    size_t o = 0;
    bool in_word = false;
    for (size_t i = 0; i < n && o + 1 < out_cap; i++) {
        unsigned char c = (unsigned char)folded[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (os_word_byte(c)) {
            if (!in_word && o > 0) {
                if (o + 2 >= out_cap)
                    break;
                out[o++] = ' ';
            }
            out[o++] = (char)c;
            in_word = true;
        } else {
            in_word = false;
        }
    }
    out[o] = '\0';
    free(folded);
    return o;
}

/* " words " of s, malloc'd (NULL s gives "  "). */
static char *os_padded(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    char *p = malloc(len + 3);
    if (p == NULL)
        return NULL;
    p[0] = ' ';
    size_t n = s ? opportunities_score_words(s, p + 1, len + 1) : 0;
    p[n + 1] = ' ';
    p[n + 2] = '\0';
    return p;
}

/* Does padded text hold the word sequence w (already normalised, non-empty)? */
static bool os_has(const char *padded, const char *w)
{
    char needle[OPP_WORD_BYTES + 2];
    size_t n = strlen(w);
    if (n == 0 || n + 3 > sizeof(needle))
        return false;
    needle[0] = ' ';
    memcpy(needle + 1, w, n);
    needle[n + 1] = ' ';
    needle[n + 2] = '\0';
    return strstr(padded, needle) != NULL;
}

/* Normalised copy of a keyword into out[OPP_WORD_BYTES]. */
static void os_norm(const char *w, char out[OPP_WORD_BYTES])
{
    opportunities_score_words(w, out, OPP_WORD_BYTES);
}

char opportunities_tier_of(int score)
{
    return score >= OPP_SCORE_TIER_A ? 'A' : score >= OPP_SCORE_TIER_B ? 'B' : 'C';
}

/* detail = before + arg + after (arg NULL = ""). */
static void os_add(struct opportunities_score *out, const char *rule, int points, const char *before,
                   const char *arg, const char *after)
{
    if (out->rule_count >= OPP_RULES_MAX)
        return;
    struct opportunities_rule *r = &out->rules[out->rule_count++];
    r->rule = rule;
    r->points = points;
    snprintf(r->detail, sizeof(r->detail), "%s%s%s", before, arg ? arg : "", after);
    out->raw += points;
}

/* ---- seniority ------------------------------------------------------------------ */

/* The same segments as Learning's form profiles (app/learning/learning_segment.c:
 * the word lists, whole words, accents, precedence). */
const char *opportunities_seniority_of(const char *title)
{
    const char *seg = learning_segment_of(title != NULL ? title : "");
    return seg != NULL ? seg : "default";
}

/* ---- the rules ------------------------------------------------------------- */

static void os_keywords(const struct opportunities_prefs *prefs, const char *title, const char *message,
                        struct opportunities_score *out)
{
    int total = 0;
    for (int i = 0; i < prefs->keyword_count; i++) {
        char w[OPP_WORD_BYTES];
        os_norm(prefs->keywords[i].word, w);
        int weight = prefs->keywords[i].weight;
        if (os_has(title, w)) {
            os_add(out, "keyword", weight, "\"", prefs->keywords[i].word, "\" in the title");
            total += weight;
        } else if (os_has(message, w) && weight / 2 > 0) {
            os_add(out, "keyword", weight / 2, "\"", prefs->keywords[i].word, "\" in the message (half weight)");
            total += weight / 2;
        }
    }
    if (total > OPP_SCORE_KEYWORD_CAP)
        os_add(out, "keyword_cap", OPP_SCORE_KEYWORD_CAP - total, "keyword points capped at ", "40", "");
}

static void os_avoid(const struct opportunities_prefs *prefs, const char *title, const char *company,
                     const char *message, struct opportunities_score *out)
{
    for (int i = 0; i < prefs->avoid_count; i++) {
        char w[OPP_WORD_BYTES];
        os_norm(prefs->avoid[i], w);
        const char *where = os_has(title, w) ? "\" in the title" : os_has(company, w) ? "\" in the company"
                            : os_has(message, w)                   ? "\" in the message"
                                                                   : NULL;
        if (where != NULL)
            os_add(out, "avoid", OPP_SCORE_AVOID_POINTS, "\"", prefs->avoid[i], where);
    }
}

static void os_seniority(const struct opportunities_prefs *prefs, const struct opportunities_input *in,
                         struct opportunities_score *out)
{
    if (prefs->seniority[0] == '\0')
        return;
    const char *seg = opportunities_seniority_of(in->title);
    if (strcmp(seg, prefs->seniority) == 0)
        os_add(out, "seniority", OPP_SCORE_SENIORITY_MATCH, "title is ", seg, ", as wanted");
    else if (strcmp(seg, "default") == 0)
        os_add(out, "seniority", 0, "title names no seniority", "", "");
    else
        os_add(out, "seniority", OPP_SCORE_SENIORITY_MISS, "title is ", seg, ", not the wanted seniority");
}

static void os_remote(const struct opportunities_prefs *prefs, const struct opportunities_input *in,
                      struct opportunities_score *out)
{
    if (prefs->remote < 0)
        return;
    if (in->remote < 0)
        os_add(out, "remote", 0, "remote ", "not stated", "");
    else if ((in->remote != 0) == (prefs->remote != 0))
        os_add(out, "remote", OPP_SCORE_REMOTE_MATCH, "", in->remote ? "remote" : "on site", ", as wanted");
    else
        os_add(out, "remote", OPP_SCORE_REMOTE_MISS, "", in->remote ? "remote" : "on site", ", not as wanted");
}

static void os_salary(const struct opportunities_prefs *prefs, const struct opportunities_input *in,
                      struct opportunities_score *out)
{
    if (!prefs->has_min_salary)
        return;
    if (!in->has_salary_min && !in->has_salary_max) {
        os_add(out, "salary", 0, "no salary ", "given", "");
        return;
    }
    if (in->currency == NULL || strcmp(in->currency, prefs->currency) != 0) {
        os_add(out, "salary", 0, "salary in ", in->currency ? in->currency : "?", ", not compared");
        return;
    }
    int64_t bottom = in->has_salary_min ? in->salary_min : in->salary_max;
    int64_t top = in->has_salary_max ? in->salary_max : in->salary_min;
    char min_text[32];
    snprintf(min_text, sizeof(min_text), "%" PRId64, prefs->min_salary);
    if (bottom >= prefs->min_salary)
        os_add(out, "salary", OPP_SCORE_SALARY_FULL, "the whole range reaches ", min_text, "");
    else if (top >= prefs->min_salary)
        os_add(out, "salary", OPP_SCORE_SALARY_PARTIAL, "the top of the range reaches ", min_text, "");
    else
        os_add(out, "salary", OPP_SCORE_SALARY_BELOW, "below ", min_text, "");
}

int opportunities_score_compute(const struct opportunities_prefs *prefs, const struct opportunities_input *in,
                                struct opportunities_score *out)
{
    memset(out, 0, sizeof(*out));
    char *title = os_padded(in->title ? in->title : "");
    char *company = os_padded(in->company);
    char *message = os_padded(in->message);
    int rc = -1;
    if (title == NULL || company == NULL || message == NULL)
        goto out;
    os_add(out, "base", OPP_SCORE_BASE, "starting score", "", "");
    os_keywords(prefs, title, message, out);
    os_avoid(prefs, title, company, message, out);
    os_seniority(prefs, in, out);
    os_remote(prefs, in, out);
    os_salary(prefs, in, out);
    out->score = out->raw < 0 ? 0 : out->raw > 100 ? 100 : out->raw;
    out->tier = opportunities_tier_of(out->score);
    rc = 0;
out:
    free(title);
    free(company);
    free(message);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
