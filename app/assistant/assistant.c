/* assistant: the chat endpoint. See assistant.h and docs/assistant.md.
 *
 * Flow: validate the body -> load the user's language, merchants and
 * categories (for entity matching) -> understand the message (period,
 * category, merchant, intent) -> run the searches for the intent -> build
 * KPI cards, one chart, insights and the text -> store both messages ->
 * answer. The searches and charts are assistant_answer.c; this file holds
 * the request, the vocabulary, the conversation and the storage.
 * Understanding never fails: what it cannot place becomes
 * clarification.needed. Only a malformed request is a 4xx. */
#define _GNU_SOURCE
#include "assistant.h"
#include "../core/clock.h"
#include "../core/module.h"
#include "assistant_answer.h"
#include "assistant_nlu.h"
#include "../modules/profiles.h"
#include "../modules/auth.h"
#include "../core/arena.h"
#include "../core/jsonx.h"
#include "../core/limits.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/text.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ASSISTANT_MESSAGE_MAX_BYTES   4000

/* ---- request, vocabulary, storage --------------------------------------- */

/* The user's merchants and categories (most used first) for matching, and
 * the user's currency and language. */
static enum err assistant_vocabulary(struct answer *c, struct nlu_vocab *v, char language[3])
{
    enum err e;
    const char *params[1] = {c->uid_text};
    db_result *r = db_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT 'u', currency, language, 0 FROM users WHERE id = $1"
                            " UNION ALL (SELECT 'm', merchant_key, min(merchant), count(*) FROM transactions"
                            "  WHERE user_id = $1 AND merchant_key IS NOT NULL GROUP BY merchant_key"
                            "  ORDER BY count(*) DESC LIMIT 300)"
                            " UNION ALL (SELECT 'c', category_key, min(category), count(*) FROM transactions"
                            "  WHERE user_id = $1 AND category_key IS NOT NULL GROUP BY category_key"
                            "  ORDER BY count(*) DESC LIMIT 100)",
                            1, params);
    if (r == NULL)
        return e;
    int rows = db_rows(r);
    if (rows == 0 || db_value(r, 0, 0)[0] != 'u') {
        db_clear(r);
        return request_fail(c->req, ERR_NOT_FOUND, "user_id", "user %" PRId64 " not found", c->user_id);
    }
    snprintf(c->currency, sizeof(c->currency), "%s", db_value(r, 0, 1));
    snprintf(language, 3, "%s", db_value(r, 0, 2));
    struct arena *a = c->req->arena;
    v->merchant_keys = arena_alloc(a, sizeof(char *) * (size_t)rows);
    v->merchant_names = arena_alloc(a, sizeof(char *) * (size_t)rows);
    v->category_keys = arena_alloc(a, sizeof(char *) * (size_t)rows);
    v->category_names = arena_alloc(a, sizeof(char *) * (size_t)rows);
    v->merchant_count = v->category_count = 0;
    if (!v->merchant_keys || !v->merchant_names || !v->category_keys || !v->category_names) {
        db_clear(r);
        return request_fail(c->req, ERR_INTERNAL, NULL, "out of memory");
    }
    for (int i = 1; i < rows; i++) {
        const char *key = arena_strndup(a, db_value(r, i, 1), strlen(db_value(r, i, 1)));
        const char *name = arena_strndup(a, db_value(r, i, 2), strlen(db_value(r, i, 2)));
        if (db_value(r, i, 0)[0] == 'm') {
            v->merchant_keys[v->merchant_count] = key;
            v->merchant_names[v->merchant_count++] = name;
        } else {
            v->category_keys[v->category_count] = key;
            v->category_names[v->category_count++] = name;
        }
    }
    db_clear(r);
    return ERR_NONE;
}

static void assistant_new_conversation_id(char out[40])
{
    unsigned char raw[12];
    arc4random_buf(raw, sizeof(raw));
    out[0] = 'c';
    out[1] = '-';
    text_hex(raw, sizeof(raw), out + 2);
}

static void assistant_copy_entity(struct json_object *ent, const char *name, char *out, size_t cap)
{
    struct json_object *v = json_object_object_get(ent, name);
    if (v != NULL && json_object_is_type(v, json_type_string))
        snprintf(out, cap, "%s", json_object_get_string(v));
}

