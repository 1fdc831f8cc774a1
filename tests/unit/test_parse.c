#define _GNU_SOURCE
/* Unit tests of parse: money, dates, periods, integers, calendar. */
#include "check.h"
#include "core/parse.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* parse_money on a C string; returns the error, cents in *out. */
static int money(const char *s, int64_t *out)
{
    *out = 12345;                                   /* sentinel */
    return parse_money(s, strlen(s), out);
}

static void test_money_ok(void)
{
    int64_t c;
    CHECK_INT(money("-42.5", &c), 0);        CHECK_INT(c, -4250);
    CHECK_INT(money("42.50", &c), 0);        CHECK_INT(c, 4250);
    CHECK_INT(money("+3", &c), 0);           CHECK_INT(c, 300);
    CHECK_INT(money("0.07", &c), 0);         CHECK_INT(c, 7);
    CHECK_INT(money("-0.07", &c), 0);        CHECK_INT(c, -7);
    CHECK_INT(money("1234567.89", &c), 0);   CHECK_INT(c, 123456789);
    CHECK_INT(money("0", &c), 0);            CHECK_INT(c, 0);
    CHECK_INT(money("-0", &c), 0);           CHECK_INT(c, 0);
    CHECK_INT(money("-0.00", &c), 0);        CHECK_INT(c, 0);
    CHECK_INT(money("007.50", &c), 0);       CHECK_INT(c, 750);
    CHECK_INT(money("42.1", &c), 0);         CHECK_INT(c, 4210);
    /* the bound, and leading zeros that must not overflow */
    CHECK_INT(money("999999999999.99", &c), 0);  CHECK_INT(c, PARSE_MONEY_MAX_CENTS);
    CHECK_INT(money("-999999999999.99", &c), 0); CHECK_INT(c, -PARSE_MONEY_MAX_CENTS);
    CHECK_INT(money("0000000000000000000000000001.25", &c), 0); CHECK_INT(c, 125);
    /* len is honoured: only the first 4 bytes are read */
    c = 0;
    CHECK_INT(parse_money("12.3456", 4, &c), 0); CHECK_INT(c, 1230);
}

