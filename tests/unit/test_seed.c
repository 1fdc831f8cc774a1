/* Unit tests of seed: determinism, per-user independence, valid and
 * realistic rows, bounded output, aborting callbacks, invalid options. */
#include "check.h"
#include "core/parse.h"
#include "core/text.h"
#include "modules/seed.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_MAX 64

struct user_stats {
    bool seen;
    char name[64];
    char language[4];
    uint64_t checksum;
    int count;
    int positive, negative, zero;
    int salaries, rents, outliers;
    int bad_date, out_of_window, unordered, bad_id, bad_text;
    int last_days;
    int month_min, month_max;          /* transactions in a full calendar month */
    int month_counts[12 * 3];
    bool has_category[16];
};

struct collector {
    struct user_stats users[USERS_MAX];
    int first_days, last_days;
    uint64_t checksum;                 /* over everything, in emission order */
    int user_calls, txn_calls;
    int abort_after;                   /* return 7 on this txn call; 0 = never */
};

static const char *const categories[] = {
    "Alimentation", "Restaurant", "Transport", "Shopping", "Loisirs", "Santé",
    "Logement", "Abonnements", "Revenus",
};
#define CATEGORY_COUNT ((int)(sizeof(categories) / sizeof(categories[0])))

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001B3);
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return s == NULL ? fnv(h, "\xff", 1) : fnv(h, s, strlen(s) + 1);
}

static uint64_t txn_hash(uint64_t h, const struct seed_txn *t)
{
    int ints[4] = {t->user_index, t->year, t->month, t->day};
    h = fnv(h, ints, sizeof(ints));
    h = fnv(h, &t->amount_cents, sizeof(t->amount_cents));
    h = fnv_str(h, t->external_id);
    h = fnv_str(h, t->currency);
    h = fnv_str(h, t->merchant);
    h = fnv_str(h, t->category);
    return fnv_str(h, t->description);
}

static bool text_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= 512 && text_is_utf8(s, strlen(s));
}

static int on_user(void *arg, const struct seed_user *u)
{
    struct collector *c = arg;
    c->user_calls++;
    c->checksum = fnv_str(fnv(c->checksum, &u->index, sizeof(u->index)), u->name);
    if (u->index < 0 || u->index >= USERS_MAX)
        return 0;
    struct user_stats *s = &c->users[u->index];
    s->seen = true;
    snprintf(s->name, sizeof(s->name), "%s", u->name);
    snprintf(s->language, sizeof(s->language), "%s", u->language ? u->language : "?");
    if (strcmp(u->currency, "EUR") != 0 || !text_ok(u->name))
        s->bad_text++;
    return 0;
}

static int category_index(const char *name)
{
    for (int i = 0; i < CATEGORY_COUNT; i++)
        if (strcmp(categories[i], name) == 0)
            return i;
    return -1;
}

static int on_txn(void *arg, const struct seed_txn *t)
{
    struct collector *c = arg;
    c->txn_calls++;
    if (c->abort_after > 0 && c->txn_calls == c->abort_after)
        return 7;
    c->checksum = txn_hash(c->checksum, t);
    if (t->user_index < 0 || t->user_index >= USERS_MAX)
        return 0;
    struct user_stats *s = &c->users[t->user_index];
    s->checksum = txn_hash(s->checksum, t);
    s->count++;

    char date[16];
    int y, m, d;
    snprintf(date, sizeof(date), "%04d-%02d-%02d", t->year, t->month, t->day);
    if (parse_date(date, strlen(date), &y, &m, &d) != 0) {
        s->bad_date++;
    } else {
        int days = parse_days_from_civil(y, m, d);
        if (days < c->first_days || days > c->last_days)
            s->out_of_window++;
        if (s->count > 1 && days < s->last_days)
            s->unordered++;
        s->last_days = days;
        int slot = (y - 2024) * 12 + (m - 1);
        if (slot >= 0 && slot < (int)(sizeof(s->month_counts) / sizeof(s->month_counts[0])))
            s->month_counts[slot]++;
    }

    char want_id[48];
    snprintf(want_id, sizeof(want_id), "seed-%d-%d", t->user_index, s->count);
    if (strcmp(t->external_id, want_id) != 0)   /* n = 1, 2, 3...: unique per user */
        s->bad_id++;
    if (!text_ok(t->merchant) || !text_ok(t->category) || !text_ok(t->description) ||
        t->currency == NULL || strcmp(t->currency, "EUR") != 0)
        s->bad_text++;

    if (t->amount_cents > 0)
        s->positive++;
    else if (t->amount_cents < 0)
        s->negative++;
    else
        s->zero++;
    int cat = t->category ? category_index(t->category) : -1;
    if (cat >= 0)
        s->has_category[cat] = true;
    else
        s->bad_text++;
    if (cat >= 0 && strcmp(categories[cat], "Revenus") == 0)
        s->salaries++;
    if (cat >= 0 && strcmp(categories[cat], "Logement") == 0)
        s->rents++;
    /* the usual maximum of these categories is 150 € (groceries) / 65 € (restaurants) */
    if (cat >= 0 && ((strcmp(categories[cat], "Alimentation") == 0 && t->amount_cents < -20000) ||
                     (strcmp(categories[cat], "Restaurant") == 0 && t->amount_cents < -10000)))
        s->outliers++;
    return 0;
}

