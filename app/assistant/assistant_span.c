/* assistant_span: the forms of the period grammar built on calendar units
 * (see assistant_period.c for the order they are tried in): the unit
 * holding today and the ones before it, "last N days / weeks / months",
 * weeks and week-ends, quarters and halves, and the relative words
 * (hier, avant-hier, this month, l'an dernier ...). Each returns the words
 * it took and fills the span. Pure. */
#include "assistant_period_internal.h"
#include "../core/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int span_of_year(struct period_ctx *c, int i, int *y, bool *this_year);

#define SPAN_MAX_DAYS_BACK    3660     /* "last N days": N at most (10 years) */

/* The unit holding today (to date), or the one before it, or after. */
void span_relative_unit(const struct period_ctx *c, enum period_unit unit, int shift, struct period_span *s)
{
    static const char *const names[] = {"day", "week", "month", "quarter", "half", "year", "range"};
    struct period_span u = period_unit_of(unit, c->today);
    for (int k = 0; k < shift; k++)
        u = period_before(&u);
    if (shift < 0)
        u = period_unit_of(unit, u.to + 1);
    char label[32];
    snprintf(label, sizeof(label), "%s_%s", shift == 0 ? "this" : shift > 0 ? "last" : "next", names[unit]);
    period_set(s, u.from, u.to, unit, shift > 1 ? names[unit] : label);
    s->current = shift == 0;
}

/* Last N days / weeks / months / years, and "the past week". */
bool span_rolling(struct period_ctx *c, int unit, int n, struct period_span *s)
{
    if (n < 1)
        return false;
    int days_back = unit == 1 ? n : unit == 2 ? 7 * n : unit == 3 ? 31 * n : 366 * n;
    if (days_back > SPAN_MAX_DAYS_BACK)
        return false;
    if (unit <= 2) {
        period_set(s, c->today - days_back + 1, c->today, UNIT_SPAN, "last_n_days");
        return true;
    }
    int months = unit == 3 ? n : 12 * n;
    int idx = c->ty * 12 + (c->tm - 1) - months;
    int y = idx / 12, m = idx % 12 + 1;
    int d = c->td <= parse_days_in_month(y, m) ? c->td : parse_days_in_month(y, m);
    period_set(s, period_days(y, m, d) + 1, c->today, UNIT_SPAN, unit == 3 ? "last_n_months" : "last_n_years");
    return true;
}


int span_last_n(struct period_ctx *c, int i, struct period_span *s)
{
    int n = timeword_number(c, i);
    if (n > 0 && timeword_is_last(c, i + 1) && timeword_unit(c, i + 2))
        return span_rolling(c, timeword_unit(c, i + 2), n, s) ? 3 : 0;
    /* "the first six months of the year", "les 3 premiers mois de 2025" */
    int first_at = timeword_is(c, i, "first") ? i + 1 : -1;
    if (first_at < 0 && timeword_number(c, i) > 0 && timeword_in(c, i + 1, (const char *const[]){"premiers", "premieres", NULL}))
        first_at = i;
    if (first_at >= 0 && (n = timeword_number(c, first_at)) > 0 && n <= 12) {
        int unit_at = i + 2;
        if (timeword_unit(c, unit_at) == 3) {
            int y;
            bool this_year;
            int k = span_of_year(c, unit_at + 1, &y, &this_year);
            if (k > 0) {
                if (y == 0)
                    y = c->ty;
                if (y < PARSE_YEAR_MIN || y > PARSE_YEAR_MAX)
                    return 0;
                period_set(s, period_days(y, 1, 1), period_month_last(y, n), UNIT_SPAN, "range");
                return unit_at + 1 + k - i;
            }
        }
    }
    /* "sur un an", "sur 6 mois", "over a year": rolling */
    if (timeword_in(c, i, (const char *const[]){"sur", "over", NULL})) {
        int j = timeword_skip(c, i + 1, (const char *const[]){"les", "the", NULL});
        n = timeword_is(c, j, "a") ? 1 : timeword_number(c, j);
        if (n > 0 && timeword_unit(c, j + 1) && !timeword_is(c, j + 2, "ago"))
            return span_rolling(c, timeword_unit(c, j + 1), n, s) ? j + 2 - i : 0;
    }
    if (timeword_in(c, i, (const char *const[]){"last", "past", "previous", NULL})) {
        n = timeword_number(c, i + 1);
        if (n > 0 && timeword_unit(c, i + 2))
            return span_rolling(c, timeword_unit(c, i + 2), n, s) ? 3 : 0;
        if (timeword_is(c, i, "past") && timeword_unit(c, i + 1) && !timeword_in(c, i + 1, (const char *const[]){"months", "weeks", "days", "years", NULL}))
            return span_rolling(c, timeword_unit(c, i + 1), 1, s) ? 2 : 0;
    }
    return 0;
}

