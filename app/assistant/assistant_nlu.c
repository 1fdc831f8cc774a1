/* assistant_nlu: deterministic understanding of a finance question.
 *
 * The message is folded (text_fold: lower case, accents removed) and cut
 * into words (letters, digits and '_'; everything else separates, so
 * "j'ai" is "j" "ai" and "mois-ci" is "mois" "ci"). Then, in order:
 *   language  fr/en stop-word counts, ties go to the user's language;
 *   period    the first period form found (see nlu_period_*), else a
 *             default per intent;
 *   category  lexicon synonyms, then the user's own categories (exact or
 *             within the fuzzy distance);
 *   merchant  the user's merchants, exact word sequence first (longest
 *             wins), then one-word fuzzy match; else a phrase after
 *             "chez"/"at" is kept as an unknown merchant;
 *   intent    weighted features, argmax, confidence from the margin.
 * All weights and thresholds are here and in docs/assistant.md. */
#include "assistant_nlu.h"
#include "../core/parse.h"
#include "../core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NLU_MAX_WORDS       64
#define NLU_WORD_BYTES      48
#define NLU_FOLD_BYTES      1024    /* only the first 1 KiB of a message is read */

struct nlu_words {
    char w[NLU_MAX_WORDS][NLU_WORD_BYTES];
    int n;
};

/* ---- words ------------------------------------------------------------ */

static bool nlu_word_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch >= 0x80;
}

/* Length of s[0..len) without a trailing incomplete UTF-8 sequence, so a
 * word or phrase cut at a byte bound stays valid UTF-8. */
static size_t nlu_utf8_cut(const char *s, size_t len)
{
    size_t i = len;
    int back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0 || (unsigned char)s[i - 1] < 0x80)
        return len;
    unsigned char lead = (unsigned char)s[i - 1];
    int need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
    return back == need ? len : i - 1;
}

static void nlu_split(const char *folded, struct nlu_words *out)
{
    out->n = 0;
    const char *p = folded;
    while (*p != '\0' && out->n < NLU_MAX_WORDS) {
        while (*p != '\0' && !nlu_word_char((unsigned char)*p))
            p++;
        size_t len = 0;
        while (p[len] != '\0' && nlu_word_char((unsigned char)p[len]))
            len++;
        if (len == 0)
            break;
        size_t take = nlu_utf8_cut(p, len < NLU_WORD_BYTES - 1 ? len : NLU_WORD_BYTES - 1);
        memcpy(out->w[out->n], p, take);
        out->w[out->n][take] = '\0';
        out->n++;
        p += len;
    }
}

static bool nlu_is(const struct nlu_words *w, int i, const char *word)
{
    return i >= 0 && i < w->n && strcmp(w->w[i], word) == 0;
}

static bool nlu_prefix(const struct nlu_words *w, int i, const char *prefix)
{
    return i >= 0 && i < w->n && strncmp(w->w[i], prefix, strlen(prefix)) == 0;
}

static int nlu_find(const struct nlu_words *w, const char *word)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->w[i], word) == 0)
            return i;
    return -1;
}

/* Index of the first word starting with one of the prefixes, or -1. */
static int nlu_find_prefix(const struct nlu_words *w, const char *const *prefixes)
{
    for (int i = 0; i < w->n; i++)
        for (const char *const *p = prefixes; *p != NULL; p++)
            if (nlu_prefix(w, i, *p))
                return i;
    return -1;
}

/* Damerau-Levenshtein (optimal string alignment) distance, bounded inputs. */
static int nlu_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la >= NLU_WORD_BYTES || lb >= NLU_WORD_BYTES)
        return 99;
    int d[NLU_WORD_BYTES][NLU_WORD_BYTES];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* Typos tolerated: none under 4 letters, 1 up to 7, 2 from 8. */
static int nlu_tolerance(size_t len)
{
    return len < 4 ? 0 : len < 8 ? 1 : 2;
}

