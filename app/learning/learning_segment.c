/* learning_segment: job title -> seniority segment. See learning_segment.h
 * for the tiers and exclusions and docs/learning.md for why. The title is
 * folded into a stack buffer, cut into at most LEARNING_SEGMENT_WORDS_MAX
 * words (pointers into that buffer), and each tier scans the words in
 * order. Nothing here allocates or keeps state. */
#include "learning_segment.h"
#include "../core/text.h"

#include <stdbool.h>
#include <string.h>

struct ls_word {
    const char *s;
    size_t n;
};

struct ls_title {
    struct ls_word w[LEARNING_SEGMENT_WORDS_MAX];
    size_t count;
};

static const char *const ls_names[LEARNING_SEGMENT_COUNT] = {
    [LEARNING_SEGMENT_DEFAULT] = "default",
    [LEARNING_SEGMENT_INTERN] = "intern",
    [LEARNING_SEGMENT_JUNIOR] = "junior",
    [LEARNING_SEGMENT_SENIOR] = "senior",
};

/* Tier word lists (folded forms, NULL-terminated). */
static const char *const ls_strong_senior[] = {
    "senior", "sr", "snr", "principal", "principale", "principals",
    "confirme", "confirmee", "confirmes", "confirmees",
    "experimente", "experimentee", "experimentes", "experimentees", NULL};
static const char *const ls_intern[] = {
    "intern", "interns", "internship", "internships", "trainee", "trainees",
    "stagiaire", "stagiaires", "stage", "stages",
    "alternant", "alternante", "alternants", "alternantes", "alternance",
    "apprenti", "apprentie", "apprentis", "apprenties", "apprentice", "apprentices",
    "apprenticeship", "apprenticeships", "apprentissage", NULL};
static const char *const ls_junior[] = {
    "junior", "juniors", "jr", "jnr", "debutant", "debutante", "debutants", "debutantes",
    "graduate", "graduates", NULL};
static const char *const ls_role_senior[] = {
    "lead", "leads", "head", "chef", "cheffe", "chefs", "staff",
    "expert", "experte", "experts", "expertes", NULL};

/* Neighbours that make a word something other than a seniority. */
static const char *const ls_senior_elderly_next[] = {"living", "care", "citizen", "citizens", NULL};
static const char *const ls_stage_phase_prev[] = {"early", "late", "multi", "mid", NULL};
static const char *const ls_stage_phase_next[] = {"manager", "managers", "director", "hand", "hands", NULL};
static const char *const ls_lead_marketing_next[] = {"generation", "generations", "gen", NULL};
static const char *const ls_expert_profession_next[] = {"comptable", "comptables", NULL};
static const char *const ls_head_hunter_next[] = {"hunter", "hunters", "hunting", NULL};
static const char *const ls_expert[] = {"expert", "experte", "experts", "expertes", NULL};
static const char *const ls_diplome[] = {"diplome", "diplomee", "diplomes", "diplomees", NULL};
static const char *const ls_grad[] = {"grad", "grads", NULL};

static bool ls_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static void ls_split(const char *folded, size_t len, struct ls_title *t)
{
    t->count = 0;
    size_t i = 0;
    while (i < len && t->count < LEARNING_SEGMENT_WORDS_MAX) {
        while (i < len && !ls_word_char((unsigned char)folded[i]))
            i++;
        size_t start = i;
        while (i < len && ls_word_char((unsigned char)folded[i]))
            i++;
        if (i > start) {
            t->w[t->count].s = folded + start;
            t->w[t->count].n = i - start;
            t->count++;
        }
    }
}

/* Word i of t is one of list; false for an index outside the title. */
static bool ls_is(const struct ls_title *t, size_t i, const char *const *list)
{
    if (i >= t->count)
        return false;
    for (; *list != NULL; list++)
        if (strlen(*list) == t->w[i].n && memcmp(*list, t->w[i].s, t->w[i].n) == 0)
            return true;
    return false;
}

static bool ls_is1(const struct ls_title *t, size_t i, const char *word)
{
    const char *list[2] = {word, NULL};
    return ls_is(t, i, list);
}

static bool ls_prev_is(const struct ls_title *t, size_t i, const char *const *list)
{
    return i > 0 && ls_is(t, i - 1, list);
}

static bool ls_strong_senior_at(const struct ls_title *t, size_t i)
{
    if (!ls_is(t, i, ls_strong_senior))
        return false;
    return !(ls_is1(t, i, "senior") && ls_is(t, i + 1, ls_senior_elderly_next));
}

static bool ls_intern_at(const struct ls_title *t, size_t i)
{
    if (!ls_is(t, i, ls_intern))
        return false;
    if (ls_is1(t, i, "stage") || ls_is1(t, i, "stages"))
        return !ls_prev_is(t, i, ls_stage_phase_prev) && !ls_is(t, i + 1, ls_stage_phase_next);
    return true;
}

static bool ls_junior_at(const struct ls_title *t, size_t i)
{
    if (ls_is(t, i, ls_junior))
        return true;
    if (ls_is1(t, i, "entry") && ls_is1(t, i + 1, "level"))
        return true;
    if (ls_is1(t, i, "new") && ls_is(t, i + 1, ls_grad))
        return true;
    return (ls_is1(t, i, "jeune") || ls_is1(t, i, "jeunes")) && ls_is(t, i + 1, ls_diplome);
}

static bool ls_role_senior_at(const struct ls_title *t, size_t i)
{
    if (!ls_is(t, i, ls_role_senior))
        return false;
    if ((ls_is1(t, i, "lead") || ls_is1(t, i, "leads")) && ls_is(t, i + 1, ls_lead_marketing_next))
        return false;
    if (ls_is1(t, i, "head") && ls_is(t, i + 1, ls_head_hunter_next))
        return false;
    if (ls_is(t, i, ls_expert) && ls_is(t, i + 1, ls_expert_profession_next))
        return false;
    return true;
}

static bool ls_any(const struct ls_title *t, bool (*at)(const struct ls_title *, size_t))
{
    for (size_t i = 0; i < t->count; i++)
        if (at(t, i))
            return true;
    return false;
}

enum learning_segment learning_segment_derive(const char *title, size_t len)
{
    char folded[LEARNING_SEGMENT_TITLE_BYTES + 1];
    struct ls_title t;
    if (len > LEARNING_SEGMENT_TITLE_BYTES)
        len = LEARNING_SEGMENT_TITLE_BYTES;
    size_t n = text_fold(title, len, folded, sizeof(folded));
    ls_split(folded, n, &t);
    if (ls_any(&t, ls_strong_senior_at))
        return LEARNING_SEGMENT_SENIOR;
    if (ls_any(&t, ls_intern_at))
        return LEARNING_SEGMENT_INTERN;
    if (ls_any(&t, ls_junior_at))
        return LEARNING_SEGMENT_JUNIOR;
    if (ls_any(&t, ls_role_senior_at))
        return LEARNING_SEGMENT_SENIOR;
    return LEARNING_SEGMENT_DEFAULT;
}

const char *learning_segment_name(enum learning_segment s)
{
    return (unsigned)s < LEARNING_SEGMENT_COUNT ? ls_names[s] : NULL;
}

const char *learning_segment_of(const char *title)
{
    if (title == NULL)
        return NULL;
    return learning_segment_name(learning_segment_derive(title, strlen(title)));
}
