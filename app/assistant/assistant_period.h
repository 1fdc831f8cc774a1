/* assistant_period: the periods people name, French and English, resolved
 * against "today" (days since 1970-01-01). The grammar is in
 * docs/assistant.md ("Periods"). Pure. A period named without a year is the
 * latest one that is not in the future; a period that holds today ends
 * today. What looks like a time expression but cannot be read makes the
 * status PERIOD_UNRECOGNISED (never a silent default). */
#ifndef TALLY_ASSISTANT_PERIOD_H
#define TALLY_ASSISTANT_PERIOD_H

#include <stdbool.h>

#include "assistant_words.h"

enum period_status { PERIOD_NONE, PERIOD_FOUND, PERIOD_INVALID, PERIOD_UNRECOGNISED };

/* The calendar unit of a span: what "the one before" means. */
enum period_unit { UNIT_DAY, UNIT_WEEK, UNIT_MONTH, UNIT_QUARTER, UNIT_HALF, UNIT_YEAR, UNIT_SPAN };

struct period_span {
    int from, to;                 /* inclusive, days since 1970-01-01 */
    enum period_unit unit;
    bool current;                 /* this week / month / quarter / half / year (to date) */
    bool before_previous;         /* "le mois d'avant", "the week before": relative to the conversation */
    char label[32];
};

struct period_result {
    enum period_status status;
    int count;                    /* spans found: 0, 1 or 2 */
    struct period_span span[2];   /* in the order of the message */
    bool trend_phrase;            /* "mois par mois", "over time": a trend, not a period */
};

/* Reads the periods of w (marks their words used) against today. */
void period_parse(struct words *w, int today, struct period_result *out);

/* The span of the same unit just before s (a month -> the previous month,
 * a span of N days -> the N days before). */
struct period_span period_before(const struct period_span *s);

/* The unit (week, month, quarter, half, year) holding day, whole. */
struct period_span period_unit_of(enum period_unit unit, int day);

/* Days since 1970-01-01 <-> civil date; Monday = 0. */
int period_days(int y, int m, int d);
void period_civil(int days, int *y, int *m, int *d);
int period_weekday(int days);

#endif
