/* assistant_words: splitting, canonical spellings and stems of a message.
 * See assistant_words.h. The stemmers (Snowball via libstemmer) are made
 * once per process on first use; a stemmer that cannot be made leaves the
 * stems equal to the words (matching then falls back to exact words). */
#include "assistant_words.h"

#include <libstemmer.h>
#include <string.h>

static bool words_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch >= 0x80;
}

static bool words_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

size_t words_utf8_cut(const char *s, size_t len)
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

static void words_put(struct words *out, const char *p, size_t len)
{
    size_t take = words_utf8_cut(p, len < WORDS_BYTES - 1 ? len : WORDS_BYTES - 1);
    memcpy(out->w[out->n], p, take);
    out->w[out->n][take] = '\0';
    out->n++;
}

void words_split_plain(const char *folded, struct words *out)
{
    out->n = 0;
    const char *p = folded;
    while (*p != '\0' && out->n < WORDS_MAX) {
        while (*p != '\0' && !words_char((unsigned char)*p))
            p++;
        size_t len = 0;
        for (;;) {
            while (p[len] != '\0' && words_char((unsigned char)p[len]))
                len++;
            /* 12/05/19, 2026-10-03, 03.10.2026: one word */
            if ((p[len] == '/' || p[len] == '.' || p[len] == '-') && len > 0 && words_digit((unsigned char)p[len - 1]) &&
                words_digit((unsigned char)p[len + 1]))
                len++;
            else
                break;
        }
        if (len == 0)
            break;
        words_put(out, p, len);
        p += len;
    }
    memset(out->used, 0, sizeof(out->used));
}

/* SMS and shorthand spellings: word -> canonical word. */
static const char *const words_canonical[][2] = {
    {"cb", "combien"},     {"cmb", "combien"},   {"cbn", "combien"},     {"cbien", "combien"},
    {"combein", "combien"}, {"g", "ai"},          {"jai", "ai"},          {"dep", "depenses"},
    {"deps", "depenses"},  {"sem", "semaine"},   {"wk", "week"},         {"wks", "weeks"},
    {"yr", "year"},        {"yrs", "years"},     {"mth", "month"},       {"ds", "dans"},
    {"mnth", "month"},     {"mths", "months"},   {"mnths", "months"},   {"mos", "months"},
    {"pr", "pour"},        {"tt", "tout"},       {"auj", "aujourd"},     {"ajd", "aujourd"},
    {"aujourdhui", "aujourd"}, {"aujourd_hui", "aujourd"}, {"pls", "svp"}, {"plz", "svp"},
    {"stp", "svp"},        {"bcp", "beaucoup"},  {"mnt", "maintenant"},  {"weekends", "weekend"},
    {"lundis", "lundi"},   {"thx", "merci"},
};

static void words_rewrite(struct words *w)
{
    for (int i = 0; i < w->n; i++)
        for (size_t k = 0; k < sizeof(words_canonical) / sizeof(words_canonical[0]); k++)
            if (strcmp(w->w[i], words_canonical[k][0]) == 0) {
                strcpy(w->w[i], words_canonical[k][1]);
                break;
            }
    /* Multi-word forms become one word; context-dependent shorthands. */
    int out = 0;
    for (int i = 0; i < w->n; i++) {
        char *cur = w->w[i];
        const char *next = i + 1 < w->n ? w->w[i + 1] : "";
        const char *prev = out > 0 ? w->w[out - 1] : "";
        int skip = 0;
        const char *as = NULL;
        if (strcmp(cur, "avant") == 0 && strcmp(next, "hier") == 0) {
            as = "avanthier";
            skip = 1;
        } else if (strcmp(cur, "day") == 0 && strcmp(next, "before") == 0 && i + 2 < w->n &&
                   strcmp(w->w[i + 2], "yesterday") == 0) {
            as = "avanthier";
            skip = 2;
            if (out > 0 && strcmp(prev, "the") == 0)
                out--;
        } else if (strcmp(cur, "week") == 0 && (strcmp(next, "end") == 0 || strcmp(next, "ends") == 0)) {
            as = "weekend";
            skip = 1;
        } else if (strcmp(cur, "aujourd") == 0 && strcmp(next, "hui") == 0) {
            as = "aujourd";
            skip = 1;
        } else if (strcmp(cur, "moi") == 0 &&
                   (strncmp(next, "dernier", 7) == 0 || strcmp(next, "prochain") == 0 || strcmp(next, "ci") == 0 ||
                    strncmp(next, "precedent", 9) == 0 || strcmp(next, "passe") == 0 || strcmp(next, "derneir") == 0) &&
                   (strcmp(prev, "du") == 0 || strcmp(prev, "le") == 0 || strcmp(prev, "ce") == 0)) {
            as = "mois";
        } else if (strcmp(cur, "we") == 0 &&
                   (strcmp(prev, "le") == 0 || strcmp(prev, "ce") == 0 || strcmp(prev, "du") == 0 ||
                    strncmp(next, "dernier", 7) == 0)) {
            as = "weekend";
        }
        if (as != NULL)
            strcpy(cur, as);
        if (out != i)
            memcpy(w->w[out], cur, WORDS_BYTES);
        out++;
        i += skip;
    }
    w->n = out;
}