/* The stored entities of a previous question back into an nlu_result. */
static bool assistant_previous_from(const char *intent, const char *entities_json, struct nlu_result *prev)
{
    memset(prev, 0, sizeof(*prev));
    prev->intent = nlu_intent_name(intent);
    struct json_object *ent = json_tokener_parse(entities_json);
    if (prev->intent == NULL || ent == NULL) {
        json_object_put(ent);
        return false;
    }
    struct json_object *period = json_object_object_get(ent, "period");
    if (period != NULL) {
        assistant_copy_entity(period, "from", prev->from, sizeof(prev->from));
        assistant_copy_entity(period, "to", prev->to, sizeof(prev->to));
        assistant_copy_entity(period, "label", prev->period_label, sizeof(prev->period_label));
        prev->period_found = json_object_get_boolean(json_object_object_get(period, "explicit"));
        prev->period_unrecognised = !json_object_get_boolean(json_object_object_get(period, "recognised")) &&
                                    json_object_object_get(period, "recognised") != NULL;
        prev->period_invalid = strcmp(prev->period_label, "invalid_date") == 0;
    }
    assistant_copy_entity(ent, "category", prev->category, sizeof(prev->category));
    assistant_copy_entity(ent, "merchant", prev->merchant, sizeof(prev->merchant));
    assistant_copy_entity(ent, "unknown_merchant", prev->merchant_phrase, sizeof(prev->merchant_phrase));
    assistant_copy_entity(ent, "unknown_category", prev->unknown_category, sizeof(prev->unknown_category));
    text_fold(prev->category, strlen(prev->category), prev->category_key, sizeof(prev->category_key));
    text_fold(prev->merchant, strlen(prev->merchant), prev->merchant_key, sizeof(prev->merchant_key));
    struct json_object *scope = json_object_object_get(ent, "scope");
    prev->spending_only = scope == NULL || strcmp(json_object_get_string(scope), "all") != 0;
    prev->confidence = 0.5;
    json_object_put(ent);
    return true;
}

/* A given conversation id must exist and belong to the user; its last
 * understood question (if any) goes to *prev for follow-ups. */
static enum err assistant_check_conversation(struct answer *c, const char *id, struct nlu_result *prev, bool *have_prev)
{
    const char *params[2] = {id, c->uid_text};
    enum err e;
    db_result *r = db_query(c->req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT m.intent, m.entities::text FROM conversations c"
                            " LEFT JOIN LATERAL (SELECT intent, entities FROM conversation_messages"
                            "  WHERE conversation_id = c.id AND role = 'user' AND intent IS NOT NULL"
                            "  AND intent <> 'clarification.needed' AND entities IS NOT NULL"
                            "  ORDER BY id DESC LIMIT 1) m ON true"
                            " WHERE c.id = $1 AND c.user_id = $2",
                            2, params);
    if (r == NULL)
        return e;
    int rows = db_rows(r);
    *have_prev = rows > 0 && !db_is_null(r, 0, 0) && assistant_previous_from(db_value(r, 0, 0), db_value(r, 0, 1), prev);
    db_clear(r);
    if (rows == 0)
        return request_fail(c->req, ERR_NOT_FOUND, "conversation_id", "conversation %s not found for this user", id);
    return ERR_NONE;
}

static enum err assistant_store(struct answer *c, const char *conversation_id, const char *message,
                           struct json_object *entities, double ms)
{
    char ms_text[32];
    snprintf(ms_text, sizeof(ms_text), "%.3f", ms);
    const char *params[7] = {conversation_id, c->uid_text, message, c->nlu.intent,
                             json_object_to_json_string_ext(entities, JSON_C_TO_STRING_PLAIN), c->text, ms_text};
    return db_exec(c->req->ctx->db, 0,
                   "WITH conv AS (INSERT INTO conversations (id, user_id) VALUES ($1, $2::bigint)"
                   "  ON CONFLICT (id) DO UPDATE SET updated_at = now() RETURNING id)"
                   " INSERT INTO conversation_messages (conversation_id, role, content, intent, entities,"
                   "  processing_time_ms)"
                   " SELECT conv.id, v.role, v.content, v.intent, v.entities::jsonb, v.ms FROM conv,"
                   " (VALUES (1, 'user', $3, $4, $5, NULL::double precision),"
                   "         (2, 'assistant', $6, NULL, NULL, $7::double precision))"
                   "   AS v(n, role, content, intent, entities, ms) ORDER BY v.n",
                   7, params);
}

