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
#include "assistant_period_internal.h"
#include "../core/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


void period_set(struct period_span *s, int from, int to, enum period_unit unit, const char *label)
{
    memset(s, 0, sizeof(*s));
    s->from = from;
    s->to = to;
    s->unit = unit;
    snprintf(s->label, sizeof(s->label), "%s", label);
}

int period_month_first(int y, int m)
{
    return period_days(y, m, 1);
}

int period_month_last(int y, int m)
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
        period_set(&s, monday, monday + 6, UNIT_WEEK, "week");
        break;
    }
    case UNIT_MONTH:
        period_set(&s, period_month_first(y, m), period_month_last(y, m), UNIT_MONTH, "month");
        break;
    case UNIT_QUARTER: {
        int q = (m - 1) / 3;
        period_set(&s, period_month_first(y, 3 * q + 1), period_month_last(y, 3 * q + 3), UNIT_QUARTER, "quarter");
        break;
    }
    case UNIT_HALF: {
        int h = (m - 1) / 6;
        period_set(&s, period_month_first(y, 6 * h + 1), period_month_last(y, 6 * h + 6), UNIT_HALF, "half");
        break;
    }
    case UNIT_YEAR:
        period_set(&s, period_days(y, 1, 1), period_days(y, 12, 31), UNIT_YEAR, "year");
        break;
    default:
        period_set(&s, day, day, UNIT_DAY, "date");
        break;
    }
    return s;
}

struct period_span period_before(const struct period_span *s)
{
    if (s->unit == UNIT_DAY || s->unit == UNIT_SPAN) {
        struct period_span out;
        int len = s->to - s->from + 1;
        period_set(&out, s->from - len, s->from - 1, s->unit, s->unit == UNIT_DAY ? "date" : "range");
        return out;
    }
    return period_unit_of(s->unit, s->from - 1);
}

/* Resolves a day without a year to the latest one not after today. */
static bool period_make_day(struct period_ctx *c, int y, int m, int d, int *out)
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

static int period_latest_month_year(const struct period_ctx *c, int m)
{
    return m <= c->tm ? c->ty : c->ty - 1;
}

/* A two-digit year: this century unless that is after this year. */
static int period_two_digit_year(const struct period_ctx *c, int yy)
{
    return 2000 + yy <= c->ty ? 2000 + yy : 1900 + yy;
}

/* 2026-10-03, 03/10/2026, 12/05/19, 7/30/2021 (month first only when day
 * first cannot be), 12/11, 10/2026, 2026-10. */
