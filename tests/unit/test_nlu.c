/* Unit tests: the assistant's understanding: periods (boundaries, leap
 * years), categories, merchants (with typos), intents, language. */
#include "check.h"
#include "core/text.h"
#include "assistant/assistant_nlu.h"
#include "assistant/assistant_words.h"

#include <string.h>

static const char *merchant_keys[] = {"carrefour", "netflix", "sncf", "uber", "amazon", "monoprix",
                                      "cafe de flore", "spotify", "lidl", "carrefour market"};
static const char *merchant_names[] = {"Carrefour", "Netflix", "SNCF", "Uber", "Amazon", "Monoprix",
                                       "Café de Flore", "Spotify", "Lidl", "Carrefour Market"};
static const char *category_keys[] = {"alimentation", "transport", "restaurant", "sante", "bricolage"};
static const char *category_names[] = {"Alimentation", "Transport", "Restaurant", "Santé", "Bricolage"};

static const struct nlu_vocab vocab = {merchant_keys, merchant_names, 10, category_keys, category_names, 5};

static struct nlu_result ask_on(const char *msg, int y, int m, int d)
{
    struct nlu_result r;
    nlu_understand(msg, strlen(msg), y, m, d, &vocab, "fr", NULL, &r);
    return r;
}

static struct nlu_result ask(const char *msg)
{
    return ask_on(msg, 2026, 11, 15);   /* a Sunday */
}

#define PERIOD(msg, y, m, d, want_from, want_to, want_label) do { \
    struct nlu_result r_ = ask_on(msg, y, m, d); \
    CHECK_STR(r_.from, want_from); CHECK_STR(r_.to, want_to); CHECK_STR(r_.period_label, want_label); \
} while (0)

#define INTENT(msg, want_intent) CHECK_STR(ask(msg).intent, want_intent)

static void test_periods(void)
{
    PERIOD("Combien j'ai dépensé aujourd'hui ?", 2026, 11, 15, "2026-11-15", "2026-11-15", "today");
    PERIOD("spending yesterday", 2026, 3, 1, "2026-02-28", "2026-02-28", "yesterday");
    PERIOD("dépenses d'hier", 2024, 3, 1, "2024-02-29", "2024-02-29", "yesterday");
    PERIOD("Transactions de cette semaine", 2026, 11, 15, "2026-11-09", "2026-11-15", "this_week");
    PERIOD("la semaine dernière", 2026, 11, 15, "2026-11-02", "2026-11-08", "last_week");
    PERIOD("last week", 2026, 1, 1, "2025-12-22", "2025-12-28", "last_week");   /* Jan 1 2026 is a Thursday */
    PERIOD("this week", 2026, 11, 9, "2026-11-09", "2026-11-09", "this_week");
    PERIOD("Mes dépenses du mois dernier", 2026, 11, 15, "2026-10-01", "2026-10-31", "last_month");
    PERIOD("last month", 2026, 1, 5, "2025-12-01", "2025-12-31", "last_month");
    PERIOD("le mois dernier", 2024, 3, 1, "2024-02-01", "2024-02-29", "last_month");
    PERIOD("le mois dernier", 2023, 3, 31, "2023-02-01", "2023-02-28", "last_month");
    PERIOD("Transactions SNCF du dernier mois", 2026, 11, 15, "2026-10-01", "2026-10-31", "last_month");
    PERIOD("ce mois-ci", 2026, 11, 15, "2026-11-01", "2026-11-15", "this_month");
    PERIOD("this month", 2026, 2, 28, "2026-02-01", "2026-02-28", "this_month");
    PERIOD("cette année", 2026, 11, 15, "2026-01-01", "2026-11-15", "this_year");
    PERIOD("l'année dernière", 2026, 11, 15, "2025-01-01", "2025-12-31", "last_year");
    PERIOD("les 30 derniers jours", 2026, 3, 10, "2026-02-09", "2026-03-10", "last_n_days");
    PERIOD("last 7 days", 2026, 1, 3, "2025-12-28", "2026-01-03", "last_n_days");
    PERIOD("les 3 derniers mois", 2026, 11, 15, "2026-08-16", "2026-11-15", "last_n_months");
    PERIOD("les trois derniers mois", 2026, 11, 15, "2026-08-16", "2026-11-15", "last_n_months");
    PERIOD("last 2 months", 2024, 4, 30, "2024-03-01", "2024-04-30", "last_n_months");
    PERIOD("en septembre", 2026, 11, 15, "2026-09-01", "2026-09-30", "month");
    PERIOD("en décembre", 2026, 11, 15, "2025-12-01", "2025-12-31", "month");
    PERIOD("in March 2026", 2026, 11, 15, "2026-03-01", "2026-03-31", "month");
    PERIOD("en février 2024", 2026, 11, 15, "2024-02-01", "2024-02-29", "month");
    PERIOD("en février 2100", 2026, 11, 15, "2100-02-01", "2100-02-28", "month");
    PERIOD("en novembre", 2026, 11, 15, "2026-11-01", "2026-11-15", "month");
    PERIOD("depuis mars", 2026, 11, 15, "2026-03-01", "2026-11-15", "since");
    PERIOD("since March", 2026, 2, 10, "2025-03-01", "2026-02-10", "since");
    PERIOD("Mes transactions du 1er janvier 1970", 2026, 11, 15, "1970-01-01", "1970-01-01", "date");
    PERIOD("le 3 octobre 2026", 2026, 11, 15, "2026-10-03", "2026-10-03", "date");
    PERIOD("October 3, 2026", 2026, 11, 15, "2026-10-03", "2026-10-03", "date");
    PERIOD("le 29 février 2024", 2026, 11, 15, "2024-02-29", "2024-02-29", "date");
    PERIOD("transactions du 2026-10-03", 2026, 11, 15, "2026-10-03", "2026-10-03", "date");
    PERIOD("transactions du 03/10/2026", 2026, 11, 15, "2026-10-03", "2026-10-03", "date");
    /* No period: this month by default for searches. */
    PERIOD("Mes dépenses chez Carrefour", 2026, 11, 15, "2026-11-01", "2026-11-15", "this_month");
    /* Impossible dates are flagged, not guessed. */
    struct nlu_result r = ask("le 31 février 2026");
    CHECK(r.period_invalid);
    CHECK_STR(r.period_label, "invalid_date");
    r = ask("le 29 février 2023");
    CHECK(r.period_invalid);
    r = ask("transactions du 2026-13-01");
    CHECK(r.period_invalid);
    CHECK(!ask("Mes dépenses du mois dernier").period_invalid);
}