/* Words that never name a merchant or category (fuzzy matching skips them). */
static const char *const nlu_stop_words[] = {
    "mes", "mon", "ma", "les", "des", "du", "de", "le", "la", "en", "au", "aux", "ce", "cet", "cette", "ces",
    "chez", "pour", "par", "sur", "avec", "dans", "et", "ou", "combien", "quelles", "quels", "quel", "quelle",
    "sont", "est", "ai", "j", "l", "d", "a", "depense", "depenses", "depenser", "transactions", "transaction",
    "mois", "semaine", "annee", "jour", "jours", "dernier", "derniere", "derniers", "dernieres", "depuis",
    "my", "the", "how", "much", "did", "i", "at", "on", "in", "this", "last", "month", "week", "year", "what",
    "are", "spent", "spend", "spending", "show", "me", "from", "since", "for", "to", "with", "and", "paid",
    "pay", "payé", "paye", "total", "moi", "tout", "tous", "toutes", "all", "hui", "aujourd", "today", NULL,
};

static bool nlu_stop(const char *w)
{
    for (const char *const *s = nlu_stop_words; *s != NULL; s++)
        if (strcmp(*s, w) == 0)
            return true;
    return false;
}

/* ---- language --------------------------------------------------------- */

static void nlu_language(const struct nlu_words *w, const char *user_language, char lang[3])
{
    static const char *const fr[] = {"mes", "mon", "ma", "de", "du", "des", "le", "la", "les", "j", "ai", "chez",
                                     "combien", "depenses", "depense", "ce", "cette", "mois", "dernier", "derniere",
                                     "en", "au", "par", "quelles", "sont", "avec", "aujourd", "hier", "semaine",
                                     "annee", "depuis", "moi", "tendances", "inhabituelles", "repartition", NULL};
    static const char *const en[] = {"my", "the", "how", "much", "did", "i", "spend", "spent", "at", "this",
                                     "last", "month", "week", "in", "on", "what", "are", "show", "me", "since",
                                     "today", "yesterday", "year", "spending", "trends", "unusual", "breakdown",
                                     "compared", "with", "transactions", NULL};
    int nfr = 0, nen = 0;
    for (int i = 0; i < w->n; i++) {
        for (const char *const *p = fr; *p; p++)
            nfr += strcmp(*p, w->w[i]) == 0;
        for (const char *const *p = en; *p; p++)
            nen += strcmp(*p, w->w[i]) == 0;
    }
    const char *pick = nfr > nen ? "fr" : nen > nfr ? "en" : (strcmp(user_language, "en") == 0 ? "en" : "fr");
    memcpy(lang, pick, 3);
}

/* ---- periods ---------------------------------------------------------- */

struct nlu_day {
    int y, m, d;
};

static int nlu_days(struct nlu_day t)
{
    return parse_days_from_civil(t.y, t.m, t.d);
}

static struct nlu_day nlu_from_days(int days)
{
    struct nlu_day t;
    parse_civil_from_days(days, &t.y, &t.m, &t.d);
    return t;
}

static void nlu_set_period(struct nlu_result *r, struct nlu_day from, struct nlu_day to, const char *label)
{
    snprintf(r->from, sizeof(r->from), "%04d-%02d-%02d", from.y, from.m, from.d);
    snprintf(r->to, sizeof(r->to), "%04d-%02d-%02d", to.y, to.m, to.d);
    snprintf(r->period_label, sizeof(r->period_label), "%s", label);
}

static void nlu_month_period(struct nlu_result *r, int y, int m, struct nlu_day today, const char *label)
{
    struct nlu_day from = {y, m, 1}, to = {y, m, parse_days_in_month(y, m)};
    if (y == today.y && m == today.m)
        to = today;
    nlu_set_period(r, from, to, label);
}

static struct nlu_day nlu_add_months(struct nlu_day t, int months)
{
    int idx = t.y * 12 + (t.m - 1) + months;
    struct nlu_day out = {idx / 12, idx % 12 + 1, t.d};
    int dim = parse_days_in_month(out.y, out.m);
    if (out.d > dim)
        out.d = dim;
    return out;
}

static int nlu_month_name(const char *w)
{
    static const char *const names[][3] = {
        {"janvier", "january", "jan"}, {"fevrier", "february", "feb"}, {"mars", "march", NULL},
        {"avril", "april", "apr"},     {"mai", "may", NULL},           {"juin", "june", "jun"},
        {"juillet", "july", "jul"},    {"aout", "august", "aug"},      {"septembre", "september", "sept"},
        {"octobre", "october", "oct"}, {"novembre", "november", "nov"}, {"decembre", "december", "dec"},
    };
    for (int m = 0; m < 12; m++)
        for (int k = 0; k < 3; k++)
            if (names[m][k] != NULL && strcmp(names[m][k], w) == 0)
                return m + 1;
    return 0;
}

