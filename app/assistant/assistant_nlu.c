/* assistant_nlu: deterministic understanding of a finance question.
 *
 * The message is folded (text_fold: lower case, accents removed) and cut
 * into words with their stems (assistant_words). Then, in order:
 *   language  fr/en stop-word counts, ties go to the user's language;
 *   period    assistant_period's grammar, else a default per intent;
 *   category  lexicon synonyms on stems, then the user's own categories
 *             (exact or within the fuzzy distance); a category word after
 *             "en", "pour", "on", "for" that is none of them is kept as
 *             unknown_category;
 *   merchant  the user's merchants: exact word sequence first (longest
 *             wins), then a word that begins a merchant's name (as the
 *             search's ?merchant= finds it), then one-word fuzzy match;
 *             else a phrase after "chez"/"at" is kept as unknown;
 *   intent    weighted features on stemmed cues, argmax, confidence from
 *             the margin;
 *   follow-up with a previous question: what the message does not name
 *             is taken from it;
 *   comparison the period compared with.
 * All weights and thresholds are here and in docs/assistant.md. */
#include "assistant_nlu.h"
#include "assistant_period.h"
#include "assistant_words.h"
#include "../core/parse.h"
#include "../core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NLU_FOLD_BYTES      1024    /* only the first 1 KiB of a message is read */

/* Words that never name a merchant or category (fuzzy matching skips them). */
static const char *const nlu_stop_words[] = {
    "mes", "mon", "ma", "les", "des", "du", "de", "le", "la", "en", "au", "aux", "ce", "cet", "cette", "ces",
    "chez", "pour", "par", "sur", "avec", "dans", "et", "ou", "combien", "quelles", "quels", "quel", "quelle",
    "sont", "est", "ai", "j", "l", "d", "a", "depense", "depenses", "depenser", "transactions", "transaction",
    "mois", "semaine", "annee", "jour", "jours", "dernier", "derniere", "derniers", "dernieres", "depuis",
    "my", "the", "how", "much", "did", "i", "at", "on", "in", "this", "last", "month", "week", "year", "what",
    "are", "spent", "spend", "spending", "show", "me", "from", "since", "for", "to", "with", "and", "paid",
    "pay", "payé", "paye", "total", "moi", "tout", "tous", "toutes", "all", "hui", "aujourd", "today", "svp",
    "merci", "please", "bonjour", "hello", "que", "qu", "quoi", "qui", "il", "y", "t", "se", "me", "m", "je",
    "tu", "vous", "nous", "on", "un", "une", "the", "a", "an", "of", "is", "it", "do", "does", "have", "has",
    "been", "was", "were", "any", "some", "there", "money", "argent", "things", "stuff", "trucs", "truc",
    "previous", "next", "prochain", "precedent", "passe", "plus", "moins", "more", "less", "than", "so", "far",
    "expenses", "expense", "achats", "achat", "frais", "costs", "cost", "budget", "compte", "account", NULL,
};

static bool nlu_stop(const char *w)
{
    for (const char *const *s = nlu_stop_words; *s != NULL; s++)
        if (strcmp(*s, w) == 0)
            return true;
    return false;
}

/* ---- language --------------------------------------------------------- */