static struct sb_stemmer *words_stemmer(int lang)
{
    static struct sb_stemmer *stemmers[2];
    static bool tried[2];
    if (!tried[lang]) {
        tried[lang] = true;
        stemmers[lang] = sb_stemmer_new(lang == 0 ? "french" : "english", "UTF_8");
    }
    return stemmers[lang];
}

static void words_stem(int lang, const char *word, char out[WORDS_STEM])
{
    struct sb_stemmer *s = words_stemmer(lang);
    size_t len = strlen(word);
    const char *stem = NULL;
    if (s != NULL && len >= 3 && !words_digit((unsigned char)word[0]))
        stem = (const char *)sb_stemmer_stem(s, (const sb_symbol *)word, (int)len);
    if (stem == NULL)
        stem = word;
    size_t n = strlen(stem);
    if (n >= WORDS_STEM)
        n = words_utf8_cut(stem, WORDS_STEM - 1);
    memcpy(out, stem, n);
    out[n] = '\0';
}

void words_split(const char *folded, struct words *out)
{
    words_split_plain(folded, out);
    words_rewrite(out);
    for (int i = 0; i < out->n; i++) {
        words_stem(0, out->w[i], out->fr[i]);
        words_stem(1, out->w[i], out->en[i]);
    }
    memset(out->used, 0, sizeof(out->used));
}

bool words_is(const struct words *w, int i, const char *word)
{
    return i >= 0 && i < w->n && strcmp(w->w[i], word) == 0;
}

int words_find(const struct words *w, const char *word)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->w[i], word) == 0)
            return i;
    return -1;
}

int words_distance(const char *a, const char *b)
{
    return words_distance_within(a, b, 99);
}

int words_distance_within(const char *a, const char *b, int max)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la >= WORDS_BYTES || lb >= WORDS_BYTES)
        return 99;
    if ((int)(la > lb ? la - lb : lb - la) > max)
        return max + 1;
    int d[WORDS_BYTES][WORDS_BYTES];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int row_min = d[i][0];
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
            if (best < row_min)
                row_min = best;
        }
        /* row minima never decrease (a transposition from row i - 1 costs
         * at least what the substitution into row i did): stop early */
        if (row_min > max)
            return max + 1;
    }
    return d[la][lb] <= max ? d[la][lb] : max + 1;
}

int words_tolerance(size_t len)
{
    return len < 4 ? 0 : len < 8 ? 1 : 2;
}

bool words_cue(const struct words *w, int i, const char *cue)
{
    if (i < 0 || i >= w->n)
        return false;
    char mode = cue[0] == '=' || cue[0] == '~' ? cue[0] : ' ';
    const char *text = mode == ' ' ? cue : cue + 1;
    const char *word = w->w[i];
    if (strcmp(word, text) == 0)
        return true;
    size_t tl = strlen(text), wl = strlen(word);
    if (mode == '=' || tl < 4 || word[0] != text[0])
        return false;
    char fr[WORDS_STEM], en[WORDS_STEM];
    words_stem(0, text, fr);
    words_stem(1, text, en);
    if (mode == '~') {
        size_t lf = strlen(fr), le = strlen(en);
        if ((lf >= 4 && strncmp(w->fr[i], fr, lf) == 0) || (le >= 4 && strncmp(w->en[i], en, le) == 0))
            return true;
    } else if (strcmp(w->fr[i], fr) == 0 || strcmp(w->en[i], en) == 0) {
        return true;
    }
    size_t diff = tl > wl ? tl - wl : wl - tl;
    return tl >= 7 && wl >= 7 && diff <= 1 && words_distance(word, text) <= 1;
}

int words_find_cue(const struct words *w, int from, const char *const *cues)
{
    for (int i = from < 0 ? 0 : from; i < w->n; i++)
        for (const char *const *c = cues; *c != NULL; c++)
            if (words_cue(w, i, *c))
                return i;
    return -1;
}
