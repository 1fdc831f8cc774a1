/* opportunities_seed: demo opportunities for `tallyctl seed-demo`. The
 * first OPP_SEED_USERS users get preferences and a fixed set of recruiter
 * messages, written through the service (so each create and the
 * preferences queue their scoring jobs: the queue scores them once tallyd's
 * runner is up). Deterministic: the same users get the same rows. */
#include "opportunities_seed.h"
#include "opportunities.h"
#include "../core/log.h"
#include "../core/module.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#define OPP_SEED_USERS 3

static const char *const opp_seed_prefs[OPP_SEED_USERS] = {
    "{\"keywords\": {\"rust\": 15, \"postgresql\": 10, \"kafka\": 12}, \"avoid\": [\"php\"],"
    " \"seniority\": \"senior\", \"remote\": true, \"min_salary\": 60000, \"currency\": \"EUR\"}",
    "{\"keywords\": {\"data\": 20, \"python\": 15, \"sql\": 8}, \"avoid\": [\"stage\"],"
    " \"seniority\": \"junior\", \"remote\": null, \"min_salary\": 38000, \"currency\": \"EUR\"}",
    "{\"keywords\": {\"product\": 25, \"saas\": 10}, \"avoid\": [\"sales\", \"cold calling\"],"
    " \"seniority\": \"senior\", \"remote\": false, \"min_salary\": 70000, \"currency\": \"EUR\"}",
};

static const char *const opp_seed_rows[] = {
    "{\"title\": \"Senior Rust Engineer\", \"company\": \"Ferrous Systems\", \"recruiter\": \"Anna Weber\","
    " \"recruiter_email\": \"anna.weber@ferrous.example.com\", \"source\": \"linkedin\","
    " \"message\": \"Hello! We build PostgreSQL tooling in Rust, fully remote.\", \"location\": \"Berlin\","
    " \"remote\": true, \"salary_min\": 75000, \"salary_max\": 95000, \"currency\": \"EUR\", \"tags\": [\"rust\"]}",
    "{\"title\": \"Développeur PHP confirmé\", \"company\": \"WebAgence\", \"source\": \"email\","
    " \"message\": \"Poste sur site à Lyon, stack Symfony.\", \"location\": \"Lyon\", \"remote\": false,"
    " \"salary_min\": 42000, \"salary_max\": 50000}",
    "{\"title\": \"Data Analyst junior\", \"company\": \"Datalyse\", \"source\": \"linkedin\","
    " \"message\": \"Python, SQL et tableaux de bord. Télétravail partiel.\", \"location\": \"Paris\","
    " \"salary_min\": 38000, \"salary_max\": 44000, \"tags\": [\"data\"]}",
    "{\"title\": \"Staff Engineer, streaming\", \"company\": \"Streamly\", \"source\": \"other\","
    " \"message\": \"Kafka at scale, Rust and Go.\", \"remote\": true, \"salary_min\": 90000}",
    "{\"title\": \"Stagiaire data scientist\", \"company\": \"LabIA\", \"source\": \"email\","
    " \"message\": \"Stage de 6 mois en Python.\", \"location\": \"Grenoble\", \"remote\": false}",
    "{\"title\": \"Head of Product\", \"company\": \"CloudDesk SaaS\", \"source\": \"linkedin\","
    " \"message\": \"Lead our product team on site in Paris.\", \"location\": \"Paris\", \"remote\": false,"
    " \"salary_min\": 85000, \"salary_max\": 110000, \"status\": \"contacted\"}",
    "{\"title\": \"Business Developer\", \"company\": \"SellFast\", \"source\": \"email\","
    " \"message\": \"Sales role with cold calling targets.\", \"salary_min\": 35000}",
    "{\"title\": \"Backend engineer (PostgreSQL)\", \"company\": \"Ledgerly\", \"source\": \"manual\","
    " \"message\": \"Payments backend, SQL heavy, hybrid.\", \"location\": \"Nantes\","
    " \"salary_min\": 55000, \"salary_max\": 65000, \"status\": \"interviewing\"}",
};

int opportunities_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count,
                            FILE *out)
{
    (void)seed;
    struct opp_actor admin = {.admin = true};
    int n = user_count < OPP_SEED_USERS ? user_count : OPP_SEED_USERS;
    long created = 0;
    for (int u = 0; u < n; u++) {
        struct opp_error oe = {0};
        char *json = NULL;
        size_t len = 0;
        struct json_object *prefs = json_tokener_parse(opp_seed_prefs[u]);
        enum err e = opportunities_prefs_put(ctx, user_ids[u], prefs, &json, &len, &oe);
        json_object_put(prefs);
        free(json);
        if (e != ERR_NONE) {
            log_warn("seed: preferences of user %" PRId64 ": %s", user_ids[u], oe.message);
            return -1;
        }
        for (size_t i = 0; i < sizeof(opp_seed_rows) / sizeof(opp_seed_rows[0]); i++) {
            struct json_object *body = json_tokener_parse(opp_seed_rows[i]);
            json_object_object_add(body, "user_id", json_object_new_int64(user_ids[u]));
            json = NULL;
            e = opportunities_create(ctx, &admin, body, &json, &len, &oe);
            json_object_put(body);
            free(json);
            if (e != ERR_NONE) {
                log_warn("seed: opportunity %zu of user %" PRId64 ": %s", i, user_ids[u], oe.message);
                return -1;
            }
            created++;
        }
    }
    fprintf(out, "seeded %ld opportunities for %d users (scoring queued)\n", created, n);
    return 0;
}
