/* parse: strict money, date, period and integer parsers plus civil calendar
 * arithmetic. See parse.h for the accepted grammars and why. Everything here
 * is pure: the only state is the caller's arguments. */
#include "parse.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

const char *parse_error_message(int error)
{
    switch (error) {
    case PARSE_OK:           return "ok";
    case PARSE_ERR_SYNTAX:   return "not a number";
    case PARSE_ERR_DECIMALS: return "more than 2 decimals";
    case PARSE_ERR_RANGE:    return "out of range";
    case PARSE_ERR_DATE:     return "not a date of the form YYYY-MM-DD";
    case PARSE_ERR_PERIOD:   return "not a period of the form YYYY-MM";
    case PARSE_ERR_CALENDAR: return "not a real calendar date";
    default:                 return "invalid value";
    }
}

static bool parse_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the run of digits starting at s[i], bounded by len. */
static size_t parse_digit_run(const char *s, size_t i, size_t len)
{
    size_t n = 0;
    while (i + n < len && parse_is_digit(s[i + n]))
        n++;
    return n;
}

int parse_money(const char *s, size_t len, int64_t *cents)
{
    if (s == NULL || len == 0)
        return PARSE_ERR_SYNTAX;
    size_t i = 0;
    bool negative = false;
    if (s[0] == '-' || s[0] == '+') {
        negative = s[0] == '-';
        i = 1;
    }
    size_t int_start = i;
    size_t int_digits = parse_digit_run(s, i, len);
    if (int_digits == 0)
        return PARSE_ERR_SYNTAX;                      /* "", "-", ".5", "NaN" */
    i += int_digits;
    size_t frac_digits = 0;
    size_t frac_start = 0;
    if (i < len && s[i] == '.') {
        frac_start = i + 1;
        frac_digits = parse_digit_run(s, frac_start, len);
        if (frac_digits == 0)
            return PARSE_ERR_SYNTAX;                  /* "1." */
        i = frac_start + frac_digits;
    }
    if (i != len)
        return PARSE_ERR_SYNTAX;                      /* "1e5", "1 ", "1.5x" */
    if (frac_digits > 2)
        return PARSE_ERR_DECIMALS;

    /* Skip leading zeros so "000...0001" cannot overflow the accumulator. */
    while (int_digits > 1 && s[int_start] == '0') {
        int_start++;
        int_digits--;
    }
    if (int_digits > 12)          /* keeps the accumulator far from overflow */
        return PARSE_ERR_RANGE;
    int64_t value = 0;
    for (size_t k = 0; k < int_digits; k++)
        value = value * 10 + (s[int_start + k] - '0');
    int64_t frac = 0;
    for (size_t k = 0; k < 2; k++)
        frac = frac * 10 + (k < frac_digits ? s[frac_start + k] - '0' : 0);
    value = value * 100 + frac;                       /* <= 99 999 999 999 999 */
    if (value > PARSE_MONEY_MAX_CENTS)
        return PARSE_ERR_RANGE;
    *cents = negative ? -value : value;
    return PARSE_OK;
}

int parse_money_double(double v, int64_t *cents)
{
    if (!isfinite(v))
        return PARSE_ERR_SYNTAX;
    double scaled = v * 100.0;
    double whole = round(scaled);
    if (fabs(whole) > (double)PARSE_MONEY_MAX_CENTS)
        return PARSE_ERR_RANGE;
    double tolerance = fmax(1e-6, fabs(scaled) * 4.0 * DBL_EPSILON);
    if (fabs(scaled - whole) > tolerance)
        return PARSE_ERR_DECIMALS;
    *cents = (int64_t)whole;                          /* -0.0 becomes 0 */
    return PARSE_OK;
}

void parse_format_cents(int64_t cents, char out[PARSE_CENTS_BYTES])
{
    uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(out, PARSE_CENTS_BYTES, "%s%" PRIu64 ".%02u", cents < 0 ? "-" : "",
             magnitude / 100, (unsigned)(magnitude % 100));
}

__int128 parse_wide(const char *text)
{
    const char *p = text;
    bool neg = *p == '-';
    if (neg || *p == '+')
        p++;
    if (*p == '\0')
        return 0;
    unsigned __int128 v = 0, limit = ((unsigned __int128)1 << 126);   /* well inside 127 bits */
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > limit / 10)
            return 0;
        v = v * 10 + (unsigned)(*p - '0');
    }
    return neg ? -(__int128)v : (__int128)v;
}

