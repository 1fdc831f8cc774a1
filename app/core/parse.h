/* parse: strict parsers for the values the API accepts — money, dates,
 * periods, integers — and the calendar arithmetic behind them. Pure: no
 * allocation, no locale, no global state. Every parser takes (s, len), never
 * reads past len and accepts the whole span or nothing (no leading or
 * trailing spaces, no trailing garbage). They return 0 or a negative
 * enum parse_error, which parse_error_message() turns into a sentence.
 *
 * Decisions:
 * - Money is integer cents. Grammar: [+-]? DIGITS ( "." DIGIT DIGIT? )?
 *   "1." and ".5" are rejected (not a number), as are "", "-", ".", spaces,
 *   exponents ("1e5"), "NaN", "inf" and hex. Leading zeros are accepted
 *   ("007.50" is 7.50: CSV exports do that). "-0" and "-0.00" are 0.
 *   A third decimal is PARSE_ERR_DECIMALS even when it is zero ("1.230"),
 *   so a client's rounding is never silently changed.
 *   |amount| <= PARSE_MONEY_MAX_CENTS (999 999 999 999.99): fits NUMERIC(14,2)
 *   and leaves int64 sums of ~92 000 such values without overflow.
 * - JSON numbers: handlers pass the number's original text (json-c keeps it:
 *   json_object_get_string() on a parsed double returns its source text) to
 *   parse_money, so "42.10" is exact. parse_money_double is the fallback for
 *   a double without text; see its comment for the tolerance.
 * - Dates are YYYY-MM-DD (exactly 10 bytes), periods YYYY-MM (7 bytes), on
 *   the proleptic Gregorian calendar, years PARSE_YEAR_MIN..PARSE_YEAR_MAX
 *   (1900..2999): wide enough for any bank history, narrow enough that a typo
 *   like 20025 or 0202 is caught.
 * - Integers: [-]? DIGITS, no '+', no spaces, no leading zeros ("0" is the
 *   only form of zero; "-0" and "007" are rejected) so that every integer has
 *   one spelling (ids, cursors and cache keys stay canonical). Overflow safe. */
#ifndef TALLY_PARSE_H
#define TALLY_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PARSE_MONEY_MAX_CENTS   INT64_C(99999999999999)   /* 999 999 999 999.99 */
#define PARSE_YEAR_MIN          1900
#define PARSE_YEAR_MAX          2999
#define PARSE_CENTS_BYTES       32    /* parse_format_cents output, incl. NUL */

enum parse_error {
    PARSE_OK = 0,
    PARSE_ERR_SYNTAX = -1,      /* "not a number" */
    PARSE_ERR_DECIMALS = -2,    /* "more than 2 decimals" */
    PARSE_ERR_RANGE = -3,       /* "out of range" */
    PARSE_ERR_DATE = -4,        /* not of the form YYYY-MM-DD */
    PARSE_ERR_PERIOD = -5,      /* not of the form YYYY-MM */
    PARSE_ERR_CALENDAR = -6,    /* well formed, but no such day (2023-02-29, month 13, day 0) */
};

/* A human message for a parse_error value ("out of range"); never NULL. */
const char *parse_error_message(int error);

/* Decimal money text -> cents. 0 or PARSE_ERR_SYNTAX/_DECIMALS/_RANGE. */
int parse_money(const char *s, size_t len, int64_t *cents);

/* A double (JSON number without its text) -> cents. Rejects NaN/inf
 * (PARSE_ERR_SYNTAX), |v| > the bound (PARSE_ERR_RANGE) and values that are
 * not within a tolerance of a whole number of cents (PARSE_ERR_DECIMALS).
 * The tolerance is max(1e-6 cent, 4 ulp of v*100): 42.1 (really
 * 42.100000000000001) is 4210 cents, 1.234 is rejected. Prefer parse_money
 * on the original text. */
int parse_money_double(double v, int64_t *cents);

/* Cents -> "-42.50", "0.07", "-0.07", "1234.00": always two decimals, no
 * thousands separator, '-' only when negative. Safe for INT64_MIN. */
void parse_format_cents(int64_t cents, char out[PARSE_CENTS_BYTES]);
/* Sums of cents (a bigint column summed over any number of rows fits in
 * 127 bits): decimal integer text as PostgreSQL's numeric prints it, and
 * back. parse_wide: 0 for text that is not an integer or does not fit. */
#define PARSE_WIDE_CENTS_BYTES  48    /* parse_format_cents_wide output, incl. NUL */
__int128 parse_wide(const char *text);
void parse_format_cents_wide(__int128 cents, char out[PARSE_WIDE_CENTS_BYTES]);
__int128 parse_round_div_wide(__int128 num, __int128 den);

/* Strict YYYY-MM-DD, a real day. 0 or PARSE_ERR_DATE, PARSE_ERR_RANGE (year
 * outside 1900..2999), PARSE_ERR_CALENDAR. Outputs are written only on 0. */
int parse_date(const char *s, size_t len, int *y, int *m, int *d);

/* Strict YYYY-MM. 0 or PARSE_ERR_PERIOD, PARSE_ERR_RANGE, PARSE_ERR_CALENDAR. */
int parse_period(const char *s, size_t len, int *y, int *m);

/* Strict decimal integer within [min, max]. 0 or PARSE_ERR_SYNTAX or
 * PARSE_ERR_RANGE (outside [min, max], including int64 overflow). */
int parse_int64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/* Howard Hinnant's civil calendar algorithms: days since 1970-01-01 on the
 * proleptic Gregorian calendar. Valid far beyond the accepted years. */
int parse_days_from_civil(int y, int m, int d);
void parse_civil_from_days(int days, int *y, int *m, int *d);

/* num / den rounded half away from zero (money averages); 0 when den is 0. */
int64_t parse_round_div(int64_t num, int64_t den);

/* 28..31, or 0 when m is not 1..12. */
int parse_days_in_month(int y, int m);

/* Today's date on the UTC clock. */
void parse_today_utc(int *y, int *m, int *d);

#endif
