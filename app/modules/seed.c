/* seed: deterministic demo finance data. It owns the catalog of merchants
 * and categories, the per-user profile (salary, rent, subscriptions,
 * spending habits) and the day-by-day walk that turns a profile into
 * transactions. Invariants: user k's output depends only on (seed, k,
 * months, end date) — one PRNG stream per user, consumed in a fixed order;
 * rows are emitted in date order; amounts are exact non-zero cents; every
 * loop is bounded by the date window and the fixed catalog sizes. */
#include "seed.h"
#include "../core/parse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define SEED_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---- */

struct seed_rng {
    uint64_t s[4];
};

static uint64_t seed_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t seed_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* One independent stream per (seed, user): the user index is mixed in
 * through splitmix64 before seeding, so neighbouring users do not share
 * state. */
static void seed_rng_init(struct seed_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    uint64_t mixed = seed_splitmix64(&x) ^ (stream * UINT64_C(0xD1B54A32D192ED03));
    for (int i = 0; i < 4; i++)
        r->s[i] = seed_splitmix64(&mixed);
}

static uint64_t seed_rng_next(struct seed_rng *r)
{
    uint64_t result = seed_rotl(r->s[1] * 5, 7) * 9;
    uint64_t t = r->s[1] << 17;
    r->s[2] ^= r->s[0];
    r->s[3] ^= r->s[1];
    r->s[1] ^= r->s[2];
    r->s[0] ^= r->s[3];
    r->s[2] ^= t;
    r->s[3] = seed_rotl(r->s[3], 45);
    return result;
}

/* Uniform in [lo, hi] (lo <= hi). The modulo bias is below 2^-40 for the
 * spans used here. */
static int64_t seed_rng_range(struct seed_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(seed_rng_next(r) % span);
}

static bool seed_rng_permille(struct seed_rng *r, int permille)
{
    return seed_rng_range(r, 0, 999) < permille;
}

/* Skewed towards lo, like real receipts: the lower of two uniform draws. */
static int64_t seed_rng_skewed(struct seed_rng *r, int64_t lo, int64_t hi)
{
    int64_t a = seed_rng_range(r, lo, hi);
    int64_t b = seed_rng_range(r, lo, hi);
    return a < b ? a : b;
}

/* ---- catalog ---- */

struct seed_merchant {
    const char *name;
    int64_t min_cents, max_cents;
    int weight;
};

/* A kind of everyday spending: expected transactions per day (in 1/1000)
 * on weekdays and weekends, and who gets the money. */
struct seed_habit {
    const char *category;
    int weekday_permille, weekend_permille;
    const struct seed_merchant *merchants;
    int merchant_count;
};

static const struct seed_merchant seed_groceries[] = {
    {"Carrefour", 1500, 12000, 30}, {"Monoprix", 800, 6000, 20}, {"Lidl", 1000, 9000, 20},
    {"Auchan", 2000, 15000, 10},    {"Picard", 1000, 4500, 8},   {"Franprix", 400, 3500, 15},
};
static const struct seed_merchant seed_bakeries[] = {
    {"Boulangerie Pâtisserie", 110, 1250, 3}, {"Boulangerie du Marché", 110, 900, 2},
    {"Paul", 250, 1400, 1},
};
static const struct seed_merchant seed_restaurants[] = {
    {"McDonald's", 650, 1800, 25}, {"Le Petit Bistrot", 1800, 6500, 10}, {"Deliveroo", 1400, 4200, 15},
    {"Starbucks", 390, 950, 15},   {"Crêperie Saint-Germain", 1200, 3800, 6}, {"Sushi Shop", 1500, 4000, 8},
};
static const struct seed_merchant seed_transport[] = {
    {"RATP", 215, 215, 30}, {"SNCF", 2500, 12000, 8}, {"Uber", 900, 3800, 12}, {"TotalEnergies", 3500, 8500, 10},
};
static const struct seed_merchant seed_shopping[] = {
    {"Amazon", 800, 15000, 30}, {"Fnac", 1200, 22000, 12}, {"Decathlon", 1000, 13000, 12},
    {"IKEA", 1500, 26000, 6},   {"Zara", 1900, 12000, 10},
};
static const struct seed_merchant seed_leisure[] = {
    {"Cinéma UGC", 990, 1390, 20}, {"Steam", 499, 5999, 10}, {"Fnac Spectacles", 2500, 8000, 5},
    {"Musée du Louvre", 1700, 2200, 3},
};
static const struct seed_merchant seed_health[] = {
    {"Pharmacie", 350, 4500, 20}, {"Médecin Généraliste", 3000, 3000, 8}, {"Doctolib", 2500, 2500, 3},
    {"Cabinet Dentaire", 4000, 12000, 2},
};