void parse_format_cents_wide(__int128 cents, char out[PARSE_WIDE_CENTS_BYTES])
{
    unsigned __int128 m = cents < 0 ? -(unsigned __int128)cents : (unsigned __int128)cents;
    char digits[PARSE_WIDE_CENTS_BYTES];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m != 0 && n < (int)sizeof(digits) - 1);
    while (n < 3)
        digits[n++] = '0';               /* at least "0.0x" */
    size_t len = 0;
    if (cents < 0)
        out[len++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[len++] = digits[i];
        if (i == 2)
            out[len++] = '.';
    }
    out[len] = '\0';
}

__int128 parse_round_div_wide(__int128 num, __int128 den)
{
    if (den == 0)
        return 0;
    __int128 q = num / den, r = num % den;
    if (2 * (r < 0 ? -r : r) >= (den < 0 ? -den : den))
        q += (num < 0) != (den < 0) ? -1 : 1;
    return q;
}

static bool parse_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int parse_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && parse_is_leap_year(y))
        return 29;
    return days[m - 1];
}

/* Reads exactly n digits at s; -1 if any is not a digit. */
static int parse_fixed_digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!parse_is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The shared YYYY-MM prefix of dates and periods: syntax first, then range. */
static int parse_year_month(const char *s, int *y, int *m, int syntax_error)
{
    int year = parse_fixed_digits(s, 4);
    int month = parse_fixed_digits(s + 5, 2);
    if (year < 0 || month < 0 || s[4] != '-')
        return syntax_error;
    if (year < PARSE_YEAR_MIN || year > PARSE_YEAR_MAX)
        return PARSE_ERR_RANGE;
    if (month < 1 || month > 12)
        return PARSE_ERR_CALENDAR;
    *y = year;
    *m = month;
    return PARSE_OK;
}

int parse_date(const char *s, size_t len, int *y, int *m, int *d)
{
    if (s == NULL || len != 10)
        return PARSE_ERR_DATE;
    int day = parse_fixed_digits(s + 8, 2);
    if (s[7] != '-' || day < 0)
        return PARSE_ERR_DATE;
    int year, month;
    int rc = parse_year_month(s, &year, &month, PARSE_ERR_DATE);
    if (rc != PARSE_OK)
        return rc;
    if (day < 1 || day > parse_days_in_month(year, month))
        return PARSE_ERR_CALENDAR;
    *y = year;
    *m = month;
    *d = day;
    return PARSE_OK;
}

int parse_period(const char *s, size_t len, int *y, int *m)
{
    if (s == NULL || len != 7)
        return PARSE_ERR_PERIOD;
    return parse_year_month(s, y, m, PARSE_ERR_PERIOD);
}

int parse_int64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL || len == 0)
        return PARSE_ERR_SYNTAX;
    bool negative = s[0] == '-';
    size_t i = negative ? 1 : 0;
    size_t digits = parse_digit_run(s, i, len);
    if (digits == 0 || i + digits != len)
        return PARSE_ERR_SYNTAX;
    if (s[i] == '0' && (digits > 1 || negative))
        return PARSE_ERR_SYNTAX;                      /* "007", "-0" */
    /* Accumulate the magnitude in uint64: 2^63 (INT64_MIN's) fits. */
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t magnitude = 0;
    for (size_t k = 0; k < digits; k++) {
        unsigned digit = (unsigned)(s[i + k] - '0');
        if (magnitude > (limit - digit) / 10)
            return PARSE_ERR_RANGE;
        magnitude = magnitude * 10 + digit;
    }
    int64_t value = negative ? -(int64_t)(magnitude - 1) - 1 : (int64_t)magnitude;
    if (value < min || value > max)
        return PARSE_ERR_RANGE;
    *out = value;
    return PARSE_OK;
}

int parse_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;                                   /* [0, 399] */
    int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void parse_civil_from_days(int days, int *y, int *m, int *d)
{
    int z = days + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;                                        /* [0, 146096] */
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;   /* [0, 399] */
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 /* [0, 365] */
    int mp = (5 * doy + 2) / 153;                                      /* [0, 11] */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t parse_round_div(int64_t num, int64_t den)
{
    if (den == 0)
        return 0;
    int64_t q = num / den, r = num % den;
    if (2 * (r < 0 ? -r : r) >= (den < 0 ? -den : den))
        q += (num < 0) != (den < 0) ? -1 : 1;
    return q;
}

void parse_today_utc(int *y, int *m, int *d)
{
    parse_civil_from_days((int)(time(NULL) / 86400), y, m, d);
}