/* Weeks: this / last / the week before, "il y a 2 semaines", "la semaine du
 * 3 août", "the last week of October", "la première semaine de mars". */
int span_week(struct period_ctx *c, int i, struct period_span *s)
{
    int j = i;
    int rank = timeword_rank(c, j);
    if (rank != 0 && (timeword_is(c, j + 1, "semaine") || timeword_is(c, j + 1, "week"))) {
        struct period_span m;
        int n = period_month_expr(c, j + 2, &m);
        if (n > 0) {
            if (c->invalid)
                return n + 2;
            if (rank > 4)
                return 0;
            int from = rank > 0 ? m.from + 7 * (rank - 1) : m.to - 6;
            period_set(s, from, rank > 0 ? from + 6 : m.to, UNIT_SPAN, "week_of_month");
            return j + 2 + n - i;
        }
        if (rank == -1) {
            span_relative_unit(c, UNIT_WEEK, 1, s);
            return 2;
        }
        return 0;
    }
    bool this_word = false, last = false, next = false;
    if (timeword_in(c, j, timeword_this_words)) {
        this_word = true;
        j++;
    } else if (timeword_in(c, j, (const char *const[]){"last", "previous", NULL})) {
        last = true;
        j++;
    } else if (timeword_is(c, j, "next")) {
        next = true;
        j++;
    }
    if (!timeword_is(c, j, "semaine") && !timeword_is(c, j, "week"))
        return 0;
    j++;
    if (!this_word && !last && !next) {
        if (timeword_is_last(c, j)) {
            last = true;
            j++;
        } else if (timeword_is(c, j, "prochaine") || timeword_is(c, j, "suivante")) {
            next = true;
            j++;
        } else if ((timeword_is(c, j, "d") && timeword_is(c, j + 1, "avant")) || timeword_is(c, j, "before")) {
            j += timeword_is(c, j, "before") ? 1 : 2;
            span_relative_unit(c, UNIT_WEEK, 1, s);
            s->before_previous = true;
            return j - i;
        } else if (timeword_is(c, j, "du") || timeword_is(c, j, "of") || timeword_is(c, j, "de")) {
            int n = period_range(c, j, s);      /* "la semaine du 7 au 13 septembre" */
            if (n > 0)
                return j + n - i;
            struct point pt;
            n = period_point(c, j + 1, &pt, false);
            struct period_span d;
            if (n > 0 && pt.kind == PT_DAY) {
                if (!period_point_span(c, &pt, &d))
                    return j + 1 + n - i;
                *s = period_unit_of(UNIT_WEEK, d.from);
                return j + 1 + n - i;
            }
        } else if (timeword_is(c, j, "en") && timeword_is(c, j + 1, "cours")) {
            j += 2;
        }
    } else if (timeword_is(c, j, "ci")) {
        j++;
    }
    span_relative_unit(c, UNIT_WEEK, last ? 1 : next ? -1 : 0, s);
    return j - i;
}

/* "ce week-end", "le week-end dernier", "last weekend": Saturday and
 * Sunday; the latest not in the future, or the one before it. */
int span_weekend(struct period_ctx *c, int i, struct period_span *s)
{
    int j = i;
    bool last = false;
    if (timeword_in(c, j, (const char *const[]){"last", "previous", NULL})) {
        last = true;
        j++;
    } else if (timeword_in(c, j, timeword_this_words)) {
        j++;
    }
    if (!timeword_is(c, j, "weekend"))
        return 0;
    j++;
    if (!last && (timeword_is(c, j, "du") || timeword_is(c, j, "of") || timeword_is(c, j, "de"))) {
        struct point pt;                   /* "le week-end du 31 octobre": that week's */
        struct period_span d;
        int n = period_point(c, j + 1, &pt, false);
        if (n > 0 && pt.kind == PT_DAY) {
            if (period_point_span(c, &pt, &d)) {
                int sat = d.from - period_weekday(d.from) + 5;
                period_set(s, sat, sat + 1, UNIT_SPAN, "weekend");
            }
            return j + 1 + n - i;
        }
    }
    if (!last && timeword_is_last(c, j)) {
        last = true;
        j++;
    }
    int sat = c->today - period_weekday(c->today) + 5;
    if (sat > c->today)
        sat -= 7;
    bool in_weekend = c->today - sat <= 1;
    if (last && in_weekend)
        sat -= 7;
    period_set(s, sat, sat + 1, UNIT_SPAN, "weekend");
    return j - i;
}