static void nlu_language(const struct words *w, const char *user_language, char lang[3])
{
    static const char *const fr[] = {"mes", "mon", "ma", "de", "du", "des", "le", "la", "les", "j", "ai", "chez",
                                     "combien", "depenses", "depense", "ce", "cette", "mois", "dernier", "derniere",
                                     "en", "au", "par", "quelles", "sont", "avec", "aujourd", "hier", "semaine",
                                     "annee", "depuis", "moi", "tendances", "inhabituelles", "repartition", "et",
                                     "pour", "est", "que", "quoi", "dans", "une", "un", "sur", "entre", "je", NULL};
    static const char *const en[] = {"my", "the", "how", "much", "did", "i", "spend", "spent", "at", "this",
                                     "last", "month", "week", "in", "on", "what", "are", "show", "me", "since",
                                     "today", "yesterday", "year", "spending", "trends", "unusual", "breakdown",
                                     "compared", "with", "transactions", "and", "of", "for", "is", "to", "from",
                                     "between", "any", "about", "same", NULL};
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

/* ---- dates as text ------------------------------------------------------ */

static void nlu_date_text(int days, char out[36])
{
    int y, m, d;
    period_civil(days, &y, &m, &d);
    snprintf(out, 36, "%04d-%02d-%02d", y, m, d);
}

static int nlu_text_days(const char *s)
{
    int y, m, d;
    if (parse_date(s, strlen(s), &y, &m, &d) != 0)
        return 0;
    return period_days(y, m, d);
}

static void nlu_set_span(struct nlu_result *r, const struct period_span *s)
{
    nlu_date_text(s->from, r->from);
    nlu_date_text(s->to, r->to);
    snprintf(r->period_label, sizeof(r->period_label), "%s", s->label);
}

/* The unit of a stored period (a whole or to-date month, week, ...). */
static struct period_span nlu_span_of(const struct nlu_result *r, int today)
{
    struct period_span s;
    memset(&s, 0, sizeof(s));
    s.from = nlu_text_days(r->from);
    s.to = nlu_text_days(r->to);
    s.unit = UNIT_SPAN;
    snprintf(s.label, sizeof(s.label), "%s", r->period_label);
    static const enum period_unit units[] = {UNIT_WEEK, UNIT_MONTH, UNIT_QUARTER, UNIT_HALF, UNIT_YEAR};
    if (s.from == s.to) {
        s.unit = UNIT_DAY;
        return s;
    }
    for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
        struct period_span u = period_unit_of(units[k], s.from);
        if (u.from == s.from && (u.to == s.to || (s.to == today && u.to > today))) {
            s.unit = units[k];
            break;
        }
    }
    return s;
}

/* ---- lexicon ---------------------------------------------------------- */

struct nlu_synonyms {
    const char *display;
    const char *words[16];
};

/* Cue syntax of words_cue: "=" exact word only (a stem would over-match:
 * "cours" of "au cours de", "sortent" of "sortir"), "~" a word family. */
static const struct nlu_synonyms nlu_lexicon[] = {
    {"Alimentation", {"alimentation", "alimentaire", "=courses", "groceries", "grocery", "food", "supermarche",
                      "supermarket", "epicerie", "nourriture", "bouffe", "manger", NULL}},
    {"Transport", {"transport", "train", "metro", "essence", "carburant", "fuel", "taxi", "=bus", "commute", "=gas", "petrol", NULL}},
    {"Restaurant", {"restaurant", "resto", "restau", "=dining", "restauration", NULL}},
    {"Loisirs", {"loisir", "leisure", "=sorties", "=sortie", "entertainment", "cinema", "divertissement", NULL}},
    {"Logement", {"logement", "loyer", "=rent", "housing", "appartement", "=appart", NULL}},
    {"Abonnements", {"abonnement", "subscription", NULL}},
    {"Santé", {"sante", "health", "pharmacie", "pharmacy", "medecin", "doctor", "medical", NULL}},
    {"Shopping", {"shopping", "vetement", "clothes", "clothing", NULL}},
    {"Revenus", {"revenu", "salaire", "salary", "income", "~gagner", "earned", "earnings", NULL}},
};

