/* assistant_period_internal: what the three files of the period grammar
 * share: the parse context, the endpoints, and their functions.
 * assistant_timeword.c reads words (timeword_), assistant_span.c builds the
 * unit-based spans (span_), assistant_period.c holds the calendar, the
 * endpoints and ranges, and the driver (period_). Nothing outside
 * app/assistant/assistant_{period,span,timeword}.c includes this. */
#ifndef TALLY_ASSISTANT_PERIOD_INTERNAL_H
#define TALLY_ASSISTANT_PERIOD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "assistant_period.h"

/* The message being read and "today" (as days and as a civil date). */
struct period_ctx {
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

/* ---- assistant_timeword.c: word i of the message ("" if used or out of range) */
const char *timeword_at(const struct period_ctx *c, int i);
extern const char *const timeword_this_words[];   /* ce, cet, cette, this, current */
bool timeword_is(const struct period_ctx *c, int i, const char *word);
bool timeword_in(const struct period_ctx *c, int i, const char *const *list);
bool timeword_demi(const struct period_ctx *c, int i);
int timeword_skip(const struct period_ctx *c, int i, const char *const *list);
bool timeword_is_last(const struct period_ctx *c, int i);
int timeword_number(const struct period_ctx *c, int i);
int timeword_day_number(const struct period_ctx *c, int i);
int timeword_rank(const struct period_ctx *c, int i);
bool timeword_year(const struct period_ctx *c, int i, int *y);
int timeword_month(const struct period_ctx *c, int i);
int timeword_weekday(const struct period_ctx *c, int i);
bool timeword_money(const struct period_ctx *c, int i);
int timeword_unit(const struct period_ctx *c, int i);
bool timeword_time(const struct period_ctx *c, int i);

/* ---- assistant_span.c */
void span_relative_unit(const struct period_ctx *c, enum period_unit unit, int shift, struct period_span *s);
bool span_rolling(struct period_ctx *c, int unit, int n, struct period_span *s);
int span_last_n(struct period_ctx *c, int i, struct period_span *s);
int span_week(struct period_ctx *c, int i, struct period_span *s);
int span_weekend(struct period_ctx *c, int i, struct period_span *s);
int span_quarter_or_half(struct period_ctx *c, int i, struct period_span *s, enum period_unit unit);
int span_relative(struct period_ctx *c, int i, struct period_span *s);

/* ---- assistant_period.c */
void period_set(struct period_span *s, int from, int to, enum period_unit unit, const char *label);
int period_month_first(int y, int m);
int period_month_last(int y, int m);
int period_point(struct period_ctx *c, int i, struct point *pt, bool allow_bare);
bool period_point_span(struct period_ctx *c, const struct point *pt, struct period_span *s);
int period_month_rel(struct period_ctx *c, int i, struct period_span *s);
int period_month_expr(struct period_ctx *c, int i, struct period_span *s);
int period_range(struct period_ctx *c, int i, struct period_span *s);

#endif