/* The latest quarter (or half) q of a year not given: not starting after today. */
static bool span_quarter(struct period_ctx *c, enum period_unit unit, int q, int y, struct period_span *s)
{
    int months = unit == UNIT_QUARTER ? 3 : 6;
    if (y == 0) {
        y = c->ty;
        if (period_month_first(y, months * (q - 1) + 1) > c->today)
            y--;
    }
    if (y < PARSE_YEAR_MIN || y > PARSE_YEAR_MAX) {
        c->invalid = true;
        return false;
    }
    period_set(s, period_month_first(y, months * (q - 1) + 1), period_month_last(y, months * q), unit,
               unit == UNIT_QUARTER ? "quarter" : "half");
    return true;
}

/* An optional year after a quarter or half: "2025", "de 2025", "of the year". */
static int span_of_year(struct period_ctx *c, int i, int *y, bool *this_year)
{
    int j = timeword_skip(c, i, (const char *const[]){"de", "of", "d", "l", "the", "en", "in", NULL});
    *y = 0;
    *this_year = false;
    if (timeword_year(c, j, y))
        return j + 1 - i;
    if (timeword_is(c, j, "annee") || timeword_is(c, j, "year")) {
        *this_year = true;
        return j + 1 - i;
    }
    if (timeword_in(c, j, timeword_this_words) && (timeword_is(c, j + 1, "annee") || timeword_is(c, j + 1, "year"))) {
        *this_year = true;
        return j + 2 - i;
    }
    return 0;
}

int span_quarter_or_half(struct period_ctx *c, int i, struct period_span *s, enum period_unit unit)
{
    const char *word = timeword_at(c, i);
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
        int rank = timeword_rank(c, i);
        int j = i;
        bool this_word = false, last = false;
        if (rank != 0 && timeword_in(c, i + 1, nouns)) {
            j = i + 2;
        } else {
            if (timeword_in(c, j, timeword_this_words))
                this_word = true, j++;
            else if (timeword_in(c, j, (const char *const[]){"last", "previous", NULL}))
                last = true, j++;
            if (!timeword_in(c, j, nouns) || (!this_word && !last && !timeword_is_last(c, j + 1) &&
                                              !(timeword_is(c, j + 1, "en") && timeword_is(c, j + 2, "cours")) &&
                                              !((timeword_is(c, j + 1, "d") && timeword_is(c, j + 2, "avant")) ||
                                                timeword_is(c, j + 1, "before"))))
                return 0;
            j++;
            if (!this_word && !last && timeword_is_last(c, j))
                last = true, j++;
            else if (!this_word && !last && ((timeword_is(c, j, "d") && timeword_is(c, j + 1, "avant")) || timeword_is(c, j, "before"))) {
                j += timeword_is(c, j, "before") ? 1 : 2;
                span_relative_unit(c, unit, 1, s);
                s->before_previous = true;
                return j - i;
            } else if (timeword_is(c, j, "en") && timeword_is(c, j + 1, "cours"))
                j += 2;
            span_relative_unit(c, unit, last ? 1 : 0, s);
            return j - i;
        }
        if (rank == -1) {
            span_relative_unit(c, unit, 1, s);
            return 2;
        }
        if (rank > maxq)
            return 0;               /* "the 5th quarter": left unread */
        q = rank;
        n = j - i;
    }
    int y;
    bool this_year;
    n += span_of_year(c, i + n, &y, &this_year);
    if (this_year)
        y = c->ty;
    if (!span_quarter(c, unit, q, y, s))
        return n;
    return n;
}

/* Today, yesterday, avant-hier, tomorrow, weekdays, this/last month and
 * year, "il y a 2 mois", "3 weeks ago", "récemment". */