static void test_suite_questions(void)
{
    INTENT("Mes dépenses du mois dernier", "transaction_search.simple");
    INTENT("Transactions de cette semaine", "transaction_search.simple");
    INTENT("Combien j'ai dépensé aujourd'hui ?", "transaction_search.simple");
    INTENT("Mes dépenses alimentaires ce mois-ci", "transaction_search.by_category");
    INTENT("Combien j'ai dépensé en transport ?", "transaction_search.by_category");
    INTENT("Répartition de mes dépenses par catégorie", "transaction_search.by_category");
    INTENT("Mes dépenses chez Carrefour", "transaction_search.by_merchant");
    INTENT("Combien j'ai payé à Netflix ce mois ?", "transaction_search.by_merchant");
    INTENT("Transactions SNCF du dernier mois", "transaction_search.by_merchant");
    INTENT("Quelles sont mes dépenses inhabituelles ?", "analytics.anomalies");
    INTENT("Mes tendances de dépenses", "analytics.trends");
    INTENT("Comparaison avec le mois dernier", "analytics.comparison");
    INTENT("Mes transactions du 1er janvier 1970", "transaction_search.simple");
    INTENT("Dépenses chez XYZ_MERCHANT_INEXISTANT", "transaction_search.by_merchant");
    INTENT("Mes trucs", "clarification.needed");
    /* More, English, typos, case, no accents. */
    INTENT("How much did I spend at Netflix this month?", "transaction_search.by_merchant");
    INTENT("MES DEPENSES CHEZ CAREFOUR", "transaction_search.by_merchant");
    INTENT("combien chez netflx", "transaction_search.by_merchant");
    INTENT("Show my grocery spending last month", "transaction_search.by_category");
    INTENT("spending breakdown by category", "transaction_search.by_category");
    INTENT("any unusual transactions?", "analytics.anomalies");
    INTENT("spending trends over time", "analytics.trends");
    INTENT("compare this month with last month", "analytics.comparison");
    INTENT("mes depenses restau", "transaction_search.by_category");
    INTENT("Mes dépenses santé en septembre", "transaction_search.by_category");
    INTENT("bonjour", "clarification.needed");
    INTENT("", "clarification.needed");
    INTENT("???", "clarification.needed");
    INTENT("my transactions yesterday", "transaction_search.simple");
    INTENT("évolution de mes dépenses", "analytics.trends");
    INTENT("dépenses au Café de Flore", "transaction_search.by_merchant");

    struct nlu_result r = ask("Mes dépenses chez Carrefour");
    CHECK_STR(r.merchant, "Carrefour");
    CHECK_STR(r.merchant_key, "carrefour");
    CHECK_STR(r.lang, "fr");
    CHECK(r.spending_only);
    CHECK(r.confidence >= 0.5 && r.confidence <= 0.99);
    r = ask("Mes dépenses chez Carrefour Market");
    CHECK_STR(r.merchant, "Carrefour Market");          /* the longest match wins */
    r = ask("Dépenses chez XYZ_MERCHANT_INEXISTANT");
    CHECK_STR(r.merchant, "");
    CHECK_STR(r.merchant_phrase, "xyz_merchant_inexistant");
    r = ask("Mes dépenses alimentaires ce mois-ci");
    CHECK_STR(r.category, "Alimentation");
    CHECK_STR(r.category_key, "alimentation");
    CHECK_STR(r.period_label, "this_month");
    r = ask("combien en sante ?");
    CHECK_STR(r.category, "Santé");                       /* the user's own spelling */
    r = ask("mes depenses en bricolage");
    CHECK_STR(r.category, "Bricolage");                   /* a category only this user has */
    r = ask("How much did I spend at Netflix this month?");
    CHECK_STR(r.lang, "en");
    CHECK_STR(r.merchant, "Netflix");
    r = ask("Transactions SNCF du dernier mois");
    CHECK(!r.spending_only);
    r = ask("Comparaison avec le mois dernier");
    CHECK_STR(r.from, "2026-11-01");                      /* this month to date, against last month */
    r = ask("Mes trucs");
    CHECK(r.merchant[0] == '\0' && r.category[0] == '\0');
}