static struct json_object *assistant_entities_json(const struct answer *c)
{
    struct json_object *ent = json_object_new_object();
    struct json_object *period = NULL;
    if (c->nlu.from[0] || c->nlu.period_invalid || c->nlu.period_unrecognised) {
        period = json_object_new_object();
        json_object_object_add(period, "from", c->nlu.from[0] ? json_object_new_string(c->nlu.from) : NULL);
        json_object_object_add(period, "to", c->nlu.to[0] ? json_object_new_string(c->nlu.to) : NULL);
        json_object_object_add(period, "label", json_object_new_string(c->nlu.period_label));
        json_object_object_add(period, "explicit", json_object_new_boolean(c->nlu.period_found || c->nlu.period_invalid ||
                                                                          c->nlu.period_unrecognised));
        json_object_object_add(period, "recognised", json_object_new_boolean(!c->nlu.period_unrecognised));
    }
    json_object_object_add(ent, "period", period);
    json_object_object_add(ent, "merchant", c->nlu.merchant[0] ? json_object_new_string(c->nlu.merchant) : NULL);
    json_object_object_add(ent, "category", c->nlu.category[0] ? json_object_new_string(c->nlu.category) : NULL);
    if (c->nlu.merchant_phrase[0] && !c->nlu.merchant[0])
        json_object_object_add(ent, "unknown_merchant", json_object_new_string(c->nlu.merchant_phrase));
    if (c->nlu.unknown_category[0] && !c->nlu.category[0])
        json_object_object_add(ent, "unknown_category", json_object_new_string(c->nlu.unknown_category));
    if (c->merchants_counted != NULL)
        json_object_object_add(ent, "merchants_counted", json_object_get(c->merchants_counted));
    if (c->nlu.against_from[0] && strcmp(c->nlu.intent, "analytics.comparison") == 0) {
        struct json_object *cmp = json_object_new_object();
        json_object_object_add(cmp, "from", json_object_new_string(c->nlu.against_from));
        json_object_object_add(cmp, "to", json_object_new_string(c->nlu.against_to));
        json_object_object_add(cmp, "basis", json_object_new_string(c->nlu.compare_basis));
        json_object_object_add(ent, "compared_with", cmp);
    }
    json_object_object_add(ent, "scope", json_object_new_string(c->nlu.spending_only ? "spending" : "all"));
    json_object_object_add(ent, "follow_up", json_object_new_boolean(c->nlu.followup));
    return ent;
}

static enum err assistant_parse_body(struct request *req, struct json_object *body, int64_t *user_id,
                                const char **message, const char **conversation_id)
{
    if (!json_object_is_type(body, json_type_object))
        return request_fail(req, ERR_BAD_REQUEST, "body", "expected a JSON object");
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(body, "user_id", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) < 1)
        return request_fail(req, ERR_UNPROCESSABLE, "user_id", "user_id is required (a positive integer)");
    *user_id = json_object_get_int64(v);
    bool wrong;
    *message = jsonx_get_string(body, "message", &wrong);
    if (*message == NULL)
        return request_fail(req, ERR_UNPROCESSABLE, "message", "message is required (a string)");
    size_t len = strlen(*message);
    if (len > ASSISTANT_MESSAGE_MAX_BYTES)
        return request_fail(req, ERR_UNPROCESSABLE, "message", "message is longer than %d bytes",
                            ASSISTANT_MESSAGE_MAX_BYTES);
    if (!text_is_utf8(*message, len))
        return request_fail(req, ERR_UNPROCESSABLE, "message", "message is not valid UTF-8");
    *conversation_id = jsonx_get_string(body, "conversation_id", &wrong);
    if (wrong || (*conversation_id != NULL && (strlen(*conversation_id) == 0 || strlen(*conversation_id) > 64)))
        return request_fail(req, ERR_UNPROCESSABLE, "conversation_id", "conversation_id must be a string of 1 to 64 bytes");
    return ERR_NONE;
}

