#define _GNU_SOURCE
/* Unit tests: the cron subset of job schedules (jobs_cron_parse, _match,
 * _latest_slot): field syntax and bounds, Sunday as 0 or 7, the classic
 * day-of-month OR day-of-week rule, and the slot search (the nightly
 * schedules of sql/005 included). */
#include "check.h"
#include "jobs/jobs.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* Unix seconds of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm);
}

static bool matches(const char *expr, int y, int mo, int d, int h, int mi)
{
    struct jobs_cron c;
    if (jobs_cron_parse(expr, &c) != 0)
        return false;
    time_t t = (time_t)utc(y, mo, d, h, mi);
    struct tm tm;
    gmtime_r(&t, &tm);
    return jobs_cron_match(&c, &tm);
}

static void test_parse(void)
{
    static const char *const good[] = {
        "* * * * *", "0 3 * * *", "*/5 * * * *", "0-59/15 * * * *", "5/15 * * * *", "1,2,3 4-6 7 8 0",
        "0 0 1 1 7", "  0   2  *  *  *  ", "0\t2\t*\t*\t*", "59 23 31 12 6",
    };
    static const char *const bad[] = {
        "", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *", "* * * 13 *",
        "* * * * 8", "a * * * *", "5- * * * *", "-5 * * * *", "*/0 * * * *", "1, * * * *", ",1 * * * *",
        "1,,2 * * * *", "5-3 * * * *", "*/ * * * *", "1/x * * * *",
    };
    struct jobs_cron c;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int rc = jobs_cron_parse(good[i], &c);
        if (rc != 0)
            fprintf(stderr, "refused: \"%s\"\n", good[i]);
        CHECK_INT(rc, 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = jobs_cron_parse(bad[i], &c);
        if (rc != -1)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK_INT(rc, -1);
    }
    CHECK_INT(jobs_cron_parse("*/15 * * * *", &c), 0);
    CHECK(c.minute == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)));
    CHECK_INT(jobs_cron_parse("5/20 * * * *", &c), 0);   /* 5-59/20 */
    CHECK(c.minute == ((1ULL << 5) | (1ULL << 25) | (1ULL << 45)));
    CHECK_INT(jobs_cron_parse("* * * * *", &c), 0);
    CHECK(c.dom_any && c.dow_any);
    CHECK_INT(jobs_cron_parse("* * */2 * 1-5", &c), 0);
    CHECK(!c.dom_any && !c.dow_any);
}

static void test_match(void)
{
    /* 2026-11-22 is a Sunday. */
    CHECK(matches("0 3 * * *", 2026, 11, 22, 3, 0));
    CHECK(!matches("0 3 * * *", 2026, 11, 22, 3, 1));
    CHECK(!matches("0 3 * * *", 2026, 11, 22, 15, 0));
    CHECK(matches("* * * * 0", 2026, 11, 22, 12, 0));
    CHECK(matches("* * * * 7", 2026, 11, 22, 12, 0));      /* 7 is Sunday too */
    CHECK(!matches("* * * * 1-6", 2026, 11, 22, 12, 0));
    CHECK(matches("* * * * 1-5", 2026, 11, 23, 12, 0));    /* Monday */
    CHECK(matches("30 * * 2 *", 2024, 2, 29, 7, 30));      /* month field, leap day */
    CHECK(!matches("30 * * 3 *", 2024, 2, 29, 7, 30));
    /* Both day fields restricted: either one matches (classic cron). */
    CHECK(matches("0 0 1 * 1", 2026, 12, 1, 0, 0));         /* the 1st (a Tuesday) */
    CHECK(matches("0 0 1 * 1", 2026, 12, 7, 0, 0));         /* a Monday */
    CHECK(!matches("0 0 1 * 1", 2026, 12, 8, 0, 0));        /* neither */
    /* One day field restricted: it alone decides. */
    CHECK(matches("0 0 1 * *", 2026, 12, 1, 0, 0));
    CHECK(!matches("0 0 1 * *", 2026, 12, 7, 0, 0));
    CHECK(matches("0 0 31 * *", 2026, 12, 31, 0, 0));
    CHECK(!matches("0 0 31 * *", 2026, 11, 30, 0, 0));
}

static void test_latest_slot(void)
{
    struct jobs_cron c;
    CHECK_INT(jobs_cron_parse("0 3 * * *", &c), 0);       /* nightly precompute (sql/005) */
    int64_t slot = utc(2026, 11, 23, 3, 0);
    CHECK_INT(jobs_cron_latest_slot(&c, slot, 0), slot);                  /* exactly at the slot */
    CHECK_INT(jobs_cron_latest_slot(&c, slot + 59, 0), slot);             /* within its minute */
    CHECK_INT(jobs_cron_latest_slot(&c, slot + 6 * 3600, 0), slot);       /* missed: still found later */
    CHECK_INT(jobs_cron_latest_slot(&c, slot - 60, 0), slot - 86400);     /* before it: yesterday's */
    CHECK_INT(jobs_cron_latest_slot(&c, slot + 60, slot + 1), 0);         /* not before a later start */
    CHECK_INT(jobs_cron_latest_slot(&c, slot + 25 * 3600, 0), slot + 86400);         /* the next day's */
    CHECK_INT(jobs_cron_parse("0 2 * * *", &c), 0);       /* nightly cleanup */
    CHECK_INT(jobs_cron_latest_slot(&c, utc(2026, 11, 23, 2, 30), 0), utc(2026, 11, 23, 2, 0));
    CHECK_INT(jobs_cron_parse("*/10 * * * *", &c), 0);
    CHECK_INT(jobs_cron_latest_slot(&c, utc(2026, 1, 1, 0, 9) + 30, 0), utc(2026, 1, 1, 0, 0));
    /* Across the year boundary. */
    CHECK_INT(jobs_cron_parse("59 23 31 12 *", &c), 0);
    CHECK_INT(jobs_cron_latest_slot(&c, utc(2027, 1, 1, 0, 5), 0), utc(2026, 12, 31, 23, 59));
    /* Out of the lookback window (24 h): none. */
    CHECK_INT(jobs_cron_parse("0 0 1 1 *", &c), 0);
    CHECK_INT(jobs_cron_latest_slot(&c, utc(2026, 3, 1, 0, 0), 0), 0);
}

int main(void)
{
    test_parse();
    test_match();
    test_latest_slot();
    CHECK_DONE();
}