#define SEED_HABIT(cat, wd, we, list) {cat, wd, we, list, SEED_COUNT(list)}

static const struct seed_habit seed_habits[] = {
    SEED_HABIT("Alimentation", 700, 800, seed_groceries),
    SEED_HABIT("Alimentation", 450, 600, seed_bakeries),
    SEED_HABIT("Restaurant", 450, 800, seed_restaurants),
    SEED_HABIT("Transport", 450, 300, seed_transport),
    SEED_HABIT("Shopping", 140, 250, seed_shopping),
    SEED_HABIT("Loisirs", 70, 220, seed_leisure),
    SEED_HABIT("Santé", 50, 20, seed_health),
};
#define SEED_HABIT_TRANSPORT 3
#define SEED_HABIT_SHOPPING  4
#define SEED_HABIT_HEALTH    6

static const char *const seed_first_fr[] = {
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Jade", "Louise", "Emma", "Zoé", "Sarah",
    "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Raphaël", "Théo", "Nathan", "Mathis",
    "Élodie", "François", "Hélène", "Jérôme", "Amélie", "Noémie", "Benoît", "Céline", "Gaëlle", "Mickaël",
};
static const char *const seed_last_fr[] = {
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "Féraud", "Chevalier", "Gauthier",
};
static const char *const seed_first_en[] = {
    "Emily", "James", "Olivia", "Jack", "Sophie", "Harry", "Charlotte", "Oliver", "Grace", "William",
};
static const char *const seed_last_en[] = {
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Wright", "Clarke",
};
static const char *const seed_employers[] = {
    "Capgemini", "Orange", "BNP Paribas", "Mairie de Lyon", "Hôpital Saint-Louis", "Renault",
    "La Poste", "Société Générale", "Université de Bordeaux", "Atelier Lefèvre SARL",
};
static const char *const seed_landlords[] = {
    "Foncia", "Nexity", "Century 21 Gestion", "Orpi Gestion", "Agence Immobilière du Parc",
};
static const struct seed_merchant seed_phones[] = {
    {"Free Mobile", 1999, 1999, 4}, {"SFR", 2499, 2499, 2}, {"Bouygues Telecom", 1599, 1599, 2},
    {"Orange", 2999, 2999, 2},
};

/* ---- the user's profile: everything fixed for the whole window ---- */

enum seed_kind {
    SEED_CARD,          /* "CB <merchant> dd/mm" */
    SEED_DEBIT,         /* "Prélèvement <merchant>" */
    SEED_SALARY,        /* "Virement salaire mm/yyyy" */
    SEED_RENT,          /* "Loyer mm/yyyy" */
    SEED_REFUND,        /* "Remboursement <merchant>" */
};

/* A transaction on a fixed day of every month. */
struct seed_monthly {
    const char *merchant, *category;
    int64_t cents;                      /* signed */
    int day;                            /* 1..28 */
    enum seed_kind kind;
};

#define SEED_MONTHLY_MAX 8

struct seed_profile {
    struct seed_monthly monthly[SEED_MONTHLY_MAX];
    int monthly_count;
    int monthly_edf;                    /* index of the electricity bill, varies by season */
    int monthly_salary;
    bool december_bonus;
    bool commuter;                      /* has Navigo: fewer single tickets */
    int activity_permille;              /* scales every habit: 850..1250 */
    int favourite_grocery;              /* index in seed_groceries */
};

/* A refund scheduled for a later day. */
struct seed_pending {
    int days;                           /* days since 1970-01-01 */
    int64_t cents;
    const char *merchant, *category;
};

struct seed_walk {
    struct seed_rng rng;
    struct seed_profile profile;
    struct seed_pending pending[SEED_PENDING_MAX];
    int pending_count;
    int user_index;
    int txn_count;
    seed_txn_fn on_txn;
    void *arg;
};