static struct seed_opts opts_12(uint64_t seed, int users)
{
    return (struct seed_opts){.seed = seed, .users = users, .months = 12,
                              .end_year = 2025, .end_month = 10, .end_day = 15};
}

static struct collector *run(const struct seed_opts *o, int *rc)
{
    struct collector *c = calloc(1, sizeof(*c));
    if (c == NULL)
        exit(2);
    c->checksum = UINT64_C(0xCBF29CE484222325);
    for (int i = 0; i < USERS_MAX; i++)
        c->users[i].checksum = UINT64_C(0xCBF29CE484222325);
    c->first_days = parse_days_from_civil(2024, 10, 16);
    c->last_days = parse_days_from_civil(2025, 10, 15);
    *rc = seed_generate(o, on_user, on_txn, c);
    return c;
}

static void test_determinism(void)
{
    int rc1, rc2, rc3;
    struct seed_opts o = opts_12(42, 5);
    struct collector *a = run(&o, &rc1);
    struct collector *b = run(&o, &rc2);
    o.seed = 43;
    struct collector *other = run(&o, &rc3);
    CHECK_INT(rc1, 0);
    CHECK_INT(rc2, 0);
    CHECK_INT(rc3, 0);
    CHECK(a->checksum == b->checksum);
    CHECK_INT(a->txn_calls, b->txn_calls);
    CHECK(a->checksum != other->checksum);
    CHECK(a->users[0].checksum != a->users[1].checksum);   /* users differ */
    CHECK_INT(a->user_calls, 5);
    free(a);
    free(b);
    free(other);
}

/* User k's rows are the same whether 5 users, users 0..k, or only k are made. */
static void test_independence(void)
{
    int rc;
    struct seed_opts o = opts_12(42, 5);
    struct collector *all = run(&o, &rc);
    CHECK_INT(rc, 0);
    for (int k = 0; k < 5; k++) {
        struct seed_opts prefix = opts_12(42, k + 1);
        struct seed_opts slice = opts_12(42, k + 1);
        slice.first_user = k;
        struct collector *p = run(&prefix, &rc);
        CHECK_INT(rc, 0);
        struct collector *s = run(&slice, &rc);
        CHECK_INT(rc, 0);
        CHECK(p->users[k].checksum == all->users[k].checksum);
        CHECK(s->users[k].checksum == all->users[k].checksum);
        CHECK_INT(s->users[k].count, all->users[k].count);
        CHECK_STR(s->users[k].name, all->users[k].name);
        CHECK_INT(s->user_calls, 1);
        CHECK(!s->users[k == 0 ? 1 : 0].seen);
        free(p);
        free(s);
    }
    /* users only, then transactions only (how tallyctl calls it) */
    struct collector *u = calloc(1, sizeof(*u));
    CHECK_INT(seed_generate(&o, on_user, NULL, u), 0);
    CHECK_INT(u->user_calls, 5);
    CHECK_INT(u->txn_calls, 0);
    CHECK_STR(u->users[3].name, all->users[3].name);
    free(u);
    free(all);
}