/* A small number in digits, with an ordinal suffix (1er, 2e, 3rd), or in words. */
static int nlu_number(const char *w)
{
    static const char *const words[][2] = {{"un", "one"},   {"deux", "two"}, {"trois", "three"}, {"quatre", "four"},
                                           {"cinq", "five"}, {"six", "six"}, {"sept", "seven"},  {"huit", "eight"},
                                           {"neuf", "nine"}, {"dix", "ten"}, {"onze", "eleven"}, {"douze", "twelve"}};
    if (strcmp(w, "premier") == 0 || strcmp(w, "first") == 0)
        return 1;
    for (int i = 0; i < 12; i++)
        if (strcmp(w, words[i][0]) == 0 || strcmp(w, words[i][1]) == 0)
            return i + 1;
    char *end;
    long v = strtol(w, &end, 10);
    if (end == w || v <= 0 || v > 9999)
        return 0;
    if (*end != '\0' && strcmp(end, "er") != 0 && strcmp(end, "e") != 0 && strcmp(end, "eme") != 0 &&
        strcmp(end, "st") != 0 && strcmp(end, "nd") != 0 && strcmp(end, "rd") != 0 && strcmp(end, "th") != 0)
        return 0;
    return (int)v;
}

static bool nlu_year(const char *w, int *y)
{
    if (strlen(w) != 4)
        return false;
    int v = nlu_number(w);
    if (v < 1000)
        return false;
    *y = v;
    return true;
}