static bool period_numeric(struct period_ctx *c, int i, struct point *pt)
{
    const char *s = timeword_at(c, i);
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
            y = len[2] == 2 ? period_two_digit_year(c, part[2]) : part[2];
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

/* An endpoint: a numeric date, "3 octobre [2026]", "the 14th of September",
 * "October 3[,] [2026]", "mars [2026]", a bare day ("3", "le 2") when
 * allowed, or a year. Returns the words taken. */
int period_point(struct period_ctx *c, int i, struct point *pt, bool allow_bare)
{
    int j = timeword_skip(c, i, (const char *const[]){"le", "the", NULL});
    if (timeword_weekday(c, j) && timeword_day_number(c, j + 1) > 0)
        j++;                               /* "mardi 10 novembre", "Tuesday 10th" */
    memset(pt, 0, sizeof(*pt));
    if (timeword_in(c, j, (const char *const[]){"last", "previous", NULL}) && timeword_month(c, j + 1) && !timeword_year(c, j + 2, &(int){0}) &&
        timeword_day_number(c, j + 2) == 0) {
        int m = timeword_month(c, j + 1);         /* "last November": before this month */
        *pt = (struct point){PT_MONTH, m < c->tm ? c->ty : c->ty - 1, m, 0};
        return j + 2 - i;
    }
    if (period_numeric(c, j, pt))
        return j + 1 - i;
    int y = 0;
    int day = timeword_day_number(c, j);
    if (day > 0) {
        int k = timeword_skip(c, j + 1, (const char *const[]){"de", "d", "of", NULL});
        int m = timeword_month(c, k);
        if (m > 0) {
            int year = 0, n = k + 1 - i;
            if (timeword_year(c, k + 1, &year))
                n++;
            if (day > 31)
                c->invalid = true;
            *pt = (struct point){PT_DAY, year, m, day};
            return n;
        }
        if (allow_bare && day <= 31 && strlen(timeword_at(c, j)) <= 4) {
            *pt = (struct point){PT_BARE_DAY, 0, 0, day};
            return j + 1 - i;
        }
        return 0;
    }
    int m = timeword_month(c, j);
    if (m > 0) {
        if (timeword_year(c, j + 1, &y)) {
            *pt = (struct point){PT_MONTH, y, m, 0};
            return j + 2 - i;
        }
        int d = timeword_day_number(c, j + 1);
        if (d > 0 && d <= 31 && strcmp(timeword_at(c, j + 1), "premier") != 0 && strcmp(timeword_at(c, j + 1), "first") != 0) {
            int n = j + 2 - i;
            if (timeword_year(c, j + 2, &y))
                n++;
            else
                y = 0;
            *pt = (struct point){PT_DAY, y, m, d};
            return n;
        }
        if (timeword_is_last(c, j + 1)) {
            /* "novembre dernier" asked in November: last year's */
            *pt = (struct point){PT_MONTH, m < c->tm ? c->ty : c->ty - 1, m, 0};
            return j + 2 - i;
        }
        *pt = (struct point){PT_MONTH, 0, m, 0};
        return j + 1 - i;
    }
    if (timeword_year(c, j, &y) && j == i && !timeword_money(c, j + 1)) {
        /* a year alone: "en 2025", "dépenses 2024"; not an amount ("2000 euros") */
        static const char *const year_context[] = {"en", "in", "de", "d", "of", "depuis", "since", "annee", "year",
                                                   "du", "from", "to", "au", "a", "et", "and", "between", "entre", NULL};
        if (!timeword_in(c, j - 1, year_context) && (y < 1990 || y > c->ty + 1))
            return 0;
        *pt = (struct point){PT_YEAR, y, 0, 0};
        return 1;
    }
    return 0;
}

/* A resolved point as a span (day, month or year). */
bool period_point_span(struct period_ctx *c, const struct point *pt, struct period_span *s)
{
    int day;
    switch (pt->kind) {
    case PT_DAY:
        if (!period_make_day(c, pt->y, pt->m, pt->d, &day))
            return false;
        period_set(s, day, day, UNIT_DAY, "date");
        return true;
    case PT_MONTH: {
        int y = pt->y ? pt->y : period_latest_month_year(c, pt->m);
        if (y < PARSE_YEAR_MIN || y > PARSE_YEAR_MAX || pt->m < 1 || pt->m > 12) {
            c->invalid = true;
            return false;
        }
        period_set(s, period_month_first(y, pt->m), period_month_last(y, pt->m), UNIT_MONTH, "month");
        return true;
    }
    case PT_YEAR:
        if (pt->y < PARSE_YEAR_MIN || pt->y > PARSE_YEAR_MAX) {
            c->invalid = true;
            return false;
        }
        period_set(s, period_days(pt->y, 1, 1), period_days(pt->y, 12, 31), UNIT_YEAR, "year");
        return true;
    default:
        return false;
    }
}

/* "ce mois(-ci)", "du mois", "le mois dernier", "last month", "le mois
 * d'avant", "next month": a whole month. */
int period_month_rel(struct period_ctx *c, int i, struct period_span *s)
{
    int j = i;
    bool last = false, this_word = false, next = false;
    if (timeword_in(c, j, timeword_this_words)) {
        this_word = true;
        j++;
    } else if (timeword_in(c, j, (const char *const[]){"last", "previous", "dernier", NULL})) {
        last = true;
        j++;
    } else if (timeword_is(c, j, "next")) {
        next = true;
        j++;
    }
    if (!timeword_is(c, j, "mois") && !timeword_is(c, j, "month"))
        return 0;
    j++;
    if ((timeword_is(c, j, "d") || timeword_is(c, j, "de") || timeword_is(c, j, "of")) && timeword_month(c, j + 1)) {
        struct point pt;                   /* "le mois d'août": that month */
        int n = period_point(c, j + 1, &pt, false);
        if (n == 0 || pt.kind != PT_MONTH)
            return 0;
        period_point_span(c, &pt, s);
        return j + 1 + n - i;
    }
    if (timeword_is(c, j, "ci") || timeword_is(c, j, "courant") || timeword_is(c, j, "actuel")) {
        j++;
    } else if (timeword_is(c, j, "en") && timeword_is(c, j + 1, "cours")) {
        j += 2;
    } else if (!last && !this_word && !next && timeword_is_last(c, j)) {
        last = true;
        j++;
    } else if (!last && !this_word && (timeword_is(c, j, "prochain") || timeword_is(c, j, "suivant"))) {
        next = true;
        j++;
    } else if (!last && !this_word && ((timeword_is(c, j, "d") && timeword_is(c, j + 1, "avant")) || timeword_is(c, j, "before"))) {
        j += timeword_is(c, j, "before") ? 1 : 2;
        span_relative_unit(c, UNIT_MONTH, 1, s);
        s->before_previous = true;
        return j - i;
    }
    span_relative_unit(c, UNIT_MONTH, last ? 1 : next ? -1 : 0, s);
    return j - i;
}

/* A month as named in a part-of-month form: a month point or period_month_rel. */
int period_month_expr(struct period_ctx *c, int i, struct period_span *s)
{
    int j = timeword_skip(c, i, (const char *const[]){"le", "la", "l", "the", "of", "de", "du", "d", NULL});
    int n = period_month_rel(c, j, s);
    if (n > 0)
        return j + n - i;
    if (timeword_month(c, j) == 0 && strpbrk(timeword_at(c, j), "/.-") == NULL)
        return 0;
    struct point pt;
    n = period_point(c, j, &pt, false);
    if (n == 0 || pt.kind != PT_MONTH)
        return 0;
    if (!period_point_span(c, &pt, s))
        return j + n - i;
    return j + n - i;
}

/* "début mars", "mi-mars", "fin du mois dernier", "early/mid/late March",
 * "the end of March", "première quinzaine d'octobre", "second half of
 * September", "le dernier jour de février", "the last day of February". */
static int period_part(struct period_ctx *c, int i, struct period_span *s)
{
    static const char *const early[] = {"debut", "early", "beginning", "start", NULL};
    static const char *const mid[] = {"mi", "milieu", "mid", "middle", NULL};
    static const char *const late[] = {"fin", "late", "end", NULL};
    int part = timeword_in(c, i, early) ? 1 : timeword_in(c, i, mid) ? 2 : timeword_in(c, i, late) ? 3 : 0;
    struct period_span m;
    if (part) {
        int n = period_month_expr(c, i + 1, &m);
        if (n == 0)
            return 0;
        if (c->invalid)
            return n + 1;
        int y, mo, d;
        period_civil(m.from, &y, &mo, &d);
        int from = part == 1 ? m.from : part == 2 ? m.from + 10 : m.from + 20;
        int to = part == 1 ? m.from + 9 : part == 2 ? m.from + 19 : m.to;
        period_set(s, from, to, UNIT_SPAN, "part_of_month");
        return n + 1;
    }
    int rank = timeword_rank(c, i);
    if (rank == 1 || rank == 2) {
        if (timeword_in(c, i + 1, (const char *const[]){"quinzaine", "fortnight", "half", NULL})) {
            int n = period_month_expr(c, i + 2, &m);
            if (n == 0)
                return 0;
            if (c->invalid)
                return n + 2;
            period_set(s, rank == 1 ? m.from : m.from + 15, rank == 1 ? m.from + 14 : m.to, UNIT_SPAN, "part_of_month");
            return n + 2;
        }
    }
    if ((rank == 1 || rank == -1) && timeword_in(c, i + 1, (const char *const[]){"jour", "day", NULL})) {
        int n = period_month_expr(c, i + 2, &m);
        if (n == 0)
            return 0;
        if (c->invalid)
            return n + 2;
        int day = rank == 1 ? m.from : m.to;
        period_set(s, day, day, UNIT_DAY, "date");
        return n + 2;
    }
    return 0;
}

/* "depuis mars", "since March 2", "depuis lundi", "depuis 2025", "depuis 3
 * mois", "depuis le début de l'année / du mois", "since the beginning of". */
static int period_span_simple(struct period_ctx *c, int i, struct period_span *s);

static int period_since(struct period_ctx *c, int i, struct period_span *s)
{
    if (!timeword_is(c, i, "depuis") && !timeword_is(c, i, "since"))
        return 0;
    int j = timeword_skip(c, i + 1, (const char *const[]){"le", "la", "l", "the", NULL});
    if (timeword_in(c, j, (const char *const[]){"debut", "beginning", "start", NULL})) {
        int k = timeword_skip(c, j + 1, (const char *const[]){"de", "du", "d", "l", "la", "of", "the", "this", "cette", NULL});
        int unit = timeword_unit(c, k);
        if (unit >= 2) {
            span_relative_unit(c, unit == 2 ? UNIT_WEEK : unit == 3 ? UNIT_MONTH : UNIT_YEAR, 0, s);
            snprintf(s->label, sizeof(s->label), "since");
            s->to = c->today;
            s->current = false;
            s->unit = UNIT_SPAN;
            return k + 1 - i;
        }
    }
    int n = timeword_number(c, j);
    if (n > 0 && timeword_unit(c, j + 1) && !(timeword_unit(c, j + 1) == 4 && n > 31)) {
        if (!span_rolling(c, timeword_unit(c, j + 1), n, s))
            return 0;
        return j + 2 - i;
    }
    struct period_span from;
    int taken = period_span_simple(c, j, &from);
    if (taken == 0)
        return 0;
    if (c->invalid)
        return j + taken - i;
    period_set(s, from.from, c->today, UNIT_SPAN, "since");
    return j + taken - i;
}

/* "du 3 au 9 août", "entre le 2 et le 9 mars", "from March 2 to March 9",
 * "between 2 and 9 March", "de janvier à mars", "from Oct 5 until Oct 11". */
int period_range(struct period_ctx *c, int i, struct period_span *s)
{
    static const char *const starts[] = {"du", "de", "d", "from", "between", "entre", NULL};
    static const char *const links[] = {"au", "a", "aux", "jusqu", "to", "until", "till", "through", "thru", "et",
                                        "and", NULL};
    if (!timeword_in(c, i, starts))
        return 0;
    struct point a, b;
    int na = period_point(c, i + 1, &a, true);
    if (na == 0)
        return 0;
    int k = i + 1 + na;
    if (!timeword_in(c, k, links))
        return 0;
    k++;
    if (timeword_is(c, k - 1, "jusqu") && (timeword_is(c, k, "au") || timeword_is(c, k, "a")))
        k++;
    int nb = period_point(c, k, &b, true);
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
    if (!period_point_span(c, &a, &sa) || !period_point_span(c, &b, &sb))
        return end - i;
    int from = sa.from < sb.from ? sa.from : sb.from, to = sa.to > sb.to ? sa.to : sb.to;
    period_set(s, from, to, UNIT_SPAN, "range");
    return end - i;
}

/* Forms that may follow "depuis" / "since". */
static int period_span_simple(struct period_ctx *c, int i, struct period_span *s)
{
    int n;
    if ((n = span_week(c, i, s)) || (n = span_weekend(c, i, s)) || (n = span_quarter_or_half(c, i, s, UNIT_QUARTER)) ||
        (n = span_quarter_or_half(c, i, s, UNIT_HALF)) || (n = span_relative(c, i, s)))
        return n;
    struct point pt;
    n = period_point(c, i, &pt, false);
    if (n == 0 || pt.kind == PT_NONE)
        return 0;
    period_point_span(c, &pt, s);
    return n;
}

static int period_form(struct period_ctx *c, int i, struct period_span *s)
{
    int n;
    if ((n = period_range(c, i, s)) || (n = period_since(c, i, s)) || (n = span_last_n(c, i, s)) || (n = period_part(c, i, s)))
        return n;
    return period_span_simple(c, i, s);
}

/* Phrases about time that are not a period: trends ("mois par mois",
 * "over time", "au fil des mois"). */
static bool period_trend_phrase(struct words *w)
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

static void period_clip(const struct period_ctx *c, struct period_span *s)
{
    if (s->from <= c->today && c->today <= s->to)
        s->to = c->today;
}

static bool period_in_range(int days)
{
    int y, m, d;
    period_civil(days, &y, &m, &d);
    return y >= PARSE_YEAR_MIN && y <= PARSE_YEAR_MAX;
}

void period_parse(struct words *w, int today, struct period_result *out)
{
    memset(out, 0, sizeof(*out));
    struct period_ctx c = {.w = w, .today = today};
    period_civil(today, &c.ty, &c.tm, &c.td);
    out->trend_phrase = period_trend_phrase(w);
    bool any_invalid = false;
    for (int i = 0; i < w->n && out->count < 2; i++) {
        if (w->used[i])
            continue;
        struct period_span s;
        c.invalid = false;
        int n = period_form(&c, i, &s);
        if (n == 0)
            continue;
        for (int k = i; k < i + n && k < w->n; k++)
            w->used[k] = true;
        if (c.invalid || !period_in_range(s.from) || !period_in_range(s.to) || s.from > s.to) {
            any_invalid = true;
        } else {
            period_clip(&c, &s);
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
        if (timeword_time(&c, i)) {
            out->status = PERIOD_UNRECOGNISED;
            return;
        }
    out->status = PERIOD_NONE;
}
