/* jobs_cron: the cron subset of the schedules (5 fields, `*`, N, N-M,
 * lists, `/step`; UTC). Pure: unit-tested by tests/unit/test_cron.c. */
#define _GNU_SOURCE
#include "jobs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One field: comma-separated items, each `*`, `N` or `N-M`, optionally `/S`. */
static int jobs_cron_field(const char *s, size_t len, int lo, int hi, uint64_t *bits, bool *any)
{
    *bits = 0;
    *any = len == 1 && s[0] == '*';
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != ',')
            end++;
        long a = lo, b = hi, step = 1;
        const char *p = s + i, *stop = s + end;
        char *q;
        if (p < stop && *p == '*') {
            p++;
        } else {
            if (p >= stop || *p < '0' || *p > '9')
                return -1;
            a = strtol(p, &q, 10);
            p = q;
            b = a;
            if (p < stop && *p == '-') {
                p++;
                if (p >= stop || *p < '0' || *p > '9')
                    return -1;
                b = strtol(p, &q, 10);
                p = q;
            }
        }
        if (p < stop && *p == '/') {
            p++;
            if (p >= stop || *p < '0' || *p > '9')
                return -1;
            step = strtol(p, &q, 10);
            p = q;
            if (b == a && s[i] != '*')
                b = hi;                          /* "5/15" means 5-hi/15 */
        }
        if (p != stop || a < lo || b > hi || a > b || step < 1)
            return -1;
        for (long v = a; v <= b; v += step)
            *bits |= (uint64_t)1 << v;
        i = end + 1;
        if (end == len - 1 && s[end] == ',')
            return -1;                           /* trailing comma */
    }
    return *bits != 0 ? 0 : -1;
}

int jobs_cron_parse(const char *text, struct jobs_cron *out)
{
    const char *fields[5];
    size_t lens[5];
    int n = 0;
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (n == 5)
            return -1;
        fields[n] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        lens[n] = (size_t)(p - fields[n]);
        n++;
    }
    if (n != 5)
        return -1;
    bool any;
    memset(out, 0, sizeof(*out));
    if (jobs_cron_field(fields[0], lens[0], 0, 59, &out->minute, &any) != 0 ||
        jobs_cron_field(fields[1], lens[1], 0, 23, &out->hour, &any) != 0 ||
        jobs_cron_field(fields[2], lens[2], 1, 31, &out->dom, &out->dom_any) != 0 ||
        jobs_cron_field(fields[3], lens[3], 1, 12, &out->month, &any) != 0 ||
        jobs_cron_field(fields[4], lens[4], 0, 7, &out->dow, &out->dow_any) != 0)
        return -1;
    if (out->dow & ((uint64_t)1 << 7))
        out->dow |= 1;                           /* 7 is Sunday too */
    return 0;
}

bool jobs_cron_match(const struct jobs_cron *c, const struct tm *utc)
{
    if (!(c->minute >> utc->tm_min & 1) || !(c->hour >> utc->tm_hour & 1) || !(c->month >> (utc->tm_mon + 1) & 1))
        return false;
    bool dom = c->dom >> utc->tm_mday & 1, dow = c->dow >> utc->tm_wday & 1;
    /* Classic cron: when both day fields are restricted, either may match. */
    if (!c->dom_any && !c->dow_any)
        return dom || dow;
    return dom && dow;
}

int64_t jobs_cron_latest_slot(const struct jobs_cron *c, int64_t now, int64_t not_before)
{
    int64_t minute = now - (now % 60);
    for (int i = 0; i < JOBS_SCHEDULE_LOOKBACK_MIN; i++, minute -= 60) {
        if (minute < not_before)
            return 0;
        time_t t = (time_t)minute;
        struct tm tm;
        gmtime_r(&t, &tm);
        if (jobs_cron_match(c, &tm))
            return minute;
    }
    return 0;
}


int64_t jobs_cron_next_slot(const struct jobs_cron *c, int64_t after, int horizon_min)
{
    int64_t minute = after - (after % 60) + 60;
    for (int i = 0; i < horizon_min; i++, minute += 60) {
        time_t t = (time_t)minute;
        struct tm tm;
        gmtime_r(&t, &tm);
        if (jobs_cron_match(c, &tm))
            return minute;
    }
    return 0;
}