/* Explicit dates in the raw folded text: 2026-10-03 and 03/10/2026 (day first). */
static bool nlu_numeric_date(const char *folded, struct nlu_result *r)
{
    for (const char *p = folded; *p != '\0'; p++) {
        if (p != folded && p[-1] >= '0' && p[-1] <= '9')
            continue;
        int y, m, d, n = 0;
        if (sscanf(p, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10) {
        } else if (sscanf(p, "%2d/%2d/%4d%n", &d, &m, &y, &n) == 3 && n >= 8) {
        } else {
            continue;
        }
        if (m < 1 || m > 12 || d < 1 || d > parse_days_in_month(y, m) || y < PARSE_YEAR_MIN || y > PARSE_YEAR_MAX) {
            r->period_invalid = true;
            snprintf(r->period_label, sizeof(r->period_label), "invalid_date");
            return true;
        }
        struct nlu_day t = {y, m, d};
        nlu_set_period(r, t, t, "date");
        return true;
    }
    return false;
}

/* "3 octobre 2026", "1er janvier 1970", "october 3, 2026", "en septembre",
 * "in march 2026", "depuis mars", "since March". */
static bool nlu_named_month(const struct nlu_words *w, struct nlu_day today, struct nlu_result *r)
{
    for (int i = 0; i < w->n; i++) {
        int m = nlu_month_name(w->w[i]);
        if (m == 0)
            continue;
        /* "mai" and "mars" are months; "sept" alone is seven unless a year/day is near. */
        int day = 0, year = 0;
        if (i > 0)
            day = nlu_number(w->w[i - 1]);
        if (day == 0 && i + 1 < w->n && !nlu_year(w->w[i + 1], &year))
            day = nlu_number(w->w[i + 1]);
        if (i + 1 < w->n && nlu_year(w->w[i + 1], &year)) {
        } else if (i + 2 < w->n && day != 0 && nlu_year(w->w[i + 2], &year)) {
        }
        if (day > 31 || (day > 0 && year == 0 && day > 31))
            day = 0;
        bool since = nlu_is(w, i - 1, "depuis") || nlu_is(w, i - 1, "since") ||
                     nlu_is(w, i - 2, "depuis") || nlu_is(w, i - 2, "since");
        if (year == 0)
            year = m <= today.m ? today.y : today.y - 1;
        if (year < PARSE_YEAR_MIN || year > PARSE_YEAR_MAX) {
            r->period_invalid = true;
            snprintf(r->period_label, sizeof(r->period_label), "invalid_date");
            return true;
        }
        if (day > 0) {
            if (day > parse_days_in_month(year, m)) {
                r->period_invalid = true;
                snprintf(r->period_label, sizeof(r->period_label), "invalid_date");
                return true;
            }
            struct nlu_day t = {year, m, day};
            if (since)
                nlu_set_period(r, t, today, "since");
            else
                nlu_set_period(r, t, t, "date");
            return true;
        }
        if (since) {
            struct nlu_day from = {year, m, 1};
            nlu_set_period(r, from, today, "since");
        } else {
            nlu_month_period(r, year, m, today, "month");
        }
        return true;
    }
    return false;
}

/* "les 30 derniers jours", "last 3 months", "past two weeks". */
static bool nlu_last_n(const struct nlu_words *w, struct nlu_day today, struct nlu_result *r)
{
    for (int i = 0; i + 1 < w->n; i++) {
        int n = nlu_number(w->w[i]);
        if (n <= 0 || n > 120)
            continue;
        bool fr_form = i + 2 < w->n && (nlu_prefix(w, i + 1, "dernier")) ;
        bool en_form = nlu_is(w, i - 1, "last") || nlu_is(w, i - 1, "past");
        int unit_at = fr_form ? i + 2 : i + 1;
        if (!fr_form && !en_form)
            continue;
        const char *unit = w->w[unit_at];
        int today_days = nlu_days(today);
        if (strncmp(unit, "jour", 4) == 0 || strncmp(unit, "day", 3) == 0) {
            nlu_set_period(r, nlu_from_days(today_days - n + 1), today, "last_n_days");
            return true;
        }
        if (strncmp(unit, "semaine", 7) == 0 || strncmp(unit, "week", 4) == 0) {
            nlu_set_period(r, nlu_from_days(today_days - 7 * n + 1), today, "last_n_days");
            return true;
        }
        if (strcmp(unit, "mois") == 0 || strncmp(unit, "month", 5) == 0) {
            struct nlu_day start = nlu_add_months(today, -n);
            nlu_set_period(r, nlu_from_days(nlu_days(start) + 1), today, "last_n_months");
            return true;
        }
    }
    return false;
}

/* ISO weeks: Monday is the first day. */
static int nlu_weekday(struct nlu_day t)
{
    int days = nlu_days(t);          /* 1970-01-01 was a Thursday (3 with Monday = 0) */
    return ((days % 7) + 7 + 3) % 7;
}

static bool nlu_relative(const struct nlu_words *w, struct nlu_day today, struct nlu_result *r)
{
    int td = nlu_days(today);
    bool last = nlu_find_prefix(w, (const char *const[]){"dernier", "derniere", "precedent", NULL}) >= 0 ||
                nlu_find(w, "last") >= 0 || nlu_find(w, "previous") >= 0;
    if (nlu_find(w, "aujourd") >= 0 || nlu_find(w, "today") >= 0) {
        nlu_set_period(r, today, today, "today");
        return true;
    }
    if (nlu_find(w, "hier") >= 0 || nlu_find(w, "yesterday") >= 0) {
        struct nlu_day y = nlu_from_days(td - 1);
        nlu_set_period(r, y, y, "yesterday");
        return true;
    }
    int monday = td - nlu_weekday(today);
    if (nlu_find(w, "semaine") >= 0 || nlu_find(w, "week") >= 0) {
        if (last)
            nlu_set_period(r, nlu_from_days(monday - 7), nlu_from_days(monday - 1), "last_week");
        else
            nlu_set_period(r, nlu_from_days(monday), today, "this_week");
        return true;
    }
    if (nlu_find(w, "mois") >= 0 || nlu_find(w, "month") >= 0) {
        if (last) {
            struct nlu_day p = nlu_add_months((struct nlu_day){today.y, today.m, 1}, -1);
            nlu_month_period(r, p.y, p.m, today, "last_month");
        } else {
            nlu_month_period(r, today.y, today.m, today, "this_month");
        }
        return true;
    }
    if (nlu_find(w, "annee") >= 0 || nlu_find(w, "year") >= 0 || nlu_find(w, "an") >= 0) {
        if (last)
            nlu_set_period(r, (struct nlu_day){today.y - 1, 1, 1}, (struct nlu_day){today.y - 1, 12, 31}, "last_year");
        else
            nlu_set_period(r, (struct nlu_day){today.y, 1, 1}, today, "this_year");
        return true;
    }
    return false;
}

/* ---- lexicon ---------------------------------------------------------- */

struct nlu_synonyms {
    const char *display;
    const char *words[14];
};

static const struct nlu_synonyms nlu_lexicon[] = {
    {"Alimentation", {"alimentation", "alimentaire", "alimentaires", "courses", "groceries", "grocery", "food",
                      "supermarche", "supermarches", "supermarket", "epicerie", "nourriture", NULL}},
    {"Transport", {"transport", "transports", "train", "trains", "metro", "essence", "carburant", "fuel", "taxi",
                   "taxis", "bus", "commute", NULL}},
    {"Restaurant", {"restaurant", "restaurants", "resto", "restos", "restau", "dining", "restauration", NULL}},
    {"Loisirs", {"loisirs", "loisir", "leisure", "sorties", "entertainment", "cinema", "divertissement", NULL}},
    {"Logement", {"logement", "loyer", "loyers", "rent", "housing", NULL}},
    {"Abonnements", {"abonnements", "abonnement", "subscriptions", "subscription", NULL}},
    {"Santé", {"sante", "health", "pharmacie", "pharmacy", "medecin", "medecins", "doctor", "medical", NULL}},
    {"Shopping", {"shopping", "vetements", "clothes", "clothing", NULL}},
    {"Revenus", {"revenus", "revenu", "salaire", "salaires", "salary", "income", NULL}},
};

static void nlu_category(const struct nlu_words *w, const struct nlu_vocab *v, struct nlu_result *r)
{
    const char *canonical = NULL;
    for (int i = 0; i < w->n && canonical == NULL; i++) {
        for (size_t k = 0; k < sizeof(nlu_lexicon) / sizeof(nlu_lexicon[0]) && canonical == NULL; k++)
            for (const char *const *s = nlu_lexicon[k].words; *s != NULL; s++)
                if (strcmp(*s, w->w[i]) == 0 ||
                    (strlen(w->w[i]) >= 6 && nlu_distance(*s, w->w[i]) <= nlu_tolerance(strlen(*s)) &&
                     !nlu_stop(w->w[i]))) {
                    canonical = nlu_lexicon[k].display;
                    break;
                }
    }
    char key[LIMIT_TEXT_FIELD_BYTES + 1];
    if (canonical != NULL) {
        text_fold(canonical, strlen(canonical), key, sizeof(key));
        snprintf(r->category_key, sizeof(r->category_key), "%s", key);
        snprintf(r->category, sizeof(r->category), "%s", canonical);
        for (size_t c = 0; c < v->category_count; c++)          /* the user's own spelling */
            if (strcmp(v->category_keys[c], key) == 0)
                snprintf(r->category, sizeof(r->category), "%s", v->category_names[c]);
        return;
    }
    /* The user's own categories: a word equal to, or close to, a one-word key. */
    for (size_t c = 0; c < v->category_count; c++) {
        const char *ck = v->category_keys[c];
        for (int i = 0; i < w->n; i++) {
            if (nlu_stop(w->w[i]) || strchr(ck, ' ') != NULL)
                continue;
            if (strcmp(ck, w->w[i]) == 0 || nlu_distance(ck, w->w[i]) <= nlu_tolerance(strlen(ck))) {
                snprintf(r->category_key, sizeof(r->category_key), "%s", ck);
                snprintf(r->category, sizeof(r->category), "%s", v->category_names[c]);
                return;
            }
        }
    }
}

/* Does the merchant key (possibly several words) occur as consecutive words? */
static bool nlu_has_sequence(const struct nlu_words *w, const char *key)
{
    struct nlu_words kw;
    nlu_split(key, &kw);
    if (kw.n == 0)
        return false;
    for (int i = 0; i + kw.n <= w->n; i++) {
        int k = 0;
        while (k < kw.n && strcmp(w->w[i + k], kw.w[k]) == 0)
            k++;
        if (k == kw.n)
            return true;
    }
    return false;
}

static void nlu_merchant(const struct nlu_words *w, const struct nlu_vocab *v, struct nlu_result *r)
{
    size_t best = (size_t)-1, best_len = 0;
    for (size_t m = 0; m < v->merchant_count; m++) {
        size_t len = strlen(v->merchant_keys[m]);
        if (len > best_len && nlu_has_sequence(w, v->merchant_keys[m])) {
            best = m;
            best_len = len;
        }
    }
    if (best == (size_t)-1) {                 /* typos: one word against a merchant's first word */
        /* Candidate words once (not stop words, 4+ letters): this loop is
         * merchants x words, so keep its body cheap. */
        int cand[NLU_MAX_WORDS], ncand = 0;
        size_t cand_len[NLU_MAX_WORDS];
        for (int i = 0; i < w->n; i++) {
            size_t len = strlen(w->w[i]);
            if (len >= 4 && !nlu_stop(w->w[i])) {
                cand_len[ncand] = len;
                cand[ncand++] = i;
            }
        }
        int best_dist = 99;
        for (size_t m = 0; m < v->merchant_count && ncand > 0; m++) {
            const char *key = v->merchant_keys[m];
            size_t first_len = strcspn(key, " ");
            if (first_len == 0 || first_len >= NLU_WORD_BYTES)
                continue;
            char first[NLU_WORD_BYTES];
            memcpy(first, key, first_len);
            first[first_len] = '\0';
            bool one_word = key[first_len] == '\0';
            int tol = nlu_tolerance(first_len);
            for (int k = 0; k < ncand; k++) {
                size_t diff = cand_len[k] > first_len ? cand_len[k] - first_len : first_len - cand_len[k];
                if (diff > (size_t)tol)
                    continue;
                int dist = nlu_distance(first, w->w[cand[k]]);
                if (dist <= tol && dist < best_dist && (one_word || dist == 0 || first_len >= 5)) {
                    best = m;
                    best_dist = dist;
                }
            }
        }
    }
    if (best != (size_t)-1) {
        snprintf(r->merchant_key, sizeof(r->merchant_key), "%s", v->merchant_keys[best]);
        snprintf(r->merchant, sizeof(r->merchant), "%s", v->merchant_names[best]);
        return;
    }
    /* "chez X", "at X": a merchant the user has never paid. */
    for (int i = 0; i + 1 < w->n; i++) {
        if (!nlu_is(w, i, "chez") && !nlu_is(w, i, "at") && !nlu_is(w, i, "aupres"))
            continue;
        int j = i + 1;
        if (nlu_is(w, j, "de") || nlu_is(w, j, "the"))
            j++;
        if (j >= w->n || nlu_stop(w->w[j]) || nlu_month_name(w->w[j]))
            continue;
        size_t n = 0;
        for (int k = j; k < w->n && k < j + 3 && !nlu_stop(w->w[k]) && !nlu_month_name(w->w[k]); k++)
            n += (size_t)snprintf(r->merchant_phrase + n, sizeof(r->merchant_phrase) - n, "%s%s", k > j ? " " : "",
                                  w->w[k]);
        if (n >= sizeof(r->merchant_phrase))
            n = sizeof(r->merchant_phrase) - 1;
        r->merchant_phrase[nlu_utf8_cut(r->merchant_phrase, n)] = '\0';
        return;
    }
}

/* ---- intent ----------------------------------------------------------- */

enum nlu_subtype { NLU_SIMPLE, NLU_BY_CATEGORY, NLU_BY_MERCHANT, NLU_ANOMALIES, NLU_TRENDS, NLU_COMPARISON, NLU_N };

static const char *const nlu_intent_names[NLU_N] = {
    "transaction_search.simple", "transaction_search.by_category", "transaction_search.by_merchant",
    "analytics.anomalies",       "analytics.trends",               "analytics.comparison",
};

static const char *const nlu_anomaly_words[] = {"inhabituel", "anormal", "unusual", "anomal", "suspect", "bizarre",
                                                "etrange", "strange", "abnormal", "atypique", "outlier", "odd", NULL};
static const char *const nlu_trend_words[] = {"tendance", "evolution", "trend", "evolue", NULL};
static const char *const nlu_compare_words[] = {"compar", "versus", "vs", "difference", NULL};
static const char *const nlu_breakdown_words[] = {"repartition", "breakdown", "ventilation", "categories", NULL};
static const char *const nlu_search_words[] = {"depense", "transaction", "achat", "paye", "payer", "spent",
                                               "spend", "paid", "combien", "cost", "coute", "expense", "purchase",
                                               "debit", "montant", "operation", "releve", "recu", "received",
                                               "gagne", "earned", NULL};

static void nlu_intent(const struct nlu_words *w, struct nlu_result *r)
{
    double score[NLU_N] = {0};
    bool search = nlu_find_prefix(w, nlu_search_words) >= 0 || (nlu_find(w, "how") >= 0 && nlu_find(w, "much") >= 0);
    double base = (search ? 1.5 : 0) + (r->period_found ? 1.0 : 0);
    score[NLU_SIMPLE] = base;
    score[NLU_BY_CATEGORY] = 0.5 * base + (r->category[0] ? 2.0 : 0);
    score[NLU_BY_MERCHANT] = 0.5 * base + (r->merchant[0] || r->merchant_phrase[0] ? 2.5 : 0);
    if (nlu_find_prefix(w, nlu_breakdown_words) >= 0 ||
        (nlu_find(w, "par") >= 0 && nlu_find_prefix(w, (const char *const[]){"categorie", NULL}) >= 0) ||
        (nlu_find(w, "by") >= 0 && nlu_find_prefix(w, (const char *const[]){"categor", NULL}) >= 0))
        score[NLU_BY_CATEGORY] += 3.0;
    if (nlu_find_prefix(w, nlu_anomaly_words) >= 0)
        score[NLU_ANOMALIES] += 3.0;
    if (nlu_find_prefix(w, nlu_trend_words) >= 0 || (nlu_find(w, "over") >= 0 && nlu_find(w, "time") >= 0))
        score[NLU_TRENDS] += 3.0;
    if (nlu_find_prefix(w, nlu_compare_words) >= 0 ||
        (nlu_find(w, "par") >= 0 && nlu_find(w, "rapport") >= 0))
        score[NLU_COMPARISON] += 3.0;
    int top = 0, second = -1;
    for (int i = 1; i < NLU_N; i++)
        if (score[i] > score[top])
            top = i;
    for (int i = 0; i < NLU_N; i++)
        if (i != top && (second < 0 || score[i] > score[second]))
            second = i;
    if (score[top] < 1.0) {
        r->intent = "clarification.needed";
        r->confidence = 0.5;
        return;
    }
    r->intent = nlu_intent_names[top];
    double margin = (score[top] - score[second]) / score[top];
    r->confidence = 0.5 + 0.49 * margin;
}

/* Debits only, unless the question is about transactions in general or income. */
static bool nlu_spending_only(const struct nlu_words *w, const struct nlu_result *r)
{
    static const char *const all_words[] = {"transaction", "operation", "revenu", "salaire", "income", "salary",
                                            "recu", "received", "gagne", "earned", "credit", "releve", NULL};
    if (strcmp(r->category, "Revenus") == 0)
        return false;
    return nlu_find_prefix(w, all_words) < 0;
}

/* ---- entry point ------------------------------------------------------ */

static void nlu_default_period(struct nlu_result *r, struct nlu_day today)
{
    if (strcmp(r->intent, "analytics.anomalies") == 0) {
        struct nlu_day start = nlu_add_months(today, -3);
        nlu_set_period(r, nlu_from_days(nlu_days(start) + 1), today, "last_n_months");
    } else if (strcmp(r->intent, "analytics.trends") == 0) {
        struct nlu_day start = nlu_add_months((struct nlu_day){today.y, today.m, 1}, -5);
        nlu_set_period(r, start, today, "last_6_months");
    } else {
        nlu_month_period(r, today.y, today.m, today, "this_month");
    }
}

void nlu_understand(const char *message, size_t len, int today_y, int today_m, int today_d,
                    const struct nlu_vocab *vocab, const char *user_language, struct nlu_result *out)
{
    memset(out, 0, sizeof(*out));
    char folded[NLU_FOLD_BYTES];
    text_fold(message, len, folded, sizeof(folded));
    struct nlu_words w;
    nlu_split(folded, &w);
    struct nlu_day today = {today_y, today_m, today_d};
    nlu_language(&w, user_language ? user_language : "fr", out->lang);

    out->period_found = nlu_numeric_date(folded, out) || nlu_last_n(&w, today, out) ||
                        nlu_named_month(&w, today, out) || nlu_relative(&w, today, out);
    nlu_category(&w, vocab, out);
    nlu_merchant(&w, vocab, out);
    /* A merchant's name can look like a category word ("Carrefour Food"):
     * a matched merchant wins over a fuzzy category. */
    nlu_intent(&w, out);
    out->spending_only = nlu_spending_only(&w, out);
    if (!out->period_found)
        nlu_default_period(out, today);
    if (strcmp(out->intent, "analytics.comparison") == 0 && strcmp(out->period_label, "last_month") == 0) {
        /* "comparaison avec le mois dernier": this month to date against it. */
        nlu_month_period(out, today.y, today.m, today, "this_month");
    }
}
