/* assistant_period: the period grammar (docs/assistant.md, "Periods").
 *
 * The words are scanned left to right; at each unused word the forms are
 * tried in a fixed order (ranges, "since", last N units, parts of months,
 * weeks, week-ends, quarters, halves, relative words, then a plain day,
 * month or year). A form returns how many words it took; the first two
 * spans are kept (comparisons name two). Endpoints are read first and
 * resolved after, so "du 3 au 9 août" takes its month from the end and
 * "du 20 décembre au 5 janvier" crosses the year. Nothing here guesses a
 * period that was not named: unread time words make PERIOD_UNRECOGNISED. */
#include "assistant_period.h"
#include "../core/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PERIOD_MAX_DAYS_BACK    3660     /* "last N days": N at most (10 years) */

int period_days(int y, int m, int d)
{
    return parse_days_from_civil(y, m, d);
}

void period_civil(int days, int *y, int *m, int *d)
{
    parse_civil_from_days(days, y, m, d);
}

int period_weekday(int days)
{
    return ((days % 7) + 7 + 3) % 7;       /* 1970-01-01 was a Thursday */
}

struct pc {
    const struct words *w;
    int today, ty, tm, td;
    bool invalid;                          /* an impossible date was read */
};

/* An endpoint before resolution: a day (d, m, y or 0), a month (m, y or 0),
 * a bare day number (d) or a year. */
enum point_kind { PT_NONE, PT_DAY, PT_MONTH, PT_BARE_DAY, PT_YEAR };
struct point {
    enum point_kind kind;
    int y, m, d;
};

static const char *pw(const struct pc *c, int i)
{
    return i >= 0 && i < c->w->n && !c->w->used[i] ? c->w->w[i] : "";
}

static bool pis(const struct pc *c, int i, const char *word)
{
    return strcmp(pw(c, i), word) == 0;
}