/* Comparisons: the period compared with, on any day. */
static void test_comparisons(void)
{
    struct {
        const char *msg;
        int y, m, d;
        const char *from, *to, *against_from, *against_to, *basis;
    } cases[] = {
        {"compare ce mois-ci avec le mois dernier", 2026, 11, 15, "2026-11-01", "2026-11-15", "2026-10-01", "2026-10-15", "to_date"},
        {"compare ce mois-ci avec le mois dernier", 2026, 12, 1, "2026-11-01", "2026-11-30", "2026-10-01", "2026-10-31", "whole"},
        {"comparaison avec le mois dernier", 2026, 3, 31, "2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28", "to_date"},
        {"comparaison avec le mois dernier", 2026, 3, 6, "2026-02-01", "2026-02-28", "2026-01-01", "2026-01-31", "whole"},
        {"this week vs last week", 2026, 11, 11, "2026-11-09", "2026-11-11", "2026-11-02", "2026-11-04", "to_date"},
        {"this week vs last week", 2026, 11, 9, "2026-11-02", "2026-11-08", "2026-10-26", "2026-11-01", "whole"},
        {"compare this year with last year", 2024, 2, 29, "2024-01-01", "2024-02-29", "2023-01-01", "2023-02-28", "to_date"},
        {"compare this year with last year", 2026, 1, 20, "2025-01-01", "2025-12-31", "2024-01-01", "2024-12-31", "whole"},
        {"compare octobre et septembre", 2026, 11, 15, "2026-10-01", "2026-10-31", "2026-09-01", "2026-09-30", "named"},
        {"compare les 7 derniers jours", 2026, 11, 15, "2026-11-09", "2026-11-15", "2026-11-02", "2026-11-08", "previous"},
        {"compare le mois dernier au mois d'avant", 2026, 11, 15, "2026-10-01", "2026-10-31", "2026-09-01", "2026-09-30", "named"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct nlu_result r = ask_on(cases[i].msg, cases[i].y, cases[i].m, cases[i].d);
        CHECK_STR(r.intent, "analytics.comparison");
        CHECK_STR(r.from, cases[i].from);
        CHECK_STR(r.to, cases[i].to);
        CHECK_STR(r.against_from, cases[i].against_from);
        CHECK_STR(r.against_to, cases[i].against_to);
        CHECK_STR(r.compare_basis, cases[i].basis);
    }
}

/* Follow-ups: what the message does not name comes from the previous question. */
static void test_followups(void)
{
    struct nlu_result first = ask("Mes dépenses chez Carrefour"), r;
    const char *msg = "et le mois dernier ?";
    nlu_understand(msg, strlen(msg), 2026, 11, 15, &vocab, "fr", &first, &r);
    CHECK(r.followup);
    CHECK_STR(r.intent, "transaction_search.by_merchant");
    CHECK_STR(r.merchant, "Carrefour");
    CHECK_STR(r.from, "2026-10-01");
    struct nlu_result second = r;
    msg = "et le mois d'avant ?";
    nlu_understand(msg, strlen(msg), 2026, 11, 15, &vocab, "fr", &second, &r);
    CHECK_STR(r.from, "2026-09-01");
    CHECK_STR(r.to, "2026-09-30");
    CHECK_STR(r.merchant, "Carrefour");
    second = r;
    msg = "pareil pour la santé";
    nlu_understand(msg, strlen(msg), 2026, 11, 15, &vocab, "fr", &second, &r);
    CHECK_STR(r.intent, "transaction_search.by_category");
    CHECK_STR(r.category, "Santé");
    CHECK_STR(r.merchant, "");
    CHECK_STR(r.from, "2026-09-01");
    /* the week before a week, the year before a year */
    second = ask("la semaine dernière");
    msg = "and the week before?";
    nlu_understand(msg, strlen(msg), 2026, 11, 15, &vocab, "fr", &second, &r);
    CHECK_STR(r.from, "2026-10-26");
    CHECK_STR(r.to, "2026-11-01");
    /* a new question is not a follow-up */
    msg = "Quelles sont mes dépenses inhabituelles ?";
    nlu_understand(msg, strlen(msg), 2026, 11, 15, &vocab, "fr", &first, &r);
    CHECK(!r.followup);
    CHECK_STR(r.merchant, "");
    /* a clarification is no context */
    second = ask("bonjour");
    msg = "et en octobre ?";
    nlu_understand(msg, strlen(msg), 2026, 11, 15, &vocab, "fr", &second, &r);
    CHECK(!r.followup);
}

/* Words in their forms, unread periods, unknown categories, merchants as a search. */
static void test_forms(void)
{
    INTENT("comment se répartissent mes dépenses", "transaction_search.by_category");
    INTENT("la répartition", "transaction_search.by_category");
    INTENT("répartir mon budget", "transaction_search.by_category");
    INTENT("how has my spending evolved", "analytics.trends");
    INTENT("evolving spending", "analytics.trends");
    INTENT("splitting my spending", "transaction_search.by_category");
    INTENT("au cours des 3 derniers mois", "transaction_search.simple");     /* "cours" is no Alimentation */
    CHECK_STR(ask("au cours des 3 derniers mois").category, "");
    struct nlu_result r = ask("combien pendant les vacances");
    CHECK(r.period_unrecognised);
    CHECK(!r.period_found);
    CHECK_STR(r.from, "");
    CHECK_STR(r.period_label, "unrecognised");
    r = ask("combien en jardinage");
    CHECK_STR(r.unknown_category, "jardinage");
    CHECK_STR(r.intent, "transaction_search.by_category");
    r = ask("combien chez monop");
    CHECK_STR(r.merchant, "Monoprix");
    CHECK_STR(r.merchant_key, "monop");
    r = ask("combien chez Carrefour");
    CHECK_STR(r.merchant_key, "carrefour");                /* a search for it also finds Carrefour Market */
    r = ask("spot any weird spending");
    CHECK_STR(r.merchant, "");                             /* "spot" is no Spotify */
    PERIOD("sept", 2026, 11, 15, "2026-11-01", "2026-11-15", "this_month");   /* seven, not September */
}

/* The early-exit distance agrees with the full one (random words over a
 * small alphabet, so that near misses and transpositions are common). */
static void test_distance_cutoff(void)
{
    unsigned seed = 12345;
    int disagreements = 0;
    for (int n = 0; n < 20000; n++) {
        char a[12], b[12];
        size_t la = 1 + (seed = seed * 1103515245u + 12345u) % 10, lb = 1 + (seed = seed * 1103515245u + 12345u) % 10;
        for (size_t i = 0; i < la; i++)
            a[i] = (char)('a' + (seed = seed * 1103515245u + 12345u) % 3);
        for (size_t i = 0; i < lb; i++)
            b[i] = (char)('a' + (seed = seed * 1103515245u + 12345u) % 3);
        a[la] = b[lb] = '\0';
        int full = words_distance(a, b);
        for (int max = 0; max <= 3; max++)
            disagreements += words_distance_within(a, b, max) != (full <= max ? full : max + 1);
    }
    CHECK(disagreements == 0);
    CHECK(words_distance("carrefour", "carefour") == 1);
    CHECK(words_distance("derniere", "dernireee") == 1 || words_distance("derniere", "dernireee") == 2);
}

static void test_robustness(void)
{
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct nlu_result r = ask(big);
    CHECK_STR(r.intent, "clarification.needed");
    const char odd[] = "\xff\xfe chez \xc3 \x01\x02 2026-02-30 99/99/9999 le 0 mars 0000";
    r = ask(odd);
    CHECK(r.intent != NULL);
    CHECK(strlen(r.from) == 10 || r.period_invalid);
    /* A long word of multi-byte characters after "chez" is cut on a character bound. */
    char phrase[400] = "chez ";
    for (int i = 0; i < 60; i++)
        strcat(phrase, "\xe2\x98\x83");               /* U+2603, 3 bytes */
    r = ask(phrase);
    CHECK(r.merchant_phrase[0] != '\0');
    CHECK(text_is_utf8(r.merchant_phrase, strlen(r.merchant_phrase)));
}

int main(void)
{
    test_periods();
    test_suite_questions();
    test_comparisons();
    test_followups();
    test_forms();
    test_distance_cutoff();
    test_robustness();
    CHECK_DONE();
}