static const char *seed_pick(struct seed_rng *r, const char *const *list, int count)
{
    return list[seed_rng_range(r, 0, count - 1)];
}

static const struct seed_merchant *seed_pick_weighted(struct seed_rng *r, const struct seed_merchant *list,
                                                      int count)
{
    int total = 0;
    for (int i = 0; i < count; i++)
        total += list[i].weight;
    int64_t x = seed_rng_range(r, 0, total - 1);
    for (int i = 0; i < count; i++) {
        x -= list[i].weight;
        if (x < 0)
            return &list[i];
    }
    return &list[count - 1];
}

static void seed_add_monthly(struct seed_profile *p, const char *merchant, const char *category,
                             int64_t cents, int day, enum seed_kind kind)
{
    if (p->monthly_count >= SEED_MONTHLY_MAX)
        return;
    p->monthly[p->monthly_count++] = (struct seed_monthly){merchant, category, cents, day, kind};
}

/* Draws the user's identity; always the first draws of the stream. */
static void seed_make_user(struct seed_rng *r, int index, struct seed_user *u)
{
    bool english = seed_rng_permille(r, 150);
    const char *first = english ? seed_pick(r, seed_first_en, SEED_COUNT(seed_first_en))
                                : seed_pick(r, seed_first_fr, SEED_COUNT(seed_first_fr));
    const char *last = english ? seed_pick(r, seed_last_en, SEED_COUNT(seed_last_en))
                               : seed_pick(r, seed_last_fr, SEED_COUNT(seed_last_fr));
    u->index = index;
    snprintf(u->name, sizeof(u->name), "%s %s", first, last);
    u->currency = "EUR";
    u->language = english ? "en" : "fr";
}

static void seed_make_profile(struct seed_rng *r, struct seed_profile *p)
{
    memset(p, 0, sizeof(*p));
    int salary_day = seed_rng_permille(r, 700) ? (int)seed_rng_range(r, 25, 28) : 1;
    p->monthly_salary = p->monthly_count;
    seed_add_monthly(p, seed_pick(r, seed_employers, SEED_COUNT(seed_employers)), "Revenus",
                     seed_rng_range(r, 180000, 420000), salary_day, SEED_SALARY);
    p->december_bonus = seed_rng_permille(r, 300);
    seed_add_monthly(p, seed_pick(r, seed_landlords, SEED_COUNT(seed_landlords)), "Logement",
                     -seed_rng_range(r, 55000, 140000), (int)seed_rng_range(r, 1, 5), SEED_RENT);
    const struct seed_merchant *phone = seed_pick_weighted(r, seed_phones, SEED_COUNT(seed_phones));
    seed_add_monthly(p, phone->name, "Abonnements", -phone->min_cents, (int)seed_rng_range(r, 1, 28), SEED_DEBIT);
    p->monthly_edf = p->monthly_count;
    seed_add_monthly(p, "EDF", "Abonnements", -seed_rng_range(r, 4500, 9000), (int)seed_rng_range(r, 1, 28),
                     SEED_DEBIT);
    if (seed_rng_permille(r, 600))
        seed_add_monthly(p, "Netflix", "Abonnements", -1349, (int)seed_rng_range(r, 1, 28), SEED_DEBIT);
    if (seed_rng_permille(r, 500))
        seed_add_monthly(p, "Spotify", "Abonnements", -1099, (int)seed_rng_range(r, 1, 28), SEED_DEBIT);
    p->commuter = seed_rng_permille(r, 600);
    if (p->commuter)
        seed_add_monthly(p, "Navigo", "Transport", -8640, (int)seed_rng_range(r, 1, 5), SEED_DEBIT);
    if (seed_rng_permille(r, 250))
        seed_add_monthly(p, "Basic-Fit", "Loisirs", -2999, (int)seed_rng_range(r, 1, 28), SEED_DEBIT);
    p->activity_permille = (int)seed_rng_range(r, 850, 1250);
    p->favourite_grocery = (int)seed_rng_range(r, 0, SEED_COUNT(seed_groceries) - 1);
}

/* ---- the day-by-day walk ---- */

