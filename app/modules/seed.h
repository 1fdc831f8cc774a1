/* seed: a deterministic generator of realistic demo finance data (French
 * households: salary, rent, subscriptions, groceries, transport, restaurants,
 * shopping, leisure, health, refunds and a few outliers). Pure: no database,
 * no allocation, no clock; rows go to the caller's callbacks.
 *
 * Determinism: user k's name, profile and transactions depend only on
 * (opts->seed, k, months, end date) — each user has its own PRNG stream
 * (xoshiro256** seeded through splitmix64 from seed and k) — so generating
 * users 0..4 at once or one at a time (first_user = k, users = k + 1) gives
 * identical rows for each user.
 *
 * Range: the `months` months ending at the end date, inclusive, as a rolling
 * window: end 2026-10-15 with months 12 covers 2025-10-16..2026-10-15 (the
 * start day is clamped to the length of its month). Monthly events (salary,
 * rent, subscriptions) fall on days 1..28 so every month has them. */
#ifndef TALLY_SEED_H
#define TALLY_SEED_H

#include <stdint.h>

#define SEED_MONTHS_MAX    1200        /* 100 years */
#define SEED_USERS_MAX     10000000
#define SEED_PENDING_MAX   32          /* refunds scheduled but not yet due, per user */

struct seed_opts {
    uint64_t seed;
    int users;                          /* generates user indexes first_user..users-1 */
    int months;                         /* 1..SEED_MONTHS_MAX */
    int end_year, end_month, end_day;   /* a valid date; the window stays in 1900..2999 */
    int first_user;                     /* 0 unless generating a slice of the users */
};

struct seed_user {
    int index;
    char name[64];
    const char *currency;               /* "EUR" */
    const char *language;               /* "fr" (about 85%) or "en" */
};

/* The pointers are static strings, except description, which is valid only
 * during the callback (copy it to keep it). description is never NULL. */
struct seed_txn {
    int user_index;
    char external_id[48];               /* "seed-<user>-<n>", n from 1, unique per user */
    int year, month, day;
    int64_t amount_cents;               /* never 0; negative = spending */
    const char *currency;
    const char *merchant;
    const char *category;
    const char *description;
};

typedef int (*seed_user_fn)(void *arg, const struct seed_user *u);   /* non-zero return aborts */
typedef int (*seed_txn_fn)(void *arg, const struct seed_txn *t);

/* For each user in order: on_user (if not NULL), then that user's
 * transactions in date order through on_txn (if not NULL). Returns 0, -1
 * for invalid options, or the first non-zero callback return. */
int seed_generate(const struct seed_opts *opts, seed_user_fn on_user, seed_txn_fn on_txn, void *arg);

#endif