int span_relative(struct period_ctx *c, int i, struct period_span *s)
{
    const char *word = timeword_at(c, i);
    if (*word == '\0')
        return 0;
    if (strcmp(word, "aujourd") == 0 || strcmp(word, "today") == 0) {
        period_set(s, c->today, c->today, UNIT_DAY, "today");
        return 1;
    }
    if (strcmp(word, "ce") == 0 && timeword_is(c, i + 1, "jour")) {
        period_set(s, c->today, c->today, UNIT_DAY, "today");
        return 2;
    }
    if (strcmp(word, "hier") == 0 || strcmp(word, "yesterday") == 0 ||
        (strlen(word) >= 8 && words_distance(word, "yesterday") <= 1)) {
        period_set(s, c->today - 1, c->today - 1, UNIT_DAY, "yesterday");
        return 1;
    }
    if (strcmp(word, "avanthier") == 0) {
        period_set(s, c->today - 2, c->today - 2, UNIT_DAY, "day_before_yesterday");
        return 1;
    }
    if (strcmp(word, "demain") == 0 || strcmp(word, "tomorrow") == 0) {
        period_set(s, c->today + 1, c->today + 1, UNIT_DAY, "tomorrow");
        return 1;
    }
    if (strcmp(word, "recemment") == 0 || strcmp(word, "recently") == 0 || strcmp(word, "lately") == 0 ||
        strcmp(word, "dernierement") == 0) {
        period_set(s, c->today - 29, c->today, UNIT_SPAN, "recent");
        return 1;
    }
    /* weekdays: bare = the latest (today included); last / dernier = before today */
    int j = i;
    bool last = false, next = false;
    if (timeword_in(c, j, (const char *const[]){"last", "previous", NULL}) && timeword_weekday(c, j + 1))
        last = true, j++;
    else if (timeword_is(c, j, "next") && timeword_weekday(c, j + 1))
        next = true, j++;
    int wd = timeword_weekday(c, j);
    if (wd > 0 && timeword_day_number(c, j + 1) > 0 && !last && !next)
        return 0;                          /* "samedi 3 octobre": a date */
    if (wd > 0) {
        j++;
        if (!last && !next && timeword_is_last(c, j))
            last = true, j++;
        else if (!last && !next && timeword_is(c, j, "prochain"))
            next = true, j++;
        int back = (period_weekday(c->today) - (wd - 1) + 7) % 7;
        if (last && back == 0)
            back = 7;
        int day = c->today - back;
        if (next)
            day += 7;
        period_set(s, day, day, UNIT_DAY, "weekday");
        return j - i;
    }
    /* "il y a 2 mois", "two weeks ago" */
    int n = -1, unit = 0, taken = 0;
    if (timeword_is(c, i, "il") && timeword_is(c, i + 1, "y") && timeword_is(c, i + 2, "a") && timeword_number(c, i + 3) > 0 && timeword_unit(c, i + 4)) {
        n = timeword_number(c, i + 3);
        unit = timeword_unit(c, i + 4);
        taken = 5;
    } else if (timeword_number(c, i) > 0 && timeword_unit(c, i + 1) && timeword_is(c, i + 2, "ago")) {
        n = timeword_number(c, i);
        unit = timeword_unit(c, i + 1);
        taken = 3;
    }
    if (taken > 0) {
        if (n > 120 || (timeword_is(c, i + taken, "et") && timeword_demi(c, i + taken + 1)))
            return 0;                      /* "il y a un an et demi": not a calendar unit */
        if (unit >= 3 && timeword_is(c, i + taken, "jour") && timeword_is(c, i + taken + 1, "pour") && timeword_is(c, i + taken + 2, "jour")) {
            /* "il y a un an jour pour jour": that very date */
            int months = unit == 3 ? n : 12 * n;
            int idx = c->ty * 12 + (c->tm - 1) - months;
            int y = idx / 12, m = idx % 12 + 1;
            int d = c->td <= parse_days_in_month(y, m) ? c->td : parse_days_in_month(y, m);
            if (y < PARSE_YEAR_MIN)
                return 0;
            period_set(s, period_days(y, m, d), period_days(y, m, d), UNIT_DAY, "date");
            return taken + 3;
        }
        if (unit == 1) {
            period_set(s, c->today - n, c->today - n, UNIT_DAY, "date");
        } else {
            enum period_unit u = unit == 2 ? UNIT_WEEK : unit == 3 ? UNIT_MONTH : UNIT_YEAR;
            span_relative_unit(c, u, n, s);
        }
        return taken;
    }
    if ((n = period_month_rel(c, i, s)) > 0)
        return n;
    /* years */
    j = i;
    bool this_word = false;
    if (timeword_in(c, j, timeword_this_words))
        this_word = true, j++;
    else if (timeword_in(c, j, (const char *const[]){"last", "previous", NULL}))
        last = true, j++;
    else if (timeword_is(c, j, "next"))
        next = true, j++;
    else if (timeword_is(c, j, "derniere") && (timeword_is(c, j + 1, "annee")))
        last = true, j++;
    if (timeword_is(c, j, "annee") || timeword_is(c, j, "year") || (timeword_is(c, j, "an") && timeword_is(c, j - 1, "l"))) {
        j++;
        int y;
        if (!this_word && !last && !next) {
            if (timeword_is_last(c, j))
                last = true, j++;
            else if (timeword_is(c, j, "prochaine") || timeword_is(c, j, "prochain"))
                next = true, j++;
            else if ((timeword_is(c, j, "d") && timeword_is(c, j + 1, "avant")) || timeword_is(c, j, "before")) {
                j += timeword_is(c, j, "before") ? 1 : 2;
                span_relative_unit(c, UNIT_YEAR, 1, s);
                s->before_previous = true;
                return j - i;
            } else if (timeword_year(c, j, &y)) {
                struct point pt = {PT_YEAR, y, 0, 0};
                period_point_span(c, &pt, s);
                return j + 1 - i;
            } else if (timeword_is(c, j, "en") && timeword_is(c, j + 1, "cours")) {
                j += 2;
            }
        }
        span_relative_unit(c, UNIT_YEAR, last ? 1 : next ? -1 : 0, s);
        return j - i;
    }
    return 0;
}