/* Finds the category; returns the index of the word that named it or -1. */
static int nlu_category(const struct words *w, const struct nlu_vocab *v, struct nlu_result *r)
{
    const char *canonical = NULL;
    int at = -1;
    for (int i = 0; i < w->n && canonical == NULL; i++) {
        if (w->used[i])
            continue;
        for (size_t k = 0; k < sizeof(nlu_lexicon) / sizeof(nlu_lexicon[0]) && canonical == NULL; k++)
            for (const char *const *s = nlu_lexicon[k].words; *s != NULL; s++)
                if (words_cue(w, i, *s)) {
                    canonical = nlu_lexicon[k].display;
                    at = i;
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
        return at;
    }
    /* The user's own categories: a word equal to, or close to, a one-word key. */
    for (size_t c = 0; c < v->category_count; c++) {
        const char *ck = v->category_keys[c];
        if (strchr(ck, ' ') != NULL || ck[0] == '\0')
            continue;
        for (int i = 0; i < w->n; i++) {
            if (w->used[i] || nlu_stop(w->w[i]))
                continue;
            int tol = words_tolerance(strlen(ck));
            if (strcmp(ck, w->w[i]) == 0 || words_distance_within(ck, w->w[i], tol) <= tol) {
                snprintf(r->category_key, sizeof(r->category_key), "%s", ck);
                snprintf(r->category, sizeof(r->category), "%s", v->category_names[c]);
                return i;
            }
        }
    }
    return -1;
}

/* Does the merchant key (possibly several words) occur as consecutive words? */
static bool nlu_has_sequence(const struct words *w, const char *key)
{
    struct words kw;
    words_split_plain(key, &kw);
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

/* The display name cut to its first `words` words ("Carrefour Market" -> "Carrefour"). */
static void nlu_name_words(const char *name, int words, char *out, size_t cap)
{
    size_t n = 0;
    int seen = 0;
    const char *p = name;
    while (*p == ' ')
        p++;
    const char *start = p;
    while (*p != '\0') {
        if (*p == ' ' && p > start && p[-1] != ' ' && ++seen == words)
            break;
        p++;
    }
    n = (size_t)(p - start);
    if (n >= cap)
        n = words_utf8_cut(start, cap - 1);
    memcpy(out, start, n);
    out[n] = '\0';
}

static const char *const nlu_search_cues[] = {
    "~depenser", "depense", "transaction", "achat", "~acheter", "payer", "paye", "paiement", "spend", "spent",
    "spending", "pay", "paid", "payment", "combien", "cost", "~couter", "coute", "expense", "purchase", "buy",
    "bought", "debit", "montant", "operation", "releve", "recu", "received", "~gagner", "earned", "=claque",
    "~claquer", "=laisse", "total", "=money", "=argent", NULL};
static const char *const nlu_breakdown_cues[] = {
    "~repartir", "repartition", "ventilation", "~ventiler", "breakdown", "split", "~distribuer", "distribution",
    "distributed", "~decomposer", "camembert", "=pie", "=poste", "=postes", "~categorie", "category",
    "categories", NULL};
static const char *const nlu_anomaly_cues[] = {
    "~inhabituel", "~anormal", "unusual", "~anomalie", "anomaly", "suspect", "~suspicious", "bizarre",
    "~etrange", "strange", "weird", "=odd", "abnormal", "~atypique", "atypical", "outlier", "~fraude", "fraud",
    "~exceptionnel", "exceptional", "unexpected", "~inattendu", "=ordinaire", "=ordinary", "irregular", "louche", "shady", "fishy", "=reconnais", "=reconnait", "=reconnaissez", "=reconnue", "=reconnues", "=reconnu",
    "=reconnus", "recognize", "recognise", NULL};
static const char *const nlu_trend_cues[] = {
    "~tendance", "trend", "trending", "~evolution", "~evoluer", "evolve", "evolving", "evolved", "progression",
    "~progresser", NULL};
static const char *const nlu_trend_weak_cues[] = {
    "~augmenter", "increase", "increasing", "~baisser", "decrease", "decreasing", "~diminuer", "rising",
    "falling", NULL};
static const char *const nlu_compare_cues[] = {
    "~comparer", "~comparaison", "compare", "compared", "comparison", "~comparatif", "versus", "=vs",
    "difference", NULL};

/* Words that are cues of their own: never a merchant or category name. */
static bool nlu_cue_word(const struct words *w, int i)
{
    const char *const *lists[] = {nlu_search_cues, nlu_breakdown_cues, nlu_anomaly_cues, nlu_trend_cues,
                                  nlu_trend_weak_cues, nlu_compare_cues};
    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
        for (const char *const *c = lists[k]; *c != NULL; c++)
            if (words_cue(w, i, *c))
                return true;
    return false;
}

static bool nlu_merchant_candidate(const struct words *w, int i, int category_at)
{
    return i != category_at && !w->used[i] && strlen(w->w[i]) >= 4 && !nlu_stop(w->w[i]) && !nlu_cue_word(w, i);
}

static void nlu_merchant(const struct words *w, const struct nlu_vocab *v, int category_at, struct nlu_result *r)
{
    size_t best = (size_t)-1, best_len = 0;
    for (size_t m = 0; m < v->merchant_count; m++) {
        size_t len = strlen(v->merchant_keys[m]);
        if (len > best_len && nlu_has_sequence(w, v->merchant_keys[m])) {
            best = m;
            best_len = len;
        }
    }
    if (best != (size_t)-1) {
        snprintf(r->merchant_key, sizeof(r->merchant_key), "%s", v->merchant_keys[best]);
        snprintf(r->merchant, sizeof(r->merchant), "%s", v->merchant_names[best]);
        return;
    }
    /* Candidate words once (not stop words, cues or the category word, 4+
     * letters): the loops below are merchants x words, keep them cheap. */
    int cand[WORDS_MAX], ncand = 0;
    size_t cand_len[WORDS_MAX];
    for (int i = 0; i < w->n; i++) {
        bool seen = false;                 /* a word repeated is tried once */
        for (int k = 0; k < ncand && !seen; k++)
            seen = strcmp(w->w[cand[k]], w->w[i]) == 0;
        if (!seen && nlu_merchant_candidate(w, i, category_at)) {
            cand_len[ncand] = strlen(w->w[i]);
            cand[ncand++] = i;
        }
    }
    /* A word that begins a merchant's first word: what ?merchant= finds. */
    for (int k = 0; k < ncand; k++)
        for (size_t m = 0; m < v->merchant_count; m++)
            if (cand_len[k] >= 5 && strncmp(v->merchant_keys[m], w->w[cand[k]], cand_len[k]) == 0) {
                snprintf(r->merchant_key, sizeof(r->merchant_key), "%s", w->w[cand[k]]);
                nlu_name_words(v->merchant_names[m], 1, r->merchant, sizeof(r->merchant));
                return;
            }
    /* Typos: one word against a merchant's first word. */
    int best_dist = 99;
    size_t best_first = 0;
    for (size_t m = 0; m < v->merchant_count && ncand > 0; m++) {
        const char *key = v->merchant_keys[m];
        size_t first_len = strcspn(key, " ");
        if (first_len == 0 || first_len >= WORDS_BYTES)
            continue;
        char first[WORDS_BYTES];
        memcpy(first, key, first_len);
        first[first_len] = '\0';
        bool one_word = key[first_len] == '\0';
        int tol = words_tolerance(first_len);
        for (int k = 0; k < ncand; k++) {
            size_t diff = cand_len[k] > first_len ? cand_len[k] - first_len : first_len - cand_len[k];
            if (diff > (size_t)tol)
                continue;
            int dist = words_distance_within(first, w->w[cand[k]], tol);
            if (dist <= tol && dist < best_dist && (one_word || dist == 0 || first_len >= 5)) {
                best = m;
                best_dist = dist;
                best_first = first_len;
            }
        }
    }
    if (best != (size_t)-1) {
        /* the corrected first word, as a search for it would match */
        snprintf(r->merchant_key, sizeof(r->merchant_key), "%.*s", (int)best_first, v->merchant_keys[best]);
        nlu_name_words(v->merchant_names[best], 1, r->merchant, sizeof(r->merchant));
        return;
    }
    /* "chez X", "at X": a merchant the user has never paid. */
    for (int i = 0; i + 1 < w->n; i++) {
        if (!words_is(w, i, "chez") && !words_is(w, i, "at") && !words_is(w, i, "aupres"))
            continue;
        int j = i + 1;
        while (words_is(w, j, "de") || words_is(w, j, "the") || words_is(w, j, "le") || words_is(w, j, "la") ||
               words_is(w, j, "l"))
            j++;
        if (j >= w->n || nlu_stop(w->w[j]) || w->used[j] || j == category_at)
            continue;
        size_t n = 0;
        for (int k = j; k < w->n && k < j + 3 && !nlu_stop(w->w[k]) && !w->used[k]; k++)
            n += (size_t)snprintf(r->merchant_phrase + n, sizeof(r->merchant_phrase) - n, "%s%s", k > j ? " " : "",
                                  w->w[k]);
        if (n >= sizeof(r->merchant_phrase))
            n = sizeof(r->merchant_phrase) - 1;
        r->merchant_phrase[words_utf8_cut(r->merchant_phrase, n)] = '\0';
        return;
    }
}

/* "combien en jardinage", "spending on gaming", "mes dépenses d'éducation":
 * a word where a category is named, that is no category of the user's. */
static void nlu_unknown_category(const struct words *w, struct nlu_result *r)
{
    static const char *const before[] = {"en", "pour", "on", "for", "categorie", "category", NULL};
    static const char *const nouns[] = {"depenses", "depense", "achats", "frais", "spending", "expenses", NULL};
    for (int i = 0; i + 1 < w->n; i++) {
        bool at = false;
        for (const char *const *b = before; *b && !at; b++)
            at = words_is(w, i, *b);
        if (!at && (words_is(w, i, "de") || words_is(w, i, "d")))
            for (const char *const *b = nouns; *b && !at; b++)
                at = words_is(w, i - 1, *b);
        if (!at)
            continue;
        int j = i + 1;
        while (j < w->n && (words_is(w, j, "le") || words_is(w, j, "la") || words_is(w, j, "les") ||
                            words_is(w, j, "l") || words_is(w, j, "the") || words_is(w, j, "my") ||
                            words_is(w, j, "mes") || words_is(w, j, "mon") || words_is(w, j, "ma") ||
                            words_is(w, j, "d") || words_is(w, j, "des")))
            j++;
        if (j >= w->n || w->used[j] || strlen(w->w[j]) < 4 || nlu_stop(w->w[j]) || nlu_cue_word(w, j) ||
            (w->w[j][0] >= '0' && w->w[j][0] <= '9'))
            continue;
        size_t n = strlen(w->w[j]);
        if (n >= sizeof(r->unknown_category))
            n = words_utf8_cut(w->w[j], sizeof(r->unknown_category) - 1);
        memcpy(r->unknown_category, w->w[j], n);
        r->unknown_category[n] = '\0';
        return;
    }
}

/* ---- intent ----------------------------------------------------------- */

enum nlu_subtype { NLU_SIMPLE, NLU_BY_CATEGORY, NLU_BY_MERCHANT, NLU_ANOMALIES, NLU_TRENDS, NLU_COMPARISON, NLU_N };

static const char *const nlu_intent_names[NLU_N] = {
    "transaction_search.simple", "transaction_search.by_category", "transaction_search.by_merchant",
    "analytics.anomalies",       "analytics.trends",               "analytics.comparison",
};

static const char nlu_clarification[] = "clarification.needed";

const char *nlu_intent_name(const char *name)
{
    for (int i = 0; i < NLU_N; i++)
        if (strcmp(name, nlu_intent_names[i]) == 0)
            return nlu_intent_names[i];
    return strcmp(name, nlu_clarification) == 0 ? nlu_clarification : NULL;
}

static bool nlu_pair(const struct words *w, const char *a, const char *b)
{
    int i = words_find(w, a);
    return i >= 0 && words_find_cue(w, i + 1, (const char *const[]){b, NULL}) > i;
}

/* "plus que le mois dernier", "more than last month"; not "more than 100". */
static bool nlu_comparative(const struct words *w, const char *a, const char *b)
{
    int i = words_find(w, a);
    int j = i >= 0 ? words_find_cue(w, i + 1, (const char *const[]){b, NULL}) : -1;
    return j > i && !(j + 1 < w->n && w->w[j + 1][0] >= '0' && w->w[j + 1][0] <= '9');
}

/* Three words in a row: "de plus en plus". */
static bool nlu_triple(const struct words *w, const char *a, const char *b, const char *c)
{
    for (int i = 0; i + 2 < w->n; i++)
        if (strcmp(w->w[i], a) == 0 && strcmp(w->w[i + 1], b) == 0 && strcmp(w->w[i + 2], c) == 0)
            return true;
    return false;
}

struct nlu_features {
    bool search, breakdown, anomaly, trend, trend_weak, compare;
};

static void nlu_features(const struct words *w, bool trend_phrase, struct nlu_features *f)
{
    f->search = words_find_cue(w, 0, nlu_search_cues) >= 0 || nlu_pair(w, "how", "much");
    f->breakdown = words_find_cue(w, 0, nlu_breakdown_cues) >= 0 || nlu_pair(w, "break", "down") ||
                   (words_find(w, "ou") >= 0 && words_find(w, "va") >= 0 && words_find(w, "argent") >= 0) ||
                   (words_find(w, "where") >= 0 && words_find(w, "money") >= 0) ||
                   ((words_find(w, "quoi") >= 0 || words_find(w, "what") >= 0) &&
                    (words_find(w, "plus") >= 0 || words_find(w, "most") >= 0) && words_find(w, "que") < 0 &&
                    words_find(w, "than") < 0);
    f->anomaly = words_find_cue(w, 0, nlu_anomaly_cues) >= 0 || nlu_pair(w, "pas", "normal");
    f->trend = trend_phrase || words_find_cue(w, 0, nlu_trend_cues) >= 0 || nlu_triple(w, "plus", "en", "plus") ||
               nlu_triple(w, "moins", "en", "moins") || nlu_triple(w, "more", "and", "more") ||
               nlu_triple(w, "less", "and", "less");
    f->trend_weak = words_find_cue(w, 0, nlu_trend_weak_cues) >= 0 || nlu_pair(w, "going", "up") ||
                    nlu_pair(w, "going", "down") || nlu_pair(w, "go", "up");
    f->compare = words_find_cue(w, 0, nlu_compare_cues) >= 0 || nlu_pair(w, "par", "rapport") ||
                 nlu_comparative(w, "plus", "que") || nlu_comparative(w, "moins", "que") ||
                 nlu_comparative(w, "plus", "qu") || nlu_comparative(w, "more", "than") ||
                 nlu_comparative(w, "less", "than") || nlu_comparative(w, "mieux", "que") ||
                 nlu_comparative(w, "pire", "que") || nlu_comparative(w, "better", "than") ||
                 nlu_comparative(w, "worse", "than");
}

static bool nlu_has_own_intent(const struct nlu_features *f)
{
    return f->breakdown || f->anomaly || f->trend || f->trend_weak || f->compare;
}

static void nlu_intent(const struct nlu_features *f, struct nlu_result *r)
{
    double score[NLU_N] = {0};
    double base = (f->search ? 1.5 : 0) + (r->period_found || r->period_unrecognised || r->period_invalid ? 1.0 : 0);
    score[NLU_SIMPLE] = base;
    score[NLU_BY_CATEGORY] = 0.5 * base + (r->category[0] || r->unknown_category[0] ? 2.0 : 0);
    score[NLU_BY_MERCHANT] = 0.5 * base + (r->merchant[0] || r->merchant_phrase[0] ? 2.5 : 0);
    if (f->breakdown)
        score[NLU_BY_CATEGORY] += 3.0;
    if (f->anomaly)
        score[NLU_ANOMALIES] += 4.0;
    if (f->trend)
        score[NLU_TRENDS] += 4.0;
    else if (f->trend_weak)
        score[NLU_TRENDS] += 3.0;
    if (f->compare)
        score[NLU_COMPARISON] += 4.0;
    int top = 0, second = -1;
    for (int i = 1; i < NLU_N; i++)
        if (score[i] > score[top])
            top = i;
    for (int i = 0; i < NLU_N; i++)
        if (i != top && (second < 0 || score[i] > score[second]))
            second = i;
    if (score[top] < 1.0) {
        r->intent = nlu_clarification;
        r->confidence = 0.5;
        return;
    }
    r->intent = nlu_intent_names[top];
    double margin = (score[top] - score[second]) / score[top];
    r->confidence = 0.5 + 0.49 * margin;
}

/* Debits only, unless the question is about transactions in general or income. */
static bool nlu_spending_only(const struct words *w, const struct nlu_result *r)
{
    static const char *const all_words[] = {"transaction", "operation", "revenu", "salaire", "income", "salary",
                                            "recu", "received", "~gagner", "earned", "credit", "releve", NULL};
    if (strcmp(r->category, "Revenus") == 0)
        return false;
    return words_find_cue(w, 0, all_words) < 0;
}

/* ---- defaults, follow-ups, comparisons ----------------------------------- */

static void nlu_default_period(struct nlu_result *r, int today)
{
    struct period_span s;
    int y, m, d;
    period_civil(today, &y, &m, &d);
    if (strcmp(r->intent, "analytics.anomalies") == 0) {
        int idx = y * 12 + (m - 1) - 3;
        int py = idx / 12, pm = idx % 12 + 1;
        int pd = d <= parse_days_in_month(py, pm) ? d : parse_days_in_month(py, pm);
        s.from = period_days(py, pm, pd) + 1;
        s.to = today;
        snprintf(s.label, sizeof(s.label), "last_n_months");
    } else if (strcmp(r->intent, "analytics.trends") == 0) {
        int idx = y * 12 + (m - 1) - 5;
        s.from = period_days(idx / 12, idx % 12 + 1, 1);
        s.to = today;
        snprintf(s.label, sizeof(s.label), "last_6_months");
    } else {
        s.from = period_days(y, m, 1);
        s.to = today;
        snprintf(s.label, sizeof(s.label), "this_month");
    }
    nlu_set_span(r, &s);
}

/* A follow-up starts with "et", "and", "what about", "same for", "pareil",
 * ..., or names only entities (no cue of its own, no search word). */
static bool nlu_is_followup(const struct words *w, const struct nlu_features *f, const struct nlu_result *r)
{
    static const char *const starts[] = {"et", "and", "same", "pareil", "pareillement", "idem", "meme", "also",
                                         "aussi", "ou", "or", "puis", "then", "sinon", NULL};
    for (const char *const *s = starts; *s != NULL; s++)
        if (words_is(w, 0, *s))
            return true;
    if ((words_is(w, 0, "what") || words_is(w, 0, "how")) && words_is(w, 1, "about"))
        return true;
    bool names = r->period_found || r->period_unrecognised || r->category[0] || r->merchant[0] ||
                 r->merchant_phrase[0] || r->unknown_category[0];
    return names && !f->search && !nlu_has_own_intent(f) && w->n <= 6;
}

static void nlu_merge_previous(const struct nlu_result *prev, const struct nlu_features *f,
                               const struct period_result *pr, int today, struct nlu_result *r)
{
    r->followup = true;
    if (!nlu_has_own_intent(f)) {
        r->intent = prev->intent;
        r->confidence = prev->confidence >= 0.5 && prev->confidence <= 0.99 ? prev->confidence : 0.5;
    }
    bool names_subject = r->category[0] || r->merchant[0] || r->merchant_phrase[0] || r->unknown_category[0];
    if (!names_subject) {
        memcpy(r->category, prev->category, sizeof(r->category));
        memcpy(r->category_key, prev->category_key, sizeof(r->category_key));
        memcpy(r->unknown_category, prev->unknown_category, sizeof(r->unknown_category));
        memcpy(r->merchant, prev->merchant, sizeof(r->merchant));
        memcpy(r->merchant_key, prev->merchant_key, sizeof(r->merchant_key));
        memcpy(r->merchant_phrase, prev->merchant_phrase, sizeof(r->merchant_phrase));
    } else if (!nlu_has_own_intent(f) && strncmp(r->intent, "transaction_search.", 19) == 0) {
        bool merchant = r->merchant[0] || r->merchant_phrase[0];
        r->intent = nlu_intent_names[merchant ? NLU_BY_MERCHANT : NLU_BY_CATEGORY];
    }
    if (pr->count > 0 && pr->span[0].before_previous && prev->from[0]) {
        struct period_span ps = nlu_span_of(prev, today);
        struct period_span before = period_before(&ps);
        nlu_set_span(r, &before);
        r->period_found = true;
    } else if (!r->period_found && !r->period_unrecognised) {
        memcpy(r->from, prev->from, sizeof(r->from));
        memcpy(r->to, prev->to, sizeof(r->to));
        memcpy(r->period_label, prev->period_label, sizeof(r->period_label));
        r->period_found = prev->period_found;
        r->period_invalid = prev->period_invalid;
        r->period_unrecognised = prev->period_unrecognised;
    }
    if (!f->search)
        r->spending_only = prev->spending_only;
}

/* Too little of the current unit to compare: fewer than 7 days of a month
 * or quarter, one day of a week, January of a year. */
static bool nlu_barely_begun(enum period_unit unit, int from, int today)
{
    int elapsed = today - from + 1;
    switch (unit) {
    case UNIT_WEEK:
        return elapsed < 2;
    case UNIT_MONTH:
    case UNIT_QUARTER:
    case UNIT_HALF:
        return elapsed < 7;
    case UNIT_YEAR:
        return elapsed < 32;
    default:
        return false;
    }
}

static void nlu_comparison(struct nlu_result *r, const struct period_result *pr, int today)
{
    static const char *const unit_names[] = {"day", "week", "month", "quarter", "half", "year", "range"};
    struct period_span main, against;
    int named = r->followup ? 0 : pr->count;
    if (named == 2) {
        /* "ce mois-ci avec le mois dernier": one comparison of the current unit */
        int cur_i = pr->span[0].current ? 0 : pr->span[1].current ? 1 : -1;
        if (cur_i >= 0) {
            const struct period_span *o = &pr->span[1 - cur_i];
            struct period_span unit = period_unit_of(pr->span[cur_i].unit, today);
            struct period_span before = period_before(&unit);
            if (o->unit == unit.unit && o->from == before.from && o->to == before.to) {
                named = 1;
                main = pr->span[cur_i];
            }
        }
    } else if (named == 1) {
        main = pr->span[0];
    } else if (!r->period_found) {
        main = period_unit_of(UNIT_MONTH, today);
        main.to = today;
    } else {
        main = nlu_span_of(r, today);
    }
    if (named == 2) {
        int later = pr->span[1].from > pr->span[0].from ? 1 : 0;
        main = pr->span[later];
        against = pr->span[1 - later];
        if (against.before_previous)
            against = period_before(&main);
        snprintf(r->compare_basis, sizeof(r->compare_basis), "named");
    } else {
        bool calendar = main.unit != UNIT_DAY && main.unit != UNIT_SPAN;
        struct period_span cur = period_unit_of(main.unit, today);
        struct period_span prev_unit = period_before(&cur);
        /* "comparaison avec le mois dernier": the current unit against it. */
        if (calendar && main.from == prev_unit.from && main.to == prev_unit.to) {
            main = cur;
            main.to = today;
        }
        bool current = calendar && main.from == cur.from && main.to == today;
        if (current && nlu_barely_begun(main.unit, main.from, today)) {
            main = prev_unit;
            against = period_before(&main);
            snprintf(r->compare_basis, sizeof(r->compare_basis), "whole");
            snprintf(main.label, sizeof(main.label), "last_%s", unit_names[main.unit]);
        } else if (current) {
            against = prev_unit;
            if (main.unit == UNIT_WEEK || main.unit == UNIT_MONTH) {
                int len = today - main.from;
                if (against.from + len < against.to)
                    against.to = against.from + len;
            } else {
                /* the same date one unit back (Feb 29 -> Feb 28) */
                int y, m, d;
                period_civil(today, &y, &m, &d);
                int months = main.unit == UNIT_YEAR ? 12 : main.unit == UNIT_HALF ? 6 : 3;
                int idx = y * 12 + (m - 1) - months;
                int py = idx / 12, pm = idx % 12 + 1;
                int pd = d <= parse_days_in_month(py, pm) ? d : parse_days_in_month(py, pm);
                against.to = period_days(py, pm, pd);
            }
            snprintf(r->compare_basis, sizeof(r->compare_basis), "to_date");
            snprintf(main.label, sizeof(main.label), "this_%s", unit_names[main.unit]);
        } else {
            against = period_before(&main);
            snprintf(r->compare_basis, sizeof(r->compare_basis), "previous");
        }
    }
    nlu_set_span(r, &main);
    nlu_date_text(against.from, r->against_from);
    nlu_date_text(against.to, r->against_to);
}

/* ---- entry point ------------------------------------------------------ */

void nlu_understand(const char *message, size_t len, int today_y, int today_m, int today_d,
                    const struct nlu_vocab *vocab, const char *user_language, const struct nlu_result *previous,
                    struct nlu_result *out)
{
    memset(out, 0, sizeof(*out));
    char folded[NLU_FOLD_BYTES];
    text_fold(message, len, folded, sizeof(folded));
    struct words w;
    words_split(folded, &w);
    int today = period_days(today_y, today_m, today_d);
    nlu_language(&w, user_language ? user_language : "fr", out->lang);

    struct period_result pr;
    period_parse(&w, today, &pr);
    out->period_found = pr.status == PERIOD_FOUND;
    out->period_invalid = pr.status == PERIOD_INVALID;
    out->period_unrecognised = pr.status == PERIOD_UNRECOGNISED;
    if (out->period_found)
        nlu_set_span(out, &pr.span[0]);
    else if (out->period_invalid)
        snprintf(out->period_label, sizeof(out->period_label), "invalid_date");
    else if (out->period_unrecognised)
        snprintf(out->period_label, sizeof(out->period_label), "unrecognised");

    int category_at = nlu_category(&w, vocab, out);
    nlu_merchant(&w, vocab, category_at, out);
    if (!out->category[0] && !out->merchant[0] && !out->merchant_phrase[0])
        nlu_unknown_category(&w, out);
    struct nlu_features f;
    nlu_features(&w, pr.trend_phrase, &f);
    nlu_intent(&f, out);
    out->spending_only = nlu_spending_only(&w, out);
    if (previous != NULL && previous->intent != NULL && strcmp(previous->intent, nlu_clarification) != 0 &&
        nlu_is_followup(&w, &f, out))
        nlu_merge_previous(previous, &f, &pr, today, out);
    if (!out->period_found && !out->period_invalid && !out->period_unrecognised)
        nlu_default_period(out, today);
    if (strcmp(out->intent, "analytics.comparison") == 0 && out->from[0] && !out->period_invalid)
        nlu_comparison(out, &pr, today);
}