static int assistant_chat(struct request *req, struct response *res)
{
    uint64_t started = clock_us();
    enum err e = request_require_content_type(req, "application/json");
    struct json_object *body = NULL;
    if (e == ERR_NONE)
        e = jsonx_parse_body(req, &body);
    if (e != ERR_NONE)
        return e;
    struct answer c;
    memset(&c, 0, sizeof(c));
    c.req = req;
    const char *message = NULL, *conversation_id = NULL;
    char new_id[40];
    struct nlu_vocab vocab;
    char language[3];
    int y, m, d;
    int rc = assistant_parse_body(req, body, &c.user_id, &message, &conversation_id);
    if (rc == ERR_NONE)
        rc = auth_require_user(req, c.user_id);
    if (rc == ERR_NONE)
        rc = request_today(req, &y, &m, &d);
    if (rc != ERR_NONE)
        goto out;
    c.uid_text = arena_sprintf(req->arena, "%" PRId64, c.user_id);
    if ((rc = assistant_vocabulary(&c, &vocab, language)))
        goto out;
    struct nlu_result prev;
    bool have_prev = false;
    if (conversation_id != NULL && (rc = assistant_check_conversation(&c, conversation_id, &prev, &have_prev)))
        goto out;
    if (conversation_id == NULL) {
        assistant_new_conversation_id(new_id);
        conversation_id = new_id;
    }
    c.vocab = &vocab;
    nlu_understand(message, strlen(message), y, m, d, &vocab, language, have_prev ? &prev : NULL, &c.nlu);
    c.spending_only = c.nlu.spending_only;
    c.visualizations = json_object_new_array();
    c.insights = json_object_new_array();
    if ((rc = answer_build(&c)))
        goto out_json;
    double ms = (double)(clock_us() - started) / 1000.0;
    struct json_object *entities = assistant_entities_json(&c);
    if ((rc = assistant_store(&c, conversation_id, message, entities, ms))) {
        json_object_put(entities);
        goto out_json;
    }
    profiles_record_query(req->ctx, c.user_id, c.nlu.intent);   /* best effort: logged on failure */
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "conversation_id", json_object_new_string(conversation_id));
    struct json_object *intent = json_object_new_object();
    const char *dot = strchr(c.nlu.intent, '.');
    json_object_object_add(intent, "group", json_object_new_string_len(c.nlu.intent, (int)(dot - c.nlu.intent)));
    json_object_object_add(intent, "subtype", json_object_new_string(dot + 1));
    char conf[16];
    snprintf(conf, sizeof(conf), "%.2f", c.nlu.confidence);
    json_object_object_add(intent, "confidence", json_object_new_double_s(c.nlu.confidence, conf));
    json_object_object_add(intent, "name", json_object_new_string(c.nlu.intent));
    json_object_object_add(o, "intent", intent);
    json_object_object_add(o, "entities", entities);
    json_object_object_add(o, "language", json_object_new_string(c.nlu.lang));
    json_object_object_add(o, "response_text", json_object_new_string(c.text));
    json_object_object_add(o, "insights", c.insights);
    json_object_object_add(o, "data_visualizations", c.visualizations);
    c.insights = c.visualizations = NULL;
    ms = (double)(clock_us() - started) / 1000.0;
    char ms_text[32];
    snprintf(ms_text, sizeof(ms_text), "%.3f", ms);
    json_object_object_add(o, "processing_time_ms", json_object_new_double_s(ms, ms_text));
    rc = response_json(res, 200, o);
out_json:
    json_object_put(c.insights);
    json_object_put(c.visualizations);
    json_object_put(c.merchants_counted);
out:
    json_object_put(body);
    return rc;
}

static const struct route assistant_routes[] = {
    {"POST", "/api/v1/conversation/chat", assistant_chat, ROUTE_USER},
};

const struct tally_module assistant_module = {
    .name = "assistant",
    .routes = assistant_routes,
    .route_count = sizeof(assistant_routes) / sizeof(assistant_routes[0]),
};
