/* The assistant's evaluation: every question of tests/nlu/corpus.tsv is
 * understood (nlu_understand, with a fixed vocabulary and the corpus's
 * "today") and compared with its labels. Prints the accuracy per intent
 * and per entity, every miss, and the time per message (p50 / p99); exits
 * 1 unless everything is right. Usage: score [corpus.tsv] (default
 * $TOP_SRCDIR/tests/nlu/corpus.tsv). */
#define _POSIX_C_SOURCE 200809L
#include "assistant/assistant_nlu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCORE_MAX_LINES  2000
#define SCORE_ROUNDS     15

static const char *merchant_keys[] = {"carrefour", "carrefour market", "netflix", "sncf", "uber", "amazon",
                                      "monoprix", "cafe de flore", "spotify", "lidl", "pharmacie centrale",
                                      "cinema ugc", "foncia", "acme corp", "leroy merlin", "fnac", "decathlon",
                                      "apple"};
static const char *merchant_names[] = {"Carrefour", "Carrefour Market", "Netflix", "SNCF", "Uber", "Amazon",
                                       "Monoprix", "Café de Flore", "Spotify", "Lidl", "Pharmacie Centrale",
                                       "Cinéma UGC", "Foncia", "ACME Corp", "Leroy Merlin", "Fnac", "Decathlon",
                                       "Apple"};
static const char *category_keys[] = {"alimentation", "transport", "restaurant", "sante", "bricolage",
                                      "abonnements", "logement", "loisirs", "shopping", "revenus"};
static const char *category_names[] = {"Alimentation", "Transport", "Restaurant", "Santé", "Bricolage",
                                       "Abonnements", "Logement", "Loisirs", "Shopping", "Revenus"};

struct tally_count {
    const char *name;
    int right, total;
};

