/* opportunities_prefs: a user's scoring preferences (keywords and their
 * weights, avoided words, seniority, remote, minimum salary): validation,
 * the canonical JSON, and the write that queues the rescoring of every
 * opportunity of the user in the same statement. */
#define _GNU_SOURCE
#include "opportunities.h"
#include "opportunities_fields.h"
#include "opportunities_internal.h"
#include "opportunities_score.h"
#include "../core/module.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- preferences ------------------------------------------------------------------- */

static const char *const opr_keys[] = {"keywords", "avoid", "seniority", "remote", "min_salary", "currency",
                                            NULL};
static const char *const opr_segments[] = {"intern", "junior", "senior", "default", NULL};

/* A keyword or avoided word: 1..64 bytes of text that has at least one word. */
static bool opr_word_ok(const char *s, size_t n)
{
    char norm[OPP_WORD_BYTES];
    return n > 0 && n < OPP_WORD_BYTES && opf_text_ok(s, n, OPP_WORD_BYTES - 1, false) &&
           opportunities_score_words(s, norm, sizeof(norm)) > 0;
}

/* Validates a preferences object into p. */
enum err opr_parse(struct json_object *o, struct opportunities_prefs *p, struct opp_error *oe)
{
    memset(p, 0, sizeof(*p));
    p->remote = -1;
    strcpy(p->currency, "EUR");
    if (!json_object_is_type(o, json_type_object))
        return opf_fail(oe, ERR_BAD_REQUEST, "body", "expected a JSON object");
    json_object_object_foreach(o, key, jv)
    {
        (void)jv;
        if (!opf_in(opr_keys, key))
            return opf_fail(oe, ERR_UNPROCESSABLE, NULL, "unknown field \"%.60s\"", key);
    }
    struct json_object *v;
    if (json_object_object_get_ex(o, "keywords", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_object) || json_object_object_length(v) > OPP_KEYWORDS_MAX)
            return opf_fail(oe, ERR_UNPROCESSABLE, "keywords",
                            "keywords must be an object of at most %d words and their weights", OPP_KEYWORDS_MAX);
        json_object_object_foreach(v, word, w)
        {
            int64_t weight = json_object_is_type(w, json_type_int) ? json_object_get_int64(w) : 0;
            if (!opr_word_ok(word, strlen(word)))
                return opf_fail(oe, ERR_UNPROCESSABLE, "keywords",
                                "keyword \"%.60s\" must be 1 to %d bytes holding a word", word, OPP_WORD_BYTES - 1);
            if (weight < 1 || weight > OPP_KEYWORD_WEIGHT_MAX)
                return opf_fail(oe, ERR_UNPROCESSABLE, "keywords", "the weight of \"%.60s\" must be an integer from 1 to %d",
                                word, OPP_KEYWORD_WEIGHT_MAX);
            strcpy(p->keywords[p->keyword_count].word, word);
            p->keywords[p->keyword_count++].weight = (int)weight;
        }
    }
    if (json_object_object_get_ex(o, "avoid", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > OPP_AVOID_MAX)
            return opf_fail(oe, ERR_UNPROCESSABLE, "avoid", "avoid must be an array of at most %d words", OPP_AVOID_MAX);
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *w = json_object_array_get_idx(v, i);
            const char *s = json_object_is_type(w, json_type_string) ? json_object_get_string(w) : NULL;
            if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(w) || !opr_word_ok(s, strlen(s)))
                return opf_fail(oe, ERR_UNPROCESSABLE, "avoid", "avoid[%zu] must be 1 to %d bytes holding a word", i,
                                OPP_WORD_BYTES - 1);
            strcpy(p->avoid[p->avoid_count++], s);
        }
    }
    if (json_object_object_get_ex(o, "seniority", &v) && v != NULL) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (s == NULL || !opf_in(opr_segments, s))
            return opf_fail(oe, ERR_UNPROCESSABLE, "seniority",
                            "seniority must be intern, junior, senior, default or null");
        strcpy(p->seniority, s);
    }
    if (json_object_object_get_ex(o, "remote", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_boolean))
            return opf_fail(oe, ERR_UNPROCESSABLE, "remote", "remote must be true, false or null");
        p->remote = json_object_get_boolean(v) ? 1 : 0;
    }
    if (json_object_object_get_ex(o, "min_salary", &v) && v != NULL) {
        int64_t s = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
        if (s < 0 || s > OPP_SALARY_MAX)
            return opf_fail(oe, ERR_UNPROCESSABLE, "min_salary", "min_salary must be an integer from 0 to %d, or null",
                            OPP_SALARY_MAX);
        p->has_min_salary = true;
        p->min_salary = s;
    }
    if (json_object_object_get_ex(o, "currency", &v) && v != NULL) {
        char *c = NULL;
        enum err e = opf_field_value(&opf_fields[OPF_F_CURRENCY], v, &c, oe);
        if (e != ERR_NONE)
            return e;
        strcpy(p->currency, c);
        free(c);
    }
    return ERR_NONE;
}