static void test_realism(void)
{
    int rc;
    struct seed_opts o = opts_12(7, 40);
    struct collector *c = run(&o, &rc);
    CHECK_INT(rc, 0);
    int english = 0, french = 0, outliers = 0, min_count = 1 << 30, max_count = 0;
    int month_min = 1 << 30, month_max = 0;
    for (int k = 0; k < 40; k++) {
        const struct user_stats *s = &c->users[k];
        CHECK(s->seen);
        english += strcmp(s->language, "en") == 0;
        french += strcmp(s->language, "fr") == 0;
        CHECK_INT(s->bad_date, 0);
        CHECK_INT(s->out_of_window, 0);
        CHECK_INT(s->unordered, 0);
        CHECK_INT(s->bad_id, 0);
        CHECK_INT(s->bad_text, 0);
        CHECK_INT(s->zero, 0);
        CHECK(s->positive > 12);                  /* salaries plus refunds */
        CHECK(s->negative > 500);
        CHECK_INT(s->salaries, 12);               /* one per month of the window */
        CHECK_INT(s->rents, 12);
        for (int i = 0; i < CATEGORY_COUNT; i++)
            CHECK(s->has_category[i]);
        outliers += s->outliers;
        min_count = s->count < min_count ? s->count : min_count;
        max_count = s->count > max_count ? s->count : max_count;
        /* full calendar months 2024-11 .. 2025-09 */
        for (int slot = 10; slot <= 20; slot++) {
            month_min = s->month_counts[slot] < month_min ? s->month_counts[slot] : month_min;
            month_max = s->month_counts[slot] > month_max ? s->month_counts[slot] : month_max;
        }
    }
    CHECK_INT(english + french, 40);
    CHECK(english >= 1 && english < french);
    CHECK(outliers >= 5);
    CHECK(min_count >= 12 * 60);
    CHECK(max_count <= 12 * 120);
    CHECK(month_min >= 45);
    CHECK(month_max <= 150);
    printf("40 users x 12 months: %d..%d transactions per user, %d..%d per month, %d outliers, %d en\n",
           min_count, max_count, month_min, month_max, outliers, english);
    free(c);
}

static void test_window_and_options(void)
{
    int rc;
    /* a 1-month window ending on the 31st: 2025-03-01 .. 2025-03-31 */
    struct seed_opts o = {.seed = 1, .users = 1, .months = 1, .end_year = 2025, .end_month = 3, .end_day = 31};
    struct collector *c = run(&o, &rc);
    CHECK_INT(rc, 0);
    CHECK_INT(c->users[0].out_of_window, 0);   /* checks against 2024-10-16..2025-10-15 */
    CHECK_INT(c->users[0].month_counts[12 + 2], c->users[0].count);   /* all in March 2025 */
    CHECK_INT(c->users[0].salaries, 1);
    free(c);

    struct collector *none = calloc(1, sizeof(*none));
    struct seed_opts bad = opts_12(1, 2);
    bad.months = 0;
    CHECK_INT(seed_generate(&bad, on_user, on_txn, none), -1);
    bad = opts_12(1, 2);
    bad.months = SEED_MONTHS_MAX + 1;
    CHECK_INT(seed_generate(&bad, on_user, on_txn, none), -1);
    bad = opts_12(1, 2);
    bad.end_year = 2023, bad.end_month = 2, bad.end_day = 29;
    CHECK_INT(seed_generate(&bad, on_user, on_txn, none), -1);
    bad = opts_12(1, 2);
    bad.end_month = 13;
    CHECK_INT(seed_generate(&bad, on_user, on_txn, none), -1);
    bad = opts_12(1, 2);
    bad.end_year = 1900, bad.end_month = 6;           /* window would start in 1899 */
    CHECK_INT(seed_generate(&bad, on_user, on_txn, none), -1);
    bad = opts_12(1, 2);
    bad.first_user = 3;
    CHECK_INT(seed_generate(&bad, on_user, on_txn, none), -1);
    bad = opts_12(1, -1);
    CHECK_INT(seed_generate(&bad, on_user, on_txn, none), -1);
    CHECK_INT(seed_generate(NULL, on_user, on_txn, none), -1);
    CHECK_INT(none->user_calls + none->txn_calls, 0);
    bad = opts_12(1, 0);                              /* zero users: nothing, ok */
    CHECK_INT(seed_generate(&bad, on_user, on_txn, none), 0);
    CHECK_INT(none->user_calls, 0);
    free(none);
}

static int abort_user(void *arg, const struct seed_user *u)
{
    int *calls = arg;
    return ++*calls == 2 ? 5 : 0;
}

static void test_abort(void)
{
    int rc;
    struct seed_opts o = opts_12(42, 3);
    struct collector *c = calloc(1, sizeof(*c));
    c->abort_after = 10;
    rc = seed_generate(&o, NULL, on_txn, c);
    CHECK_INT(rc, 7);
    CHECK_INT(c->txn_calls, 10);                      /* stopped at once */
    free(c);
    int calls = 0;
    CHECK_INT(seed_generate(&o, abort_user, NULL, &calls), 5);
    CHECK_INT(calls, 2);
}

int main(void)
{
    test_determinism();
    test_independence();
    test_realism();
    test_window_and_options();
    test_abort();
    CHECK_DONE();
}