static int seed_emit(struct seed_walk *w, int y, int m, int d, int64_t cents, const char *merchant,
                     const char *category, enum seed_kind kind)
{
    if (w->on_txn == NULL || cents == 0)
        return 0;
    char description[128] = "";
    switch (kind) {
    case SEED_CARD:   snprintf(description, sizeof(description), "CB %s %02d/%02d", merchant, d, m); break;
    case SEED_DEBIT:  snprintf(description, sizeof(description), "Prélèvement %s", merchant); break;
    case SEED_SALARY: snprintf(description, sizeof(description), "Virement salaire %02d/%04d", m, y); break;
    case SEED_RENT:   snprintf(description, sizeof(description), "Loyer %02d/%04d", m, y); break;
    case SEED_REFUND: snprintf(description, sizeof(description), "Remboursement %s", merchant); break;
    }
    struct seed_txn t = {
        .user_index = w->user_index, .year = y, .month = m, .day = d, .amount_cents = cents,
        .currency = "EUR", .merchant = merchant, .category = category, .description = description,
    };
    snprintf(t.external_id, sizeof(t.external_id), "seed-%d-%d", w->user_index, ++w->txn_count);
    return w->on_txn(w->arg, &t);
}

static void seed_schedule(struct seed_walk *w, int days, int64_t cents, const char *merchant,
                          const char *category)
{
    if (w->pending_count >= SEED_PENDING_MAX)
        return;                                   /* bounded: drop the refund */
    w->pending[w->pending_count++] = (struct seed_pending){days, cents, merchant, category};
}

/* Emits the refunds due today, in the order they were scheduled. */
static int seed_emit_pending(struct seed_walk *w, int days, int y, int m, int d)
{
    int kept = 0;
    int rc = 0;
    for (int i = 0; i < w->pending_count; i++) {
        struct seed_pending p = w->pending[i];
        if (p.days != days) {
            w->pending[kept++] = p;
            continue;
        }
        if (rc == 0)
            rc = seed_emit(w, y, m, d, p.cents, p.merchant, p.category, SEED_REFUND);
    }
    w->pending_count = kept;
    return rc;
}