static void test_money_rejected(void)
{
    int64_t c;
    CHECK_INT(money("1.234", &c), PARSE_ERR_DECIMALS);
    CHECK_INT(money("1.230", &c), PARSE_ERR_DECIMALS);
    CHECK_INT(c, 12345);                             /* untouched on error */
    CHECK_INT(money("1e5", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("1.5E2", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("NaN", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("inf", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("-inf", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("0x10", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("-", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("+", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money(".", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("1.", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money(".5", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("-.5", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money(" 1", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("1 ", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("1,50", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("--1", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("+-1", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(money("1.2.3", &c), PARSE_ERR_SYNTAX);
    CHECK_INT(parse_money("1\0", 2, &c), PARSE_ERR_SYNTAX);
    CHECK_INT(parse_money(NULL, 0, &c), PARSE_ERR_SYNTAX);
    /* one cent over the bound, and far over */
    CHECK_INT(money("1000000000000.00", &c), PARSE_ERR_RANGE);
    CHECK_INT(money("-1000000000000", &c), PARSE_ERR_RANGE);
    CHECK_INT(money("99999999999999999999999999", &c), PARSE_ERR_RANGE);
    CHECK_STR(parse_error_message(PARSE_ERR_DECIMALS), "more than 2 decimals");
    CHECK_STR(parse_error_message(PARSE_ERR_SYNTAX), "not a number");
    CHECK_STR(parse_error_message(PARSE_ERR_RANGE), "out of range");
    CHECK(parse_error_message(-100) != NULL);
}

static void test_money_double(void)
{
    int64_t c = 0;
    CHECK_INT(parse_money_double(42.1, &c), 0);      CHECK_INT(c, 4210);
    CHECK_INT(parse_money_double(-42.5, &c), 0);     CHECK_INT(c, -4250);
    CHECK_INT(parse_money_double(0.07, &c), 0);      CHECK_INT(c, 7);
    CHECK_INT(parse_money_double(0.1 + 0.2, &c), 0); CHECK_INT(c, 30);
    CHECK_INT(parse_money_double(-0.0, &c), 0);      CHECK_INT(c, 0);
    CHECK_INT(parse_money_double(1234567.89, &c), 0); CHECK_INT(c, 123456789);
    CHECK_INT(parse_money_double(999999999999.99, &c), 0); CHECK_INT(c, PARSE_MONEY_MAX_CENTS);
    CHECK_INT(parse_money_double(1000000000000.00, &c), PARSE_ERR_RANGE);
    CHECK_INT(parse_money_double(1e300, &c), PARSE_ERR_RANGE);
    CHECK_INT(parse_money_double(1.234, &c), PARSE_ERR_DECIMALS);
    CHECK_INT(parse_money_double(0.005, &c), PARSE_ERR_DECIMALS);
    CHECK_INT(parse_money_double(NAN, &c), PARSE_ERR_SYNTAX);
    CHECK_INT(parse_money_double(INFINITY, &c), PARSE_ERR_SYNTAX);
    CHECK_INT(parse_money_double(-INFINITY, &c), PARSE_ERR_SYNTAX);
}

static void test_format_cents(void)
{
    char out[PARSE_CENTS_BYTES];
    parse_format_cents(-4250, out);      CHECK_STR(out, "-42.50");
    parse_format_cents(7, out);          CHECK_STR(out, "0.07");
    parse_format_cents(-7, out);         CHECK_STR(out, "-0.07");
    parse_format_cents(123400, out);     CHECK_STR(out, "1234.00");
    parse_format_cents(0, out);          CHECK_STR(out, "0.00");
    parse_format_cents(PARSE_MONEY_MAX_CENTS, out); CHECK_STR(out, "999999999999.99");
    parse_format_cents(INT64_MIN, out);  CHECK_STR(out, "-92233720368547758.08");
    parse_format_cents(INT64_MAX, out);  CHECK_STR(out, "92233720368547758.07");
    /* round trip */
    int64_t c = 0;
    parse_format_cents(-123456789, out);
    CHECK_INT(parse_money(out, strlen(out), &c), 0);
    CHECK_INT(c, -123456789);
}

static int date(const char *s, int *y, int *m, int *d)
{
    *y = *m = *d = -1;
    return parse_date(s, strlen(s), y, m, d);
}

static void test_date(void)
{
    int y, m, d;
    CHECK_INT(date("2026-10-03", &y, &m, &d), 0);
    CHECK_INT(y, 2026); CHECK_INT(m, 10); CHECK_INT(d, 3);
    CHECK_INT(date("2024-02-29", &y, &m, &d), 0);      CHECK_INT(d, 29);
    CHECK_INT(date("2000-02-29", &y, &m, &d), 0);
    CHECK_INT(date("1900-01-01", &y, &m, &d), 0);
    CHECK_INT(date("2999-12-31", &y, &m, &d), 0);
    CHECK_INT(date("2023-02-29", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(y, -1);                                   /* untouched on error */
    CHECK_INT(date("1900-02-29", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(date("2100-02-29", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(date("2024-02-30", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(date("2024-04-31", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(date("2024-13-01", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(date("2024-00-10", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(date("2024-01-00", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(date("2024-01-32", &y, &m, &d), PARSE_ERR_CALENDAR);
    CHECK_INT(date("1899-12-31", &y, &m, &d), PARSE_ERR_RANGE);
    CHECK_INT(date("3000-01-01", &y, &m, &d), PARSE_ERR_RANGE);
    CHECK_INT(date("2024-1-01", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(date("2024-01-1", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(date("2024-01-01T00:00:00Z", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(date("2024-01-01 ", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(date(" 2024-01-01", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(date("2024/01/01", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(date("2024-0a-01", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(date("+024-01-01", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(date("", &y, &m, &d), PARSE_ERR_DATE);
    CHECK_INT(parse_date("2024-01-015", 10, &y, &m, &d), 0);   /* len bounds it */
    CHECK_INT(d, 1);
}

static void test_period(void)
{
    int y = 0, m = 0;
    CHECK_INT(parse_period("2026-10", 7, &y, &m), 0);
    CHECK_INT(y, 2026); CHECK_INT(m, 10);
    CHECK_INT(parse_period("2026-13", 7, &y, &m), PARSE_ERR_CALENDAR);
    CHECK_INT(parse_period("2026-00", 7, &y, &m), PARSE_ERR_CALENDAR);
    CHECK_INT(parse_period("1899-12", 7, &y, &m), PARSE_ERR_RANGE);
    CHECK_INT(parse_period("2026-1", 6, &y, &m), PARSE_ERR_PERIOD);
    CHECK_INT(parse_period("2026-10-01", 10, &y, &m), PARSE_ERR_PERIOD);
    CHECK_INT(parse_period("2026_10", 7, &y, &m), PARSE_ERR_PERIOD);
}

static int int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    *out = 777;
    return parse_int64(s, strlen(s), min, max, out);
}

static void test_int64(void)
{
    int64_t v;
    CHECK_INT(int64("0", INT64_MIN, INT64_MAX, &v), 0);     CHECK_INT(v, 0);
    CHECK_INT(int64("42", 1, 500, &v), 0);                  CHECK_INT(v, 42);
    CHECK_INT(int64("-17", -100, 100, &v), 0);              CHECK_INT(v, -17);
    CHECK_INT(int64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0); CHECK(v == INT64_MAX);
    CHECK_INT(int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0); CHECK(v == INT64_MIN);
    CHECK_INT(int64("9223372036854775808", INT64_MIN, INT64_MAX, &v), PARSE_ERR_RANGE);
    CHECK_INT(int64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), PARSE_ERR_RANGE);
    CHECK_INT(int64("99999999999999999999999", INT64_MIN, INT64_MAX, &v), PARSE_ERR_RANGE);
    CHECK_INT(v, 777);
    CHECK_INT(int64("500", 1, 500, &v), 0);                 CHECK_INT(v, 500);
    CHECK_INT(int64("501", 1, 500, &v), PARSE_ERR_RANGE);
    CHECK_INT(int64("0", 1, 500, &v), PARSE_ERR_RANGE);
    CHECK_INT(int64("007", 0, 500, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(int64("-0", -5, 5, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(int64("+5", 0, 500, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(int64(" 5", 0, 500, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(int64("5 ", 0, 500, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(int64("5x", 0, 500, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(int64("-", 0, 500, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(int64("", 0, 500, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(int64("1.0", 0, 500, &v), PARSE_ERR_SYNTAX);
    CHECK_INT(parse_int64("123", 2, 0, 500, &v), 0);       CHECK_INT(v, 12);
}

static void test_calendar(void)
{
    CHECK_INT(parse_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(parse_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(parse_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(parse_days_from_civil(1900, 1, 1), -25567);
    CHECK_INT(parse_days_from_civil(2024, 2, 29), 19782);
    CHECK_INT(parse_days_in_month(2024, 2), 29);
    CHECK_INT(parse_days_in_month(2023, 2), 28);
    CHECK_INT(parse_days_in_month(1900, 2), 28);
    CHECK_INT(parse_days_in_month(2000, 2), 29);
    CHECK_INT(parse_days_in_month(2100, 2), 28);
    CHECK_INT(parse_days_in_month(2023, 4), 30);
    CHECK_INT(parse_days_in_month(2023, 12), 31);
    CHECK_INT(parse_days_in_month(2023, 13), 0);
    CHECK_INT(parse_days_in_month(2023, 0), 0);
    /* round trip over every day of the accepted years, in order */
    int prev = parse_days_from_civil(PARSE_YEAR_MIN, 1, 1) - 1;
    int bad = 0;
    for (int y = PARSE_YEAR_MIN; y <= PARSE_YEAR_MAX; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= parse_days_in_month(y, m); d++) {
                int days = parse_days_from_civil(y, m, d);
                int y2, m2, d2;
                parse_civil_from_days(days, &y2, &m2, &d2);
                if (days != prev + 1 || y2 != y || m2 != m || d2 != d)
                    bad++;
                prev = days;
            }
    CHECK_INT(bad, 0);
    int y, m, d;
    parse_civil_from_days(-1, &y, &m, &d);
    CHECK_INT(y, 1969); CHECK_INT(m, 12); CHECK_INT(d, 31);
}

static void test_round_div(void)
{
    CHECK_INT(parse_round_div(5, 2), 3);        /* half away from zero */
    CHECK_INT(parse_round_div(-5, 2), -3);
    CHECK_INT(parse_round_div(4, 3), 1);
    CHECK_INT(parse_round_div(-4, 3), -1);
    CHECK_INT(parse_round_div(-23140, 12), -1928);  /* -1928.33 */
    CHECK_INT(parse_round_div(7, 0), 0);
    CHECK_INT(parse_round_div(5, -2), -3);
}

static void test_today(void)
{
    time_t t = time(NULL);
    struct tm tm;
    int y, m, d;
    parse_today_utc(&y, &m, &d);
    gmtime_r(&t, &tm);
    if (tm.tm_hour == 23 && tm.tm_min == 59 && tm.tm_sec == 59)   /* never across midnight */
        return;
    CHECK_INT(y, tm.tm_year + 1900);
    CHECK_INT(m, tm.tm_mon + 1);
    CHECK_INT(d, tm.tm_mday);
}

int main(void)
{
    test_today();
    test_round_div();
    test_money_ok();
    test_money_rejected();
    test_money_double();
    test_format_cents();
    test_date();
    test_period();
    test_int64();
    test_calendar();
    CHECK_DONE();
}