/* The canonical JSON of preferences (every key present). */
static struct json_object *opr_json(const struct opportunities_prefs *p)
{
    struct json_object *o = json_object_new_object(), *kw = json_object_new_object(), *avoid = json_object_new_array();
    for (int i = 0; i < p->keyword_count; i++)
        json_object_object_add(kw, p->keywords[i].word, json_object_new_int(p->keywords[i].weight));
    for (int i = 0; i < p->avoid_count; i++)
        json_object_array_add(avoid, json_object_new_string(p->avoid[i]));
    json_object_object_add(o, "keywords", kw);
    json_object_object_add(o, "avoid", avoid);
    json_object_object_add(o, "seniority", p->seniority[0] ? json_object_new_string(p->seniority) : NULL);
    json_object_object_add(o, "remote", p->remote < 0 ? NULL : json_object_new_boolean(p->remote));
    json_object_object_add(o, "min_salary", p->has_min_salary ? json_object_new_int64(p->min_salary) : NULL);
    json_object_object_add(o, "currency", json_object_new_string(p->currency));
    return o;
}

static const char OPR_PUT_SQL[] =
    "WITH p AS (INSERT INTO opportunity_preferences (user_id, prefs) SELECT $1::bigint, $2::jsonb"
    " WHERE EXISTS (SELECT 1 FROM users WHERE id = $1::bigint)"
    " ON CONFLICT (user_id) DO UPDATE SET prefs = EXCLUDED.prefs, rev = opportunity_preferences.rev + 1,"
    " updated_at = now() RETURNING user_id),"
    " j AS (INSERT INTO jobs (kind, payload) SELECT 'score_opportunities', jsonb_build_object('user_id', user_id)"
    " FROM p)"
    " SELECT user_id FROM p";

enum err opportunities_prefs_put(struct tally_ctx *ctx, int64_t user_id, struct json_object *body, char **json,
                                 size_t *len, struct opp_error *oe)
{
    struct opportunities_prefs *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ERR_INTERNAL;
    enum err e = opr_parse(body, p, oe);
    if (e != ERR_NONE) {
        free(p);
        return e;
    }
    struct json_object *o = opr_json(p);
    free(p);
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[2] = {uid, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)};
    db_result *r = db_query(ctx->db, &e, 0, OPR_PUT_SQL, 2, params);
    if (r == NULL) {
        json_object_put(o);
        return e;
    }
    int rows = db_rows(r);
    db_clear(r);
    if (rows == 0) {
        json_object_put(o);
        return opf_fail(oe, ERR_NOT_FOUND, "user_id", "user %" PRId64 " not found", user_id);
    }
    return opp_take_json(o, json, len);
}

enum err opportunities_prefs_get(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len)
{
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[1] = {uid};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT prefs::text FROM opportunity_preferences WHERE user_id = $1::bigint", 1, params);
    if (r == NULL)
        return e;
    struct opportunities_prefs *p = calloc(1, sizeof(*p));
    struct opp_error oe;
    if (p == NULL) {
        db_clear(r);
        return ERR_INTERNAL;
    }
    struct json_object *stored = db_rows(r) > 0 ? json_tokener_parse(db_value(r, 0, 0)) : json_object_new_object();
    db_clear(r);
    e = opr_parse(stored, p, &oe);
    json_object_put(stored);
    struct json_object *o = e == ERR_NONE ? opr_json(p) : NULL;
    free(p);
    if (o == NULL)
        return ERR_INTERNAL;
    return opp_take_json(o, json, len);
}