static int seed_emit_monthly(struct seed_walk *w, int y, int m, int d)
{
    const struct seed_profile *p = &w->profile;
    for (int i = 0; i < p->monthly_count; i++) {
        const struct seed_monthly *e = &p->monthly[i];
        if (e->day != d)
            continue;
        int64_t cents = e->cents;
        if (i == p->monthly_edf && (m <= 2 || m >= 11))
            cents = cents * 14 / 10;              /* heating months */
        if (i == p->monthly_salary && m == 12 && p->december_bonus)
            cents *= 2;                           /* 13th month */
        int rc = seed_emit(w, y, m, d, cents, e->merchant, e->category, e->kind);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Follow-ups of a purchase: health insurance and shop refunds. */
static void seed_follow_up(struct seed_walk *w, int days, int habit, const struct seed_merchant *mer,
                           int64_t spent)
{
    struct seed_rng *r = &w->rng;
    if (habit == SEED_HABIT_HEALTH && strcmp(mer->name, "Pharmacie") != 0) {
        /* Assurance Maladie pays back 70% of the fee minus the 1 € contribution. */
        seed_schedule(w, days + (int)seed_rng_range(r, 3, 10), spent * 7 / 10 - 100, "CPAM", "Santé");
    } else if (habit == SEED_HABIT_HEALTH && seed_rng_permille(r, 500)) {
        seed_schedule(w, days + (int)seed_rng_range(r, 3, 10), spent * 65 / 100, "CPAM", "Santé");
    } else if (habit == SEED_HABIT_SHOPPING && seed_rng_permille(r, 70)) {
        seed_schedule(w, days + (int)seed_rng_range(r, 5, 25), spent, mer->name, "Shopping");
    }
}

/* Everyday spending of one day: for each habit, a binomial(3, rate/3)
 * number of purchases, plus now and then an outlier 5-10x the usual. */
static int seed_emit_habits(struct seed_walk *w, int days, int y, int m, int d, bool weekend)
{
    struct seed_rng *r = &w->rng;
    const struct seed_profile *p = &w->profile;
    for (int h = 0; h < SEED_COUNT(seed_habits); h++) {
        const struct seed_habit *habit = &seed_habits[h];
        int rate = weekend ? habit->weekend_permille : habit->weekday_permille;
        if (h == SEED_HABIT_TRANSPORT && !p->commuter)
            rate = rate * 13 / 10;
        rate = rate * p->activity_permille / 1000;
        for (int trial = 0; trial < 3; trial++) {
            if (!seed_rng_permille(r, rate / 3))
                continue;
            const struct seed_merchant *mer = seed_pick_weighted(r, habit->merchants, habit->merchant_count);
            if (habit->merchants == seed_groceries && seed_rng_permille(r, 500))
                mer = &seed_groceries[p->favourite_grocery];
            int64_t spent = seed_rng_skewed(r, mer->min_cents, mer->max_cents);
            int rc = seed_emit(w, y, m, d, -spent, mer->name, habit->category, SEED_CARD);
            if (rc != 0)
                return rc;
            seed_follow_up(w, days, h, mer, spent);
        }
    }
    if (seed_rng_permille(r, 8)) {
        static const int outlier_habits[] = {0, 2, SEED_HABIT_SHOPPING};
        const struct seed_habit *habit = &seed_habits[outlier_habits[seed_rng_range(r, 0, 2)]];
        const struct seed_merchant *mer = seed_pick_weighted(r, habit->merchants, habit->merchant_count);
        int64_t usual = (mer->min_cents + mer->max_cents) / 2;
        int64_t spent = usual * seed_rng_range(r, 50, 100) / 10 + seed_rng_range(r, 0, 99);
        return seed_emit(w, y, m, d, -spent, mer->name, habit->category, SEED_CARD);
    }
    return 0;
}

static int seed_walk_day(struct seed_walk *w, int days)
{
    int y, m, d;
    parse_civil_from_days(days, &y, &m, &d);
    int weekday = ((days % 7) + 11) % 7;          /* 0 = Sunday; 1970-01-01 was a Thursday */
    bool weekend = weekday == 0 || weekday == 6;
    int rc = seed_emit_monthly(w, y, m, d);
    if (rc == 0)
        rc = seed_emit_pending(w, days, y, m, d);
    if (rc == 0)
        rc = seed_emit_habits(w, days, y, m, d, weekend);
    return rc;
}

/* The window's first and last day (days since 1970-01-01), or -1. */
static int seed_window(const struct seed_opts *o, int *first, int *last)
{
    if (o->months < 1 || o->months > SEED_MONTHS_MAX ||
        o->end_day < 1 || o->end_day > parse_days_in_month(o->end_year, o->end_month) ||
        o->end_year > PARSE_YEAR_MAX)
        return -1;
    int total = o->end_year * 12 + (o->end_month - 1) - o->months;
    int start_year = total / 12, start_month = total % 12 + 1;
    if (start_year < PARSE_YEAR_MIN)
        return -1;
    int dim = parse_days_in_month(start_year, start_month);
    int start_day = o->end_day < dim ? o->end_day : dim;
    *first = parse_days_from_civil(start_year, start_month, start_day) + 1;
    *last = parse_days_from_civil(o->end_year, o->end_month, o->end_day);
    return 0;
}

static int seed_generate_user(const struct seed_opts *opts, int index, int first, int last,
                              seed_user_fn on_user, seed_txn_fn on_txn, void *arg)
{
    struct seed_walk w = {.user_index = index, .on_txn = on_txn, .arg = arg};
    struct seed_user u;
    seed_rng_init(&w.rng, opts->seed, (uint64_t)index);
    seed_make_user(&w.rng, index, &u);
    seed_make_profile(&w.rng, &w.profile);
    if (on_user != NULL) {
        int rc = on_user(arg, &u);
        if (rc != 0)
            return rc;
    }
    if (on_txn == NULL)
        return 0;
    for (int days = first; days <= last; days++) {
        int rc = seed_walk_day(&w, days);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int seed_generate(const struct seed_opts *opts, seed_user_fn on_user, seed_txn_fn on_txn, void *arg)
{
    int first, last;
    if (opts == NULL || opts->users < 0 || opts->users > SEED_USERS_MAX || opts->first_user < 0 ||
        opts->first_user > opts->users || seed_window(opts, &first, &last) != 0)
        return -1;
    for (int k = opts->first_user; k < opts->users; k++) {
        int rc = seed_generate_user(opts, k, first, last, on_user, on_txn, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}