static void count(struct tally_count *t, size_t n, const char *name, bool ok)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].name != NULL && strcmp(t[i].name, name) == 0) {
            t[i].total++;
            t[i].right += ok;
            return;
        }
    for (size_t i = 0; i < n; i++)
        if (t[i].name == NULL) {
            t[i] = (struct tally_count){name, ok, 1};
            return;
        }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static const char *intent_of(const char *label)
{
    static const char *const names[][2] = {
        {"simple", "transaction_search.simple"},     {"by_category", "transaction_search.by_category"},
        {"by_merchant", "transaction_search.by_merchant"}, {"anomalies", "analytics.anomalies"},
        {"trends", "analytics.trends"},               {"comparison", "analytics.comparison"},
        {"clarification", "clarification.needed"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(label, names[i][0]) == 0)
            return names[i][1];
    return "unknown";
}

int main(int argc, char **argv)
{
    char path[1024];
    if (argc > 1)
        snprintf(path, sizeof(path), "%s", argv[1]);
    else
        snprintf(path, sizeof(path), "%s/tests/nlu/corpus.tsv", getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".");
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return 2;
    }
    static const struct nlu_vocab vocab = {merchant_keys, merchant_names, 18, category_keys, category_names, 10};
    static double times[SCORE_MAX_LINES];
    struct tally_count intents[16] = {{0}}, entities[4] = {{0}}, languages[2] = {{0}};
    int y = 2026, m = 11, d = 15, lines = 0, misses = 0, lineno = 0;
    struct nlu_result prev, r;
    bool have_prev = false;
    char line[2048];
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (strncmp(line, "@today ", 7) == 0) {
            if (sscanf(line + 7, "%d-%d-%d", &y, &m, &d) != 3)
                return fprintf(stderr, "%s:%d: bad @today\n", path, lineno), 2;
            have_prev = false;
            continue;
        }
        char *col[6];
        char *p = line;
        int n = 0;
        for (; n < 6 && p != NULL; n++) {
            col[n] = p;
            p = n < 5 ? strchr(p, '\t') : NULL;
            if (p)
                *p++ = '\0';
        }
        if (n != 6)
            return fprintf(stderr, "%s:%d: expected 6 columns\n", path, lineno), 2;
        const char *msg = col[5];
        bool followup = strncmp(msg, "+ ", 2) == 0;
        if (followup)
            msg += 2;
        const struct nlu_result *context = followup && have_prev ? &prev : NULL;
        double best = 1e18;
        for (int k = 0; k < SCORE_ROUNDS; k++) {
            double t0 = now_us();
            nlu_understand(msg, strlen(msg), y, m, d, &vocab, "fr", context, &r);
            double t = now_us() - t0;
            if (t < best)
                best = t;
        }
        if (lines < SCORE_MAX_LINES)
            times[lines] = best;
        lines++;
        const char *want_intent = intent_of(col[0]);
        bool ok_intent = strcmp(r.intent, want_intent) == 0;
        bool ok_period = true;
        if (strcmp(col[1], "?") == 0)
            ok_period = r.period_unrecognised;
        else if (strcmp(col[1], "!") == 0)
            ok_period = r.period_invalid;
        else if (strcmp(col[1], "-") != 0)
            ok_period = !r.period_invalid && !r.period_unrecognised && strcmp(r.from, col[1]) == 0 &&
                        strcmp(r.to, col[2]) == 0;
        bool ok_category = strcmp(col[3], "-") == 0 ? r.category[0] == '\0' && r.unknown_category[0] == '\0'
                           : col[3][0] == '?'       ? r.category[0] == '\0' && strcmp(r.unknown_category, col[3] + 1) == 0
                                                    : strcmp(r.category, col[3]) == 0;
        bool ok_merchant = strcmp(col[4], "-") == 0 ? r.merchant[0] == '\0' && r.merchant_phrase[0] == '\0'
                           : col[4][0] == '?'       ? r.merchant[0] == '\0' && strcmp(r.merchant_phrase, col[4] + 1) == 0
                                                    : strcmp(r.merchant, col[4]) == 0;
        if (strcmp(col[0], "clarification") == 0)
            ok_category = ok_merchant = true;
        count(intents, 16, want_intent, ok_intent);
        count(entities, 4, "period", ok_period);
        count(entities, 4, "category", ok_category);
        count(entities, 4, "merchant", ok_merchant);
        count(languages, 2, strcmp(r.lang, "en") == 0 ? "en" : "fr", ok_intent && ok_period && ok_category && ok_merchant);
        if (!(ok_intent && ok_period && ok_category && ok_merchant)) {
            misses++;
            printf("MISS %s:%d \"%s\"%s\n  want %s %s..%s cat=%s merchant=%s\n  got  %s %s..%s (%s) cat=%s%s%s "
                   "merchant=%s%s%s\n",
                   path, lineno, msg, followup ? " (follow-up)" : "", want_intent, col[1], col[2], col[3], col[4],
                   r.intent, r.from, r.to, r.period_label, r.category, r.unknown_category[0] ? " ?" : "",
                   r.unknown_category, r.merchant, r.merchant_phrase[0] ? " ?" : "", r.merchant_phrase);
        }
        prev = r;
        have_prev = true;
    }
    fclose(f);
    printf("nlu corpus: %d questions, %d right (%.1f %%)\n", lines, lines - misses,
           lines ? 100.0 * (lines - misses) / lines : 0);
    for (int i = 0; i < 16 && intents[i].name; i++)
        printf("  intent %-32s %4d/%-4d %6.1f %%\n", intents[i].name, intents[i].right, intents[i].total,
               100.0 * intents[i].right / intents[i].total);
    for (int i = 0; i < 4 && entities[i].name; i++)
        printf("  entity %-32s %4d/%-4d %6.1f %%\n", entities[i].name, entities[i].right, entities[i].total,
               100.0 * entities[i].right / entities[i].total);
    for (int i = 0; i < 2 && languages[i].name; i++)
        printf("  language %-30s %4d/%-4d %6.1f %%\n", languages[i].name, languages[i].right, languages[i].total,
               100.0 * languages[i].right / languages[i].total);
    int nt = lines < SCORE_MAX_LINES ? lines : SCORE_MAX_LINES;
    qsort(times, (size_t)nt, sizeof(double), cmp_double);
    if (nt > 0)
        printf("  nlu time per message: p50 %.1f us, p99 %.1f us, max %.1f us (best of %d runs each)\n",
               times[nt / 2], times[(nt * 99) / 100 < nt ? (nt * 99) / 100 : nt - 1], times[nt - 1], SCORE_ROUNDS);
    return misses == 0 && lines >= 400 ? 0 : 1;
}
