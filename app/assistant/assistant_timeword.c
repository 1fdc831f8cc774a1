/* assistant_timeword: the readers of the period grammar's words (see
 * assistant_period.c): each looks at word i of the message, skipping words
 * already used, and says what it is (a number, a day of the month, a
 * rank, a year, a month or weekday name, a unit, a money word, a time
 * word). Pure; nothing is marked used here. */
#include "assistant_period_internal.h"

#include <stdlib.h>
#include <string.h>

const char *timeword_at(const struct period_ctx *c, int i)
{
    return i >= 0 && i < c->w->n && !c->w->used[i] ? c->w->w[i] : "";
}

bool timeword_is(const struct period_ctx *c, int i, const char *word)
{
    return strcmp(timeword_at(c, i), word) == 0;
}

bool timeword_in(const struct period_ctx *c, int i, const char *const *list)
{
    const char *s = timeword_at(c, i);
    if (*s == '\0')
        return false;
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static const char *const timeword_last_words[] = {"dernier", "derniere", "derniers", "dernieres", "passe",
                                                  "passee", "precedent", "precedente", "ecoule", "ecoulee",
                                                  "derneir", "dernire", "dernireee", "dernieree", NULL};
const char *const timeword_this_words[] = {"ce", "cet", "cette", "this", "current", NULL};

bool timeword_demi(const struct period_ctx *c, int i)
{
    return strncmp(timeword_at(c, i), "demi", 4) == 0;
}

int timeword_skip(const struct period_ctx *c, int i, const char *const *list)
{
    while (timeword_in(c, i, list))
        i++;
    return i;
}

bool timeword_is_last(const struct period_ctx *c, int i)
{
    return timeword_in(c, i, timeword_last_words) || (*timeword_at(c, i) != '\0' && words_distance(timeword_at(c, i), "derniere") <= 1);
}

/* ---- numbers, names ---------------------------------------------------- */

static bool timeword_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* A cardinal number: digits or a word; -1 if none. */
int timeword_number(const struct period_ctx *c, int i)
{
    static const char *const names[][3] = {
        {"un", "one", "une"},     {"deux", "two", NULL},     {"trois", "three", NULL}, {"quatre", "four", NULL},
        {"cinq", "five", NULL},   {"six", "six", NULL},      {"sept", "seven", NULL},  {"huit", "eight", NULL},
        {"neuf", "nine", NULL},   {"dix", "ten", NULL},      {"onze", "eleven", NULL}, {"douze", "twelve", NULL},
    };
    const char *s = timeword_at(c, i);
    if (timeword_digits(s, 1, 4))
        return atoi(s);
    for (int k = 0; k < 12; k++)
        for (int j = 0; j < 3; j++)
            if (names[k][j] != NULL && strcmp(s, names[k][j]) == 0)
                return k + 1;
    static const char *const tens[][3] = {{"quinze", "fifteen", "15"}, {"vingt", "twenty", "20"},
                                          {"trente", "thirty", "30"}, {"soixante", "sixty", "60"},
                                          {"quatorze", "fourteen", "14"}};
    for (int k = 0; k < 5; k++)
        if (strcmp(s, tens[k][0]) == 0 || strcmp(s, tens[k][1]) == 0)
            return atoi(tens[k][2]);
    return -1;
}

/* A day of the month: 3, 3e, 1er, 14th, premier, first; 0 if none. Values
 * over 31 are returned as they are (the caller flags them). */
int timeword_day_number(const struct period_ctx *c, int i)
{
    const char *s = timeword_at(c, i);
    if (strcmp(s, "premier") == 0 || strcmp(s, "first") == 0 || strcmp(s, "1re") == 0 || strcmp(s, "1ere") == 0)
        return 1;
    if (s[0] < '0' || s[0] > '9')
        return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (end - s > 2 || v <= 0)
        return 0;
    static const char *const suffix[] = {"", "er", "e", "eme", "st", "nd", "rd", "th", NULL};
    for (const char *const *x = suffix; *x != NULL; x++)
        if (strcmp(end, *x) == 0)
            return (int)v;
    return 0;
}

/* A rank: 1..5 (premier, 2e, second, third, ...) or -1 for last. 0: none. */
int timeword_rank(const struct period_ctx *c, int i)
{
    static const char *const ranks[][6] = {
        {"premier", "premiere", "1er", "1re", "first", "1st"},
        {"deuxieme", "second", "seconde", "2e", "2eme", "2nd"},
        {"troisieme", "third", "3e", "3eme", "3rd", NULL},
        {"quatrieme", "fourth", "4e", "4eme", "4th", NULL},
        {"cinquieme", "fifth", "5e", "5eme", "5th", NULL},
    };
    const char *s = timeword_at(c, i);
    if (*s == '\0')
        return 0;
    for (int k = 0; k < 5; k++)
        for (int j = 0; j < 6; j++)
            if (ranks[k][j] != NULL && strcmp(s, ranks[k][j]) == 0)
                return k + 1;
    if (strcmp(s, "last") == 0 || strcmp(s, "dernier") == 0 || strcmp(s, "derniere") == 0 || strcmp(s, "1ere") == 0)
        return strcmp(s, "1ere") == 0 ? 1 : -1;
    return 0;
}

bool timeword_year(const struct period_ctx *c, int i, int *y)
{
    const char *s = timeword_at(c, i);
    if (!timeword_digits(s, 4, 4) || s[0] == '0')
        return false;
    *y = atoi(s);
    return true;
}

/* A month name (full, abbreviated, within one typo for long names); 0 if
 * none. "sept", "mar" and "may" are months only where a month fits. */
int timeword_month(const struct period_ctx *c, int i)
{
    static const char *const names[][5] = {
        {"janvier", "january", "janv", "jan", NULL}, {"fevrier", "february", "fevr", "fev", "feb"},
        {"mars", "march", "mar", NULL, NULL},        {"avril", "april", "avr", "apr", NULL},
        {"mai", "may", NULL, NULL, NULL},            {"juin", "june", "jun", NULL, NULL},
        {"juillet", "july", "juil", "jul", NULL},    {"aout", "august", "aug", NULL, NULL},
        {"septembre", "september", "sept", "sep", NULL}, {"octobre", "october", "oct", NULL, NULL},
        {"novembre", "november", "nov", NULL, NULL}, {"decembre", "december", "dec", NULL, NULL},
    };
    const char *s = timeword_at(c, i);
    size_t len = strlen(s);
    if (len < 3)
        return 0;
    int found = 0;
    for (int m = 0; m < 12 && !found; m++)
        for (int k = 0; k < 5; k++)
            if (names[m][k] != NULL && strcmp(names[m][k], s) == 0) {
                found = m + 1;
                break;
            }
    if (!found && len >= 6)
        for (int m = 0; m < 12 && !found; m++)
            for (int k = 0; k < 2; k++)
                if (strlen(names[m][k]) >= 6 && words_distance(names[m][k], s) <= 1) {
                    found = m + 1;
                    break;
                }
    if (!found)
        return 0;
    int y;
    bool day_before = timeword_day_number(c, i - 1) > 0, day_after = timeword_day_number(c, i + 1) > 0, year_after = timeword_year(c, i + 1, &y);
    if (strcmp(s, "sept") == 0) {
        static const char *const month_context[] = {"en", "in", "de", "d", "of", "mois", "depuis", "since", "fin",
                                                    "debut", "mi", "mid", "early", "late", "end", "au", "a", "to",
                                                    "and", "et", "from", "du", "until", NULL};
        if (!(day_before || year_after || timeword_in(c, i - 1, month_context)) || timeword_is_last(c, i + 1) ||
            timeword_in(c, i + 1, (const char *const[]){"jours", "semaines", "mois", "ans", "days", "weeks", "months", NULL}))
            return 0;
    } else if (strcmp(s, "mar") == 0) {
        if (!(day_before || day_after || year_after))
            return 0;
    } else if (strcmp(s, "may") == 0) {
        if (timeword_in(c, i + 1, (const char *const[]){"i", "we", "you", "he", "she", "it", "they", "be", "have", NULL}))
            return 0;
    }
    return found;
}

int timeword_weekday(const struct period_ctx *c, int i)
{
    static const char *const names[][2] = {{"lundi", "monday"},   {"mardi", "tuesday"}, {"mercredi", "wednesday"},
                                           {"jeudi", "thursday"}, {"vendredi", "friday"}, {"samedi", "saturday"},
                                           {"dimanche", "sunday"}};
    const char *s = timeword_at(c, i);
    for (int k = 0; k < 7; k++)
        if (strcmp(s, names[k][0]) == 0 || strcmp(s, names[k][1]) == 0)
            return k + 1;
    return 0;
}


bool timeword_money(const struct period_ctx *c, int i)
{
    static const char *const money[] = {"euros", "euro", "eur", "dollars", "dollar", "usd", "e", "balles", NULL};
    const char *s = timeword_at(c, i);
    return timeword_in(c, i, money) || (unsigned char)s[0] >= 0x80;      /* "€", "$" folded to a symbol */
}

int timeword_unit(const struct period_ctx *c, int i)
{
    const char *s = timeword_at(c, i);
    if (strncmp(s, "jour", 4) == 0 || strcmp(s, "day") == 0 || strcmp(s, "days") == 0)
        return 1;
    if (strncmp(s, "semaine", 7) == 0 || strcmp(s, "week") == 0 || strcmp(s, "weeks") == 0)
        return 2;
    if (strcmp(s, "mois") == 0 || strcmp(s, "month") == 0 || strcmp(s, "months") == 0)
        return 3;
    if (strcmp(s, "ans") == 0 || strcmp(s, "an") == 0 || strncmp(s, "annee", 5) == 0 || strcmp(s, "year") == 0 ||
        strcmp(s, "years") == 0)
        return 4;
    return 0;
}

/* Words that say the message is about a time, read or not. */
bool timeword_time(const struct period_ctx *c, int i)
{
    static const char *const list[] = {
        "jour", "jours", "semaine", "semaines", "mois", "annee", "annees", "trimestre", "trimestres",
        "semestre", "semestres", "quinzaine", "quinzaines", "week", "weeks", "month", "months", "year", "years",
        "day", "days", "quarter", "quarters", "fortnight", "weekend", "hier", "yesterday", "aujourd", "today",
        "demain", "tomorrow", "depuis", "since", "ago", "vacances", "holiday", "holidays", "longtemps", "noel",
        "christmas", "hiver", "winter", "printemps", "spring", "summer", "automne", "autumn", "fetes", "paques",
        "easter", "avanthier", "semester", "quarterly", NULL};
    const char *s = timeword_at(c, i);
    if (*s == '\0')
        return false;
    if (strcmp(s, "an") == 0 || strcmp(s, "ans") == 0)      /* French years, not English "an" */
        return timeword_in(c, i - 1, (const char *const[]){"l", "un", "cet", "par", "d", "depuis", "dernier", NULL}) ||
               timeword_number(c, i - 1) > 0;
    if (timeword_in(c, i, list) || timeword_month(c, i) || timeword_weekday(c, i))
        return true;
    if ((s[0] == 't' || s[0] == 'q' || s[0] == 's' || s[0] == 'h') && timeword_digits(s + 1, 1, 2))
        return true;
    return s[0] >= '0' && s[0] <= '9' && strpbrk(s, "/-.") != NULL;
}