static bool pin(const struct pc *c, int i, const char *const *list)
{
    const char *s = pw(c, i);
    if (*s == '\0')
        return false;
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static const char *const p_last_words[] = {"dernier", "derniere", "derniers", "dernieres", "passe", "passee",
                                           "precedent", "precedente", "ecoule", "ecoulee", "derneir", "dernire",
                                           "dernireee", "dernieree", NULL};
static const char *const p_this_words[] = {"ce", "cet", "cette", "this", "current", NULL};

static bool pprefix_demi(const struct pc *c, int i)
{
    return strncmp(pw(c, i), "demi", 4) == 0;
}

static int p_skip(const struct pc *c, int i, const char *const *list)
{
    while (pin(c, i, list))
        i++;
    return i;
}

static bool p_is_last(const struct pc *c, int i)
{
    return pin(c, i, p_last_words) || (*pw(c, i) != '\0' && words_distance(pw(c, i), "derniere") <= 1);
}

/* ---- numbers, names ---------------------------------------------------- */

static bool p_digits(const char *s, size_t min, size_t max)
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
static int p_number(const struct pc *c, int i)
{
    static const char *const names[][3] = {
        {"un", "one", "une"},     {"deux", "two", NULL},     {"trois", "three", NULL}, {"quatre", "four", NULL},
        {"cinq", "five", NULL},   {"six", "six", NULL},      {"sept", "seven", NULL},  {"huit", "eight", NULL},
        {"neuf", "nine", NULL},   {"dix", "ten", NULL},      {"onze", "eleven", NULL}, {"douze", "twelve", NULL},
    };
    const char *s = pw(c, i);
    if (p_digits(s, 1, 4))
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
static int p_day_number(const struct pc *c, int i)
{
    const char *s = pw(c, i);
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
static int p_rank(const struct pc *c, int i)
{
    static const char *const ranks[][6] = {
        {"premier", "premiere", "1er", "1re", "first", "1st"},
        {"deuxieme", "second", "seconde", "2e", "2eme", "2nd"},
        {"troisieme", "third", "3e", "3eme", "3rd", NULL},
        {"quatrieme", "fourth", "4e", "4eme", "4th", NULL},
        {"cinquieme", "fifth", "5e", "5eme", "5th", NULL},
    };
    const char *s = pw(c, i);
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

static bool p_year(const struct pc *c, int i, int *y)
{
    const char *s = pw(c, i);
    if (!p_digits(s, 4, 4) || s[0] == '0')
        return false;
    *y = atoi(s);
    return true;
}

/* A month name (full, abbreviated, within one typo for long names); 0 if
 * none. "sept", "mar" and "may" are months only where a month fits. */
static int p_month(const struct pc *c, int i)
{
    static const char *const names[][5] = {
        {"janvier", "january", "janv", "jan", NULL}, {"fevrier", "february", "fevr", "fev", "feb"},
        {"mars", "march", "mar", NULL, NULL},        {"avril", "april", "avr", "apr", NULL},
        {"mai", "may", NULL, NULL, NULL},            {"juin", "june", "jun", NULL, NULL},
        {"juillet", "july", "juil", "jul", NULL},    {"aout", "august", "aug", NULL, NULL},
        {"septembre", "september", "sept", "sep", NULL}, {"octobre", "october", "oct", NULL, NULL},
        {"novembre", "november", "nov", NULL, NULL}, {"decembre", "december", "dec", NULL, NULL},
    };
    const char *s = pw(c, i);
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
    bool day_before = p_day_number(c, i - 1) > 0, day_after = p_day_number(c, i + 1) > 0, year_after = p_year(c, i + 1, &y);
    if (strcmp(s, "sept") == 0) {
        static const char *const month_context[] = {"en", "in", "de", "d", "of", "mois", "depuis", "since", "fin",
                                                    "debut", "mi", "mid", "early", "late", "end", "au", "a", "to",
                                                    "and", "et", "from", "du", "until", NULL};
        if (!(day_before || year_after || pin(c, i - 1, month_context)) || p_is_last(c, i + 1) ||
            pin(c, i + 1, (const char *const[]){"jours", "semaines", "mois", "ans", "days", "weeks", "months", NULL}))
            return 0;
    } else if (strcmp(s, "mar") == 0) {
        if (!(day_before || day_after || year_after))
            return 0;
    } else if (strcmp(s, "may") == 0) {
        if (pin(c, i + 1, (const char *const[]){"i", "we", "you", "he", "she", "it", "they", "be", "have", NULL}))
            return 0;
    }
    return found;
}

static int p_weekday(const struct pc *c, int i)
{
    static const char *const names[][2] = {{"lundi", "monday"},   {"mardi", "tuesday"}, {"mercredi", "wednesday"},
                                           {"jeudi", "thursday"}, {"vendredi", "friday"}, {"samedi", "saturday"},
                                           {"dimanche", "sunday"}};
    const char *s = pw(c, i);
    for (int k = 0; k < 7; k++)
        if (strcmp(s, names[k][0]) == 0 || strcmp(s, names[k][1]) == 0)
            return k + 1;
    return 0;
}

/* ---- spans ------------------------------------------------------------- */

static void p_set(struct period_span *s, int from, int to, enum period_unit unit, const char *label)
{
    memset(s, 0, sizeof(*s));
    s->from = from;
    s->to = to;
    s->unit = unit;
    snprintf(s->label, sizeof(s->label), "%s", label);
}

static int p_month_first(int y, int m)
{
    return period_days(y, m, 1);
}

static int p_month_last(int y, int m)
{
    return period_days(y, m, parse_days_in_month(y, m));
}

struct period_span period_unit_of(enum period_unit unit, int day)
{
    struct period_span s;
    int y, m, d;
    period_civil(day, &y, &m, &d);
    switch (unit) {
    case UNIT_WEEK: {
        int monday = day - period_weekday(day);
        p_set(&s, monday, monday + 6, UNIT_WEEK, "week");
        break;
    }
    case UNIT_MONTH:
        p_set(&s, p_month_first(y, m), p_month_last(y, m), UNIT_MONTH, "month");
        break;
    case UNIT_QUARTER: {
        int q = (m - 1) / 3;
        p_set(&s, p_month_first(y, 3 * q + 1), p_month_last(y, 3 * q + 3), UNIT_QUARTER, "quarter");
        break;
    }
    case UNIT_HALF: {
        int h = (m - 1) / 6;
        p_set(&s, p_month_first(y, 6 * h + 1), p_month_last(y, 6 * h + 6), UNIT_HALF, "half");
        break;
    }
    case UNIT_YEAR:
        p_set(&s, period_days(y, 1, 1), period_days(y, 12, 31), UNIT_YEAR, "year");
        break;
    default:
        p_set(&s, day, day, UNIT_DAY, "date");
        break;
    }
    return s;
}

struct period_span period_before(const struct period_span *s)
{
    if (s->unit == UNIT_DAY || s->unit == UNIT_SPAN) {
        struct period_span out;
        int len = s->to - s->from + 1;
        p_set(&out, s->from - len, s->from - 1, s->unit, s->unit == UNIT_DAY ? "date" : "range");
        return out;
    }
    return period_unit_of(s->unit, s->from - 1);
}

/* The unit holding today (to date), or the one before it, or after. */
static void p_relative_unit(const struct pc *c, enum period_unit unit, int shift, struct period_span *s)
{
    static const char *const names[] = {"day", "week", "month", "quarter", "half", "year", "range"};
    struct period_span u = period_unit_of(unit, c->today);
    for (int k = 0; k < shift; k++)
        u = period_before(&u);
    if (shift < 0)
        u = period_unit_of(unit, u.to + 1);
    char label[32];
    snprintf(label, sizeof(label), "%s_%s", shift == 0 ? "this" : shift > 0 ? "last" : "next", names[unit]);
    p_set(s, u.from, u.to, unit, shift > 1 ? names[unit] : label);
    s->current = shift == 0;
}

/* Resolves a day without a year to the latest one not after today. */
static bool p_make_day(struct pc *c, int y, int m, int d, int *out)
{
    if (y == 0)
        y = (m < c->tm || (m == c->tm && d <= c->td)) ? c->ty : c->ty - 1;
    if (y < PARSE_YEAR_MIN || y > PARSE_YEAR_MAX || m < 1 || m > 12 || d < 1 || d > parse_days_in_month(y, m)) {
        c->invalid = true;
        return false;
    }
    *out = period_days(y, m, d);
    return true;
}

static int p_latest_month_year(const struct pc *c, int m)
{
    return m <= c->tm ? c->ty : c->ty - 1;
}

/* A two-digit year: this century unless that is after this year. */
static int p_two_digit_year(const struct pc *c, int yy)
{
    return 2000 + yy <= c->ty ? 2000 + yy : 1900 + yy;
}

/* 2026-10-03, 03/10/2026, 12/05/19, 7/30/2021 (month first only when day
 * first cannot be), 12/11, 10/2026, 2026-10. */
static bool p_numeric(struct pc *c, int i, struct point *pt)
{
    const char *s = pw(c, i);
    if (strpbrk(s, "/.-") == NULL || s[0] < '0' || s[0] > '9')
        return false;
    int part[3], len[3], n = 0;
    const char *p = s;
    while (n < 3) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || end - p > 4)
            return false;
        part[n] = (int)v;
        len[n++] = (int)(end - p);
        if (*end == '\0')
            break;
        if (*end != '/' && *end != '.' && *end != '-')
            return false;
        p = end + 1;
    }
    if (*p != '\0' && n == 3 && strpbrk(p, "/.-") != NULL)
        return false;
    memset(pt, 0, sizeof(*pt));
    if (n == 3) {
        int y, m, d;
        if (len[0] == 4) {
            y = part[0], m = part[1], d = part[2];
        } else if (len[2] == 4 || len[2] == 2) {
            y = len[2] == 2 ? p_two_digit_year(c, part[2]) : part[2];
            d = part[0], m = part[1];
            if ((m > 12 || m < 1) && part[0] >= 1 && part[0] <= 12 && part[1] <= 31) {
                m = part[0];
                d = part[1];
            }
        } else {
            return false;
        }
        *pt = (struct point){PT_DAY, y, m, d};
        return true;
    }
    if (n == 2) {
        if (len[1] == 4) {
            *pt = (struct point){PT_MONTH, part[1], part[0], 0};
        } else if (len[0] == 4) {
            *pt = (struct point){PT_MONTH, part[0], part[1], 0};
        } else {
            int d = part[0], m = part[1];
            if (m > 12 && d <= 12) {
                m = part[0];
                d = part[1];
            }
            *pt = (struct point){PT_DAY, 0, m, d};
        }
        if (pt->m < 1 || pt->m > 12)
            c->invalid = true;
        return true;
    }
    return false;
}

static bool p_money_word(const struct pc *c, int i)
{
    static const char *const money[] = {"euros", "euro", "eur", "dollars", "dollar", "usd", "e", "balles", NULL};
    const char *s = pw(c, i);
    return pin(c, i, money) || (unsigned char)s[0] >= 0x80;      /* "€", "$" folded to a symbol */
}

/* An endpoint: a numeric date, "3 octobre [2026]", "the 14th of September",
 * "October 3[,] [2026]", "mars [2026]", a bare day ("3", "le 2") when
 * allowed, or a year. Returns the words taken. */
static int p_point(struct pc *c, int i, struct point *pt, bool allow_bare)
{
    int j = p_skip(c, i, (const char *const[]){"le", "the", NULL});
    if (p_weekday(c, j) && p_day_number(c, j + 1) > 0)
        j++;                               /* "mardi 10 novembre", "Tuesday 10th" */
    memset(pt, 0, sizeof(*pt));
    if (pin(c, j, (const char *const[]){"last", "previous", NULL}) && p_month(c, j + 1) && !p_year(c, j + 2, &(int){0}) &&
        p_day_number(c, j + 2) == 0) {
        int m = p_month(c, j + 1);         /* "last November": before this month */
        *pt = (struct point){PT_MONTH, m < c->tm ? c->ty : c->ty - 1, m, 0};
        return j + 2 - i;
    }
    if (p_numeric(c, j, pt))
        return j + 1 - i;
    int y = 0;
    int day = p_day_number(c, j);
    if (day > 0) {
        int k = p_skip(c, j + 1, (const char *const[]){"de", "d", "of", NULL});
        int m = p_month(c, k);
        if (m > 0) {
            int year = 0, n = k + 1 - i;
            if (p_year(c, k + 1, &year))
                n++;
            if (day > 31)
                c->invalid = true;
            *pt = (struct point){PT_DAY, year, m, day};
            return n;
        }
        if (allow_bare && day <= 31 && strlen(pw(c, j)) <= 4) {
            *pt = (struct point){PT_BARE_DAY, 0, 0, day};
            return j + 1 - i;
        }
        return 0;
    }
    int m = p_month(c, j);
    if (m > 0) {
        if (p_year(c, j + 1, &y)) {
            *pt = (struct point){PT_MONTH, y, m, 0};
            return j + 2 - i;
        }
        int d = p_day_number(c, j + 1);
        if (d > 0 && d <= 31 && strcmp(pw(c, j + 1), "premier") != 0 && strcmp(pw(c, j + 1), "first") != 0) {
            int n = j + 2 - i;
            if (p_year(c, j + 2, &y))
                n++;
            else
                y = 0;
            *pt = (struct point){PT_DAY, y, m, d};
            return n;
        }
        if (p_is_last(c, j + 1)) {
            /* "novembre dernier" asked in November: last year's */
            *pt = (struct point){PT_MONTH, m < c->tm ? c->ty : c->ty - 1, m, 0};
            return j + 2 - i;
        }
        *pt = (struct point){PT_MONTH, 0, m, 0};
        return j + 1 - i;
    }
    if (p_year(c, j, &y) && j == i && !p_money_word(c, j + 1)) {
        /* a year alone: "en 2025", "dépenses 2024"; not an amount ("2000 euros") */
        static const char *const year_context[] = {"en", "in", "de", "d", "of", "depuis", "since", "annee", "year",
                                                   "du", "from", "to", "au", "a", "et", "and", "between", "entre", NULL};
        if (!pin(c, j - 1, year_context) && (y < 1990 || y > c->ty + 1))
            return 0;
        *pt = (struct point){PT_YEAR, y, 0, 0};
        return 1;
    }
    return 0;
}

/* A resolved point as a span (day, month or year). */
static bool p_point_span_of(struct pc *c, const struct point *pt, struct period_span *s)
{
    int day;
    switch (pt->kind) {
    case PT_DAY:
        if (!p_make_day(c, pt->y, pt->m, pt->d, &day))
            return false;
        p_set(s, day, day, UNIT_DAY, "date");
        return true;
    case PT_MONTH: {
        int y = pt->y ? pt->y : p_latest_month_year(c, pt->m);
        if (y < PARSE_YEAR_MIN || y > PARSE_YEAR_MAX || pt->m < 1 || pt->m > 12) {
            c->invalid = true;
            return false;
        }
        p_set(s, p_month_first(y, pt->m), p_month_last(y, pt->m), UNIT_MONTH, "month");
        return true;
    }
    case PT_YEAR:
        if (pt->y < PARSE_YEAR_MIN || pt->y > PARSE_YEAR_MAX) {
            c->invalid = true;
            return false;
        }
        p_set(s, period_days(pt->y, 1, 1), period_days(pt->y, 12, 31), UNIT_YEAR, "year");
        return true;
    default:
        return false;
    }
}

/* "ce mois(-ci)", "du mois", "le mois dernier", "last month", "le mois
 * d'avant", "next month": a whole month. */
static int p_month_rel(struct pc *c, int i, struct period_span *s)
{
    int j = i;
    bool last = false, this_word = false, next = false;
    if (pin(c, j, p_this_words)) {
        this_word = true;
        j++;
    } else if (pin(c, j, (const char *const[]){"last", "previous", "dernier", NULL})) {
        last = true;
        j++;
    } else if (pis(c, j, "next")) {
        next = true;
        j++;
    }
    if (!pis(c, j, "mois") && !pis(c, j, "month"))
        return 0;
    j++;
    if ((pis(c, j, "d") || pis(c, j, "de") || pis(c, j, "of")) && p_month(c, j + 1)) {
        struct point pt;                   /* "le mois d'août": that month */
        int n = p_point(c, j + 1, &pt, false);
        if (n == 0 || pt.kind != PT_MONTH)
            return 0;
        p_point_span_of(c, &pt, s);
        return j + 1 + n - i;
    }
    if (pis(c, j, "ci") || pis(c, j, "courant") || pis(c, j, "actuel")) {
        j++;
    } else if (pis(c, j, "en") && pis(c, j + 1, "cours")) {
        j += 2;
    } else if (!last && !this_word && !next && p_is_last(c, j)) {
        last = true;
        j++;
    } else if (!last && !this_word && (pis(c, j, "prochain") || pis(c, j, "suivant"))) {
        next = true;
        j++;
    } else if (!last && !this_word && ((pis(c, j, "d") && pis(c, j + 1, "avant")) || pis(c, j, "before"))) {
        j += pis(c, j, "before") ? 1 : 2;
        p_relative_unit(c, UNIT_MONTH, 1, s);
        s->before_previous = true;
        return j - i;
    }
    p_relative_unit(c, UNIT_MONTH, last ? 1 : next ? -1 : 0, s);
    return j - i;
}

/* A month as named in a part-of-month form: a month point or p_month_rel. */
static int p_month_expr(struct pc *c, int i, struct period_span *s)
{
    int j = p_skip(c, i, (const char *const[]){"le", "la", "l", "the", "of", "de", "du", "d", NULL});
    int n = p_month_rel(c, j, s);
    if (n > 0)
        return j + n - i;
    if (p_month(c, j) == 0 && strpbrk(pw(c, j), "/.-") == NULL)
        return 0;
    struct point pt;
    n = p_point(c, j, &pt, false);
    if (n == 0 || pt.kind != PT_MONTH)
        return 0;
    if (!p_point_span_of(c, &pt, s))
        return j + n - i;
    return j + n - i;
}

/* "début mars", "mi-mars", "fin du mois dernier", "early/mid/late March",
 * "the end of March", "première quinzaine d'octobre", "second half of
 * September", "le dernier jour de février", "the last day of February". */
static int p_part(struct pc *c, int i, struct period_span *s)
{
    static const char *const early[] = {"debut", "early", "beginning", "start", NULL};
    static const char *const mid[] = {"mi", "milieu", "mid", "middle", NULL};
    static const char *const late[] = {"fin", "late", "end", NULL};
    int part = pin(c, i, early) ? 1 : pin(c, i, mid) ? 2 : pin(c, i, late) ? 3 : 0;
    struct period_span m;
    if (part) {
        int n = p_month_expr(c, i + 1, &m);
        if (n == 0)
            return 0;
        if (c->invalid)
            return n + 1;
        int y, mo, d;
        period_civil(m.from, &y, &mo, &d);
        int from = part == 1 ? m.from : part == 2 ? m.from + 10 : m.from + 20;
        int to = part == 1 ? m.from + 9 : part == 2 ? m.from + 19 : m.to;
        p_set(s, from, to, UNIT_SPAN, "part_of_month");
        return n + 1;
    }
    int rank = p_rank(c, i);
    if (rank == 1 || rank == 2) {
        if (pin(c, i + 1, (const char *const[]){"quinzaine", "fortnight", "half", NULL})) {
            int n = p_month_expr(c, i + 2, &m);
            if (n == 0)
                return 0;
            if (c->invalid)
                return n + 2;
            p_set(s, rank == 1 ? m.from : m.from + 15, rank == 1 ? m.from + 14 : m.to, UNIT_SPAN, "part_of_month");
            return n + 2;
        }
    }
    if ((rank == 1 || rank == -1) && pin(c, i + 1, (const char *const[]){"jour", "day", NULL})) {
        int n = p_month_expr(c, i + 2, &m);
        if (n == 0)
            return 0;
        if (c->invalid)
            return n + 2;
        int day = rank == 1 ? m.from : m.to;
        p_set(s, day, day, UNIT_DAY, "date");
        return n + 2;
    }
    return 0;
}

/* Last N days / weeks / months / years, and "the past week". */
static int p_unit_word(const struct pc *c, int i)
{
    const char *s = pw(c, i);
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

static bool p_rolling(struct pc *c, int unit, int n, struct period_span *s)
{
    if (n < 1)
        return false;
    int days_back = unit == 1 ? n : unit == 2 ? 7 * n : unit == 3 ? 31 * n : 366 * n;
    if (days_back > PERIOD_MAX_DAYS_BACK)
        return false;
    if (unit <= 2) {
        p_set(s, c->today - days_back + 1, c->today, UNIT_SPAN, "last_n_days");
        return true;
    }
    int months = unit == 3 ? n : 12 * n;
    int idx = c->ty * 12 + (c->tm - 1) - months;
    int y = idx / 12, m = idx % 12 + 1;
    int d = c->td <= parse_days_in_month(y, m) ? c->td : parse_days_in_month(y, m);
    p_set(s, period_days(y, m, d) + 1, c->today, UNIT_SPAN, unit == 3 ? "last_n_months" : "last_n_years");
    return true;
}

static int p_of_year(struct pc *c, int i, int *y, bool *this_year);

static int p_last_n(struct pc *c, int i, struct period_span *s)
{
    int n = p_number(c, i);
    if (n > 0 && p_is_last(c, i + 1) && p_unit_word(c, i + 2))
        return p_rolling(c, p_unit_word(c, i + 2), n, s) ? 3 : 0;
    /* "the first six months of the year", "les 3 premiers mois de 2025" */
    int first_at = pis(c, i, "first") ? i + 1 : -1;
    if (first_at < 0 && p_number(c, i) > 0 && pin(c, i + 1, (const char *const[]){"premiers", "premieres", NULL}))
        first_at = i;
    if (first_at >= 0 && (n = p_number(c, first_at)) > 0 && n <= 12) {
        int unit_at = i + 2;
        if (p_unit_word(c, unit_at) == 3) {
            int y;
            bool this_year;
            int k = p_of_year(c, unit_at + 1, &y, &this_year);
            if (k > 0) {
                if (y == 0)
                    y = c->ty;
                if (y < PARSE_YEAR_MIN || y > PARSE_YEAR_MAX)
                    return 0;
                p_set(s, period_days(y, 1, 1), p_month_last(y, n), UNIT_SPAN, "range");
                return unit_at + 1 + k - i;
            }
        }
    }
    /* "sur un an", "sur 6 mois", "over a year": rolling */
    if (pin(c, i, (const char *const[]){"sur", "over", NULL})) {
        int j = p_skip(c, i + 1, (const char *const[]){"les", "the", NULL});
        n = pis(c, j, "a") ? 1 : p_number(c, j);
        if (n > 0 && p_unit_word(c, j + 1) && !pis(c, j + 2, "ago"))
            return p_rolling(c, p_unit_word(c, j + 1), n, s) ? j + 2 - i : 0;
    }
    if (pin(c, i, (const char *const[]){"last", "past", "previous", NULL})) {
        n = p_number(c, i + 1);
        if (n > 0 && p_unit_word(c, i + 2))
            return p_rolling(c, p_unit_word(c, i + 2), n, s) ? 3 : 0;
        if (pis(c, i, "past") && p_unit_word(c, i + 1) && !pin(c, i + 1, (const char *const[]){"months", "weeks", "days", "years", NULL}))
            return p_rolling(c, p_unit_word(c, i + 1), 1, s) ? 2 : 0;
    }
    return 0;
}

/* "depuis mars", "since March 2", "depuis lundi", "depuis 2025", "depuis 3
 * mois", "depuis le début de l'année / du mois", "since the beginning of". */
static int p_span_simple(struct pc *c, int i, struct period_span *s);

static int p_since(struct pc *c, int i, struct period_span *s)
{
    if (!pis(c, i, "depuis") && !pis(c, i, "since"))
        return 0;
    int j = p_skip(c, i + 1, (const char *const[]){"le", "la", "l", "the", NULL});
    if (pin(c, j, (const char *const[]){"debut", "beginning", "start", NULL})) {
        int k = p_skip(c, j + 1, (const char *const[]){"de", "du", "d", "l", "la", "of", "the", "this", "cette", NULL});
        int unit = p_unit_word(c, k);
        if (unit >= 2) {
            p_relative_unit(c, unit == 2 ? UNIT_WEEK : unit == 3 ? UNIT_MONTH : UNIT_YEAR, 0, s);
            snprintf(s->label, sizeof(s->label), "since");
            s->to = c->today;
            s->current = false;
            s->unit = UNIT_SPAN;
            return k + 1 - i;
        }
    }
    int n = p_number(c, j);
    if (n > 0 && p_unit_word(c, j + 1) && !(p_unit_word(c, j + 1) == 4 && n > 31)) {
        if (!p_rolling(c, p_unit_word(c, j + 1), n, s))
            return 0;
        return j + 2 - i;
    }
    struct period_span from;
    int taken = p_span_simple(c, j, &from);
    if (taken == 0)
        return 0;
    if (c->invalid)
        return j + taken - i;
    p_set(s, from.from, c->today, UNIT_SPAN, "since");
    return j + taken - i;
}

/* "du 3 au 9 août", "entre le 2 et le 9 mars", "from March 2 to March 9",
 * "between 2 and 9 March", "de janvier à mars", "from Oct 5 until Oct 11". */
static int p_range(struct pc *c, int i, struct period_span *s)
{
    static const char *const starts[] = {"du", "de", "d", "from", "between", "entre", NULL};
    static const char *const links[] = {"au", "a", "aux", "jusqu", "to", "until", "till", "through", "thru", "et",
                                        "and", NULL};
    if (!pin(c, i, starts))
        return 0;
    struct point a, b;
    int na = p_point(c, i + 1, &a, true);
    if (na == 0)
        return 0;
    int k = i + 1 + na;
    if (!pin(c, k, links))
        return 0;
    k++;
    if (pis(c, k - 1, "jusqu") && (pis(c, k, "au") || pis(c, k, "a")))
        k++;
    int nb = p_point(c, k, &b, true);
    if (nb == 0 || (a.kind == PT_BARE_DAY && b.kind != PT_DAY) || (b.kind == PT_BARE_DAY && a.kind != PT_DAY) ||
        a.kind == PT_NONE || b.kind == PT_NONE)
        return 0;
    int end = k + nb;
    if (a.kind == PT_BARE_DAY) {
        a = (struct point){PT_DAY, b.y, b.m, a.d};
    } else if (b.kind == PT_BARE_DAY) {
        b = (struct point){PT_DAY, a.y, a.m, b.d};
    }
    if ((a.kind == PT_YEAR) != (b.kind == PT_YEAR))
        return 0;
    /* Years: the start is the latest not in the future; the end follows it. */
    int am = a.m * 32 + a.d, bm = b.m * 32 + b.d;
    if (a.kind != PT_YEAR) {
        if (a.y == 0 && b.y != 0)
            a.y = am > bm ? b.y - 1 : b.y;
        else if (a.y == 0)
            a.y = (a.m < c->tm || (a.m == c->tm && a.d <= c->td)) ? c->ty : c->ty - 1;
        if (b.y == 0)
            b.y = bm < am ? a.y + 1 : a.y;
    }
    struct period_span sa, sb;
    if (!p_point_span_of(c, &a, &sa) || !p_point_span_of(c, &b, &sb))
        return end - i;
    int from = sa.from < sb.from ? sa.from : sb.from, to = sa.to > sb.to ? sa.to : sb.to;
    p_set(s, from, to, UNIT_SPAN, "range");
    return end - i;
}

/* Weeks: this / last / the week before, "il y a 2 semaines", "la semaine du
 * 3 août", "the last week of October", "la première semaine de mars". */
static int p_week(struct pc *c, int i, struct period_span *s)
{
    int j = i;
    int rank = p_rank(c, j);
    if (rank != 0 && (pis(c, j + 1, "semaine") || pis(c, j + 1, "week"))) {
        struct period_span m;
        int n = p_month_expr(c, j + 2, &m);
        if (n > 0) {
            if (c->invalid)
                return n + 2;
            if (rank > 4)
                return 0;
            int from = rank > 0 ? m.from + 7 * (rank - 1) : m.to - 6;
            p_set(s, from, rank > 0 ? from + 6 : m.to, UNIT_SPAN, "week_of_month");
            return j + 2 + n - i;
        }
        if (rank == -1) {
            p_relative_unit(c, UNIT_WEEK, 1, s);
            return 2;
        }
        return 0;
    }
    bool this_word = false, last = false, next = false;
    if (pin(c, j, p_this_words)) {
        this_word = true;
        j++;
    } else if (pin(c, j, (const char *const[]){"last", "previous", NULL})) {
        last = true;
        j++;
    } else if (pis(c, j, "next")) {
        next = true;
        j++;
    }
    if (!pis(c, j, "semaine") && !pis(c, j, "week"))
        return 0;
    j++;
    if (!this_word && !last && !next) {
        if (p_is_last(c, j)) {
            last = true;
            j++;
        } else if (pis(c, j, "prochaine") || pis(c, j, "suivante")) {
            next = true;
            j++;
        } else if ((pis(c, j, "d") && pis(c, j + 1, "avant")) || pis(c, j, "before")) {
            j += pis(c, j, "before") ? 1 : 2;
            p_relative_unit(c, UNIT_WEEK, 1, s);
            s->before_previous = true;
            return j - i;
        } else if (pis(c, j, "du") || pis(c, j, "of") || pis(c, j, "de")) {
            int n = p_range(c, j, s);      /* "la semaine du 7 au 13 septembre" */
            if (n > 0)
                return j + n - i;
            struct point pt;
            n = p_point(c, j + 1, &pt, false);
            struct period_span d;
            if (n > 0 && pt.kind == PT_DAY) {
                if (!p_point_span_of(c, &pt, &d))
                    return j + 1 + n - i;
                *s = period_unit_of(UNIT_WEEK, d.from);
                return j + 1 + n - i;
            }
        } else if (pis(c, j, "en") && pis(c, j + 1, "cours")) {
            j += 2;
        }
    } else if (pis(c, j, "ci")) {
        j++;
    }
    p_relative_unit(c, UNIT_WEEK, last ? 1 : next ? -1 : 0, s);
    return j - i;
}

/* "ce week-end", "le week-end dernier", "last weekend": Saturday and
 * Sunday; the latest not in the future, or the one before it. */
static int p_weekend(struct pc *c, int i, struct period_span *s)
{
    int j = i;
    bool last = false;
    if (pin(c, j, (const char *const[]){"last", "previous", NULL})) {
        last = true;
        j++;
    } else if (pin(c, j, p_this_words)) {
        j++;
    }
    if (!pis(c, j, "weekend"))
        return 0;
    j++;
    if (!last && (pis(c, j, "du") || pis(c, j, "of") || pis(c, j, "de"))) {
        struct point pt;                   /* "le week-end du 31 octobre": that week's */
        struct period_span d;
        int n = p_point(c, j + 1, &pt, false);
        if (n > 0 && pt.kind == PT_DAY) {
            if (p_point_span_of(c, &pt, &d)) {
                int sat = d.from - period_weekday(d.from) + 5;
                p_set(s, sat, sat + 1, UNIT_SPAN, "weekend");
            }
            return j + 1 + n - i;
        }
    }
    if (!last && p_is_last(c, j)) {
        last = true;
        j++;
    }
    int sat = c->today - period_weekday(c->today) + 5;
    if (sat > c->today)
        sat -= 7;
    bool in_weekend = c->today - sat <= 1;
    if (last && in_weekend)
        sat -= 7;
    p_set(s, sat, sat + 1, UNIT_SPAN, "weekend");
    return j - i;
}

/* The latest quarter (or half) q of a year not given: not starting after today. */
static bool p_quarter_span(struct pc *c, enum period_unit unit, int q, int y, struct period_span *s)
{
    int months = unit == UNIT_QUARTER ? 3 : 6;
    if (y == 0) {
        y = c->ty;
        if (p_month_first(y, months * (q - 1) + 1) > c->today)
            y--;
    }
    if (y < PARSE_YEAR_MIN || y > PARSE_YEAR_MAX) {
        c->invalid = true;
        return false;
    }
    p_set(s, p_month_first(y, months * (q - 1) + 1), p_month_last(y, months * q), unit,
          unit == UNIT_QUARTER ? "quarter" : "half");
    return true;
}

/* An optional year after a quarter or half: "2025", "de 2025", "of the year". */
static int p_of_year(struct pc *c, int i, int *y, bool *this_year)
{
    int j = p_skip(c, i, (const char *const[]){"de", "of", "d", "l", "the", "en", "in", NULL});
    *y = 0;
    *this_year = false;
    if (p_year(c, j, y))
        return j + 1 - i;
    if (pis(c, j, "annee") || pis(c, j, "year")) {
        *this_year = true;
        return j + 1 - i;
    }
    if (pin(c, j, p_this_words) && (pis(c, j + 1, "annee") || pis(c, j + 1, "year"))) {
        *this_year = true;
        return j + 2 - i;
    }
    return 0;
}

static int p_quarter_or_half(struct pc *c, int i, struct period_span *s, enum period_unit unit)
{
    const char *word = pw(c, i);
    const char *const *nouns = unit == UNIT_QUARTER ? (const char *const[]){"trimestre", "quarter", NULL}
                                                    : (const char *const[]){"semestre", "half", NULL};
    int maxq = unit == UNIT_QUARTER ? 4 : 2;
    int q = 0, n = 0;
    /* T1..T4, Q1..Q4, S1, S2, H1, H2 */
    if (strlen(word) == 2 && word[1] >= '1' && word[1] <= '0' + maxq &&
        (unit == UNIT_QUARTER ? (word[0] == 't' || word[0] == 'q') : (word[0] == 's' || word[0] == 'h'))) {
        q = word[1] - '0';
        n = 1;
    } else {
        int rank = p_rank(c, i);
        int j = i;
        bool this_word = false, last = false;
        if (rank != 0 && pin(c, i + 1, nouns)) {
            j = i + 2;
        } else {
            if (pin(c, j, p_this_words))
                this_word = true, j++;
            else if (pin(c, j, (const char *const[]){"last", "previous", NULL}))
                last = true, j++;
            if (!pin(c, j, nouns) || (!this_word && !last && !p_is_last(c, j + 1) &&
                                      !(pis(c, j + 1, "en") && pis(c, j + 2, "cours")) &&
                                      !((pis(c, j + 1, "d") && pis(c, j + 2, "avant")) || pis(c, j + 1, "before"))))
                return 0;
            j++;
            if (!this_word && !last && p_is_last(c, j))
                last = true, j++;
            else if (!this_word && !last && ((pis(c, j, "d") && pis(c, j + 1, "avant")) || pis(c, j, "before"))) {
                j += pis(c, j, "before") ? 1 : 2;
                p_relative_unit(c, unit, 1, s);
                s->before_previous = true;
                return j - i;
            } else if (pis(c, j, "en") && pis(c, j + 1, "cours"))
                j += 2;
            p_relative_unit(c, unit, last ? 1 : 0, s);
            return j - i;
        }
        if (rank == -1) {
            p_relative_unit(c, unit, 1, s);
            return 2;
        }
        if (rank > maxq)
            return 0;               /* "the 5th quarter": left unread */
        q = rank;
        n = j - i;
    }
    int y;
    bool this_year;
    n += p_of_year(c, i + n, &y, &this_year);
    if (this_year)
        y = c->ty;
    if (!p_quarter_span(c, unit, q, y, s))
        return n;
    return n;
}

/* Today, yesterday, avant-hier, tomorrow, weekdays, this/last month and
 * year, "il y a 2 mois", "3 weeks ago", "récemment". */
static int p_relative(struct pc *c, int i, struct period_span *s)
{
    const char *word = pw(c, i);
    if (*word == '\0')
        return 0;
    if (strcmp(word, "aujourd") == 0 || strcmp(word, "today") == 0) {
        p_set(s, c->today, c->today, UNIT_DAY, "today");
        return 1;
    }
    if (strcmp(word, "ce") == 0 && pis(c, i + 1, "jour")) {
        p_set(s, c->today, c->today, UNIT_DAY, "today");
        return 2;
    }
    if (strcmp(word, "hier") == 0 || strcmp(word, "yesterday") == 0 ||
        (strlen(word) >= 8 && words_distance(word, "yesterday") <= 1)) {
        p_set(s, c->today - 1, c->today - 1, UNIT_DAY, "yesterday");
        return 1;
    }
    if (strcmp(word, "avanthier") == 0) {
        p_set(s, c->today - 2, c->today - 2, UNIT_DAY, "day_before_yesterday");
        return 1;
    }
    if (strcmp(word, "demain") == 0 || strcmp(word, "tomorrow") == 0) {
        p_set(s, c->today + 1, c->today + 1, UNIT_DAY, "tomorrow");
        return 1;
    }
    if (strcmp(word, "recemment") == 0 || strcmp(word, "recently") == 0 || strcmp(word, "lately") == 0 ||
        strcmp(word, "dernierement") == 0) {
        p_set(s, c->today - 29, c->today, UNIT_SPAN, "recent");
        return 1;
    }
    /* weekdays: bare = the latest (today included); last / dernier = before today */
    int j = i;
    bool last = false, next = false;
    if (pin(c, j, (const char *const[]){"last", "previous", NULL}) && p_weekday(c, j + 1))
        last = true, j++;
    else if (pis(c, j, "next") && p_weekday(c, j + 1))
        next = true, j++;
    int wd = p_weekday(c, j);
    if (wd > 0 && p_day_number(c, j + 1) > 0 && !last && !next)
        return 0;                          /* "samedi 3 octobre": a date */
    if (wd > 0) {
        j++;
        if (!last && !next && p_is_last(c, j))
            last = true, j++;
        else if (!last && !next && pis(c, j, "prochain"))
            next = true, j++;
        int back = (period_weekday(c->today) - (wd - 1) + 7) % 7;
        if (last && back == 0)
            back = 7;
        int day = c->today - back;
        if (next)
            day += 7;
        p_set(s, day, day, UNIT_DAY, "weekday");
        return j - i;
    }
    /* "il y a 2 mois", "two weeks ago" */
    int n = -1, unit = 0, taken = 0;
    if (pis(c, i, "il") && pis(c, i + 1, "y") && pis(c, i + 2, "a") && p_number(c, i + 3) > 0 && p_unit_word(c, i + 4)) {
        n = p_number(c, i + 3);
        unit = p_unit_word(c, i + 4);
        taken = 5;
    } else if (p_number(c, i) > 0 && p_unit_word(c, i + 1) && pis(c, i + 2, "ago")) {
        n = p_number(c, i);
        unit = p_unit_word(c, i + 1);
        taken = 3;
    }
    if (taken > 0) {
        if (n > 120 || (pis(c, i + taken, "et") && pprefix_demi(c, i + taken + 1)))
            return 0;                      /* "il y a un an et demi": not a calendar unit */
        if (unit >= 3 && pis(c, i + taken, "jour") && pis(c, i + taken + 1, "pour") && pis(c, i + taken + 2, "jour")) {
            /* "il y a un an jour pour jour": that very date */
            int months = unit == 3 ? n : 12 * n;
            int idx = c->ty * 12 + (c->tm - 1) - months;
            int y = idx / 12, m = idx % 12 + 1;
            int d = c->td <= parse_days_in_month(y, m) ? c->td : parse_days_in_month(y, m);
            if (y < PARSE_YEAR_MIN)
                return 0;
            p_set(s, period_days(y, m, d), period_days(y, m, d), UNIT_DAY, "date");
            return taken + 3;
        }
        if (unit == 1) {
            p_set(s, c->today - n, c->today - n, UNIT_DAY, "date");
        } else {
            enum period_unit u = unit == 2 ? UNIT_WEEK : unit == 3 ? UNIT_MONTH : UNIT_YEAR;
            p_relative_unit(c, u, n, s);
        }
        return taken;
    }
    if ((n = p_month_rel(c, i, s)) > 0)
        return n;
    /* years */
    j = i;
    bool this_word = false;
    if (pin(c, j, p_this_words))
        this_word = true, j++;
    else if (pin(c, j, (const char *const[]){"last", "previous", NULL}))
        last = true, j++;
    else if (pis(c, j, "next"))
        next = true, j++;
    else if (pis(c, j, "derniere") && (pis(c, j + 1, "annee")))
        last = true, j++;
    if (pis(c, j, "annee") || pis(c, j, "year") || (pis(c, j, "an") && pis(c, j - 1, "l"))) {
        j++;
        int y;
        if (!this_word && !last && !next) {
            if (p_is_last(c, j))
                last = true, j++;
            else if (pis(c, j, "prochaine") || pis(c, j, "prochain"))
                next = true, j++;
            else if ((pis(c, j, "d") && pis(c, j + 1, "avant")) || pis(c, j, "before")) {
                j += pis(c, j, "before") ? 1 : 2;
                p_relative_unit(c, UNIT_YEAR, 1, s);
                s->before_previous = true;
                return j - i;
            } else if (p_year(c, j, &y)) {
                struct point pt = {PT_YEAR, y, 0, 0};
                p_point_span_of(c, &pt, s);
                return j + 1 - i;
            } else if (pis(c, j, "en") && pis(c, j + 1, "cours")) {
                j += 2;
            }
        }
        p_relative_unit(c, UNIT_YEAR, last ? 1 : next ? -1 : 0, s);
        return j - i;
    }
    return 0;
}

/* Forms that may follow "depuis" / "since". */
static int p_span_simple(struct pc *c, int i, struct period_span *s)
{
    int n;
    if ((n = p_week(c, i, s)) || (n = p_weekend(c, i, s)) || (n = p_quarter_or_half(c, i, s, UNIT_QUARTER)) ||
        (n = p_quarter_or_half(c, i, s, UNIT_HALF)) || (n = p_relative(c, i, s)))
        return n;
    struct point pt;
    n = p_point(c, i, &pt, false);
    if (n == 0 || pt.kind == PT_NONE)
        return 0;
    p_point_span_of(c, &pt, s);
    return n;
}

static int p_span(struct pc *c, int i, struct period_span *s)
{
    int n;
    if ((n = p_range(c, i, s)) || (n = p_since(c, i, s)) || (n = p_last_n(c, i, s)) || (n = p_part(c, i, s)))
        return n;
    return p_span_simple(c, i, s);
}

/* Phrases about time that are not a period: trends ("mois par mois",
 * "over time", "au fil des mois"). */
static bool p_trend_phrase(struct words *w)
{
    bool found = false;
    for (int i = 0; i + 1 < w->n; i++) {
        const char *a = w->w[i], *b = w->w[i + 1], *c3 = i + 2 < w->n ? w->w[i + 2] : "";
        int take = 0;
        if ((strcmp(a, "mois") == 0 && strcmp(b, "par") == 0 && strcmp(c3, "mois") == 0) ||
            (strcmp(a, "month") == 0 && (strcmp(b, "by") == 0 || strcmp(b, "over") == 0 || strcmp(b, "to") == 0) &&
             strcmp(c3, "month") == 0))
            take = 3;
        else if (strcmp(a, "over") == 0 && strcmp(b, "time") == 0)
            take = 2;
        else if (strcmp(a, "over") == 0 && strcmp(b, "the") == 0 && (strcmp(c3, "months") == 0 || strcmp(c3, "years") == 0))
            take = 3;
        else if (strcmp(a, "fil") == 0 && (strcmp(b, "du") == 0 || strcmp(b, "des") == 0) &&
                 (strcmp(c3, "temps") == 0 || strcmp(c3, "mois") == 0))
            take = 3;
        for (int k = 0; k < take; k++)
            w->used[i + k] = true;
        found |= take > 0;
    }
    return found;
}

/* Words that say the message is about a time, read or not. */
static bool p_time_word(const struct pc *c, int i)
{
    static const char *const list[] = {
        "jour", "jours", "semaine", "semaines", "mois", "annee", "annees", "trimestre", "trimestres",
        "semestre", "semestres", "quinzaine", "quinzaines", "week", "weeks", "month", "months", "year", "years",
        "day", "days", "quarter", "quarters", "fortnight", "weekend", "hier", "yesterday", "aujourd", "today",
        "demain", "tomorrow", "depuis", "since", "ago", "vacances", "holiday", "holidays", "longtemps", "noel",
        "christmas", "hiver", "winter", "printemps", "spring", "summer", "automne", "autumn", "fetes", "paques",
        "easter", "avanthier", "semester", "quarterly", NULL};
    const char *s = pw(c, i);
    if (*s == '\0')
        return false;
    if (strcmp(s, "an") == 0 || strcmp(s, "ans") == 0)      /* French years, not English "an" */
        return pin(c, i - 1, (const char *const[]){"l", "un", "cet", "par", "d", "depuis", "dernier", NULL}) ||
               p_number(c, i - 1) > 0;
    if (pin(c, i, list) || p_month(c, i) || p_weekday(c, i))
        return true;
    if ((s[0] == 't' || s[0] == 'q' || s[0] == 's' || s[0] == 'h') && p_digits(s + 1, 1, 2))
        return true;
    return s[0] >= '0' && s[0] <= '9' && strpbrk(s, "/-.") != NULL;
}

static void p_clip(const struct pc *c, struct period_span *s)
{
    if (s->from <= c->today && c->today <= s->to)
        s->to = c->today;
}

static bool p_in_range(int days)
{
    int y, m, d;
    period_civil(days, &y, &m, &d);
    return y >= PARSE_YEAR_MIN && y <= PARSE_YEAR_MAX;
}

void period_parse(struct words *w, int today, struct period_result *out)
{
    memset(out, 0, sizeof(*out));
    struct pc c = {.w = w, .today = today};
    period_civil(today, &c.ty, &c.tm, &c.td);
    out->trend_phrase = p_trend_phrase(w);
    bool any_invalid = false;
    for (int i = 0; i < w->n && out->count < 2; i++) {
        if (w->used[i])
            continue;
        struct period_span s;
        c.invalid = false;
        int n = p_span(&c, i, &s);
        if (n == 0)
            continue;
        for (int k = i; k < i + n && k < w->n; k++)
            w->used[k] = true;
        if (c.invalid || !p_in_range(s.from) || !p_in_range(s.to) || s.from > s.to) {
            any_invalid = true;
        } else {
            p_clip(&c, &s);
            out->span[out->count++] = s;
        }
        i += n - 1;
    }
    if (out->count > 0) {
        out->status = PERIOD_FOUND;
        return;
    }
    if (any_invalid) {
        out->status = PERIOD_INVALID;
        return;
    }
    for (int i = 0; i < w->n; i++)
        if (p_time_word(&c, i)) {
            out->status = PERIOD_UNRECOGNISED;
            return;
        }
    out->status = PERIOD_NONE;
}
