/* jsonx: see jsonx.h. */
#define _GNU_SOURCE
#include "jsonx.h"
#include "parse.h"
#include "request.h"

#include <ctype.h>
#include <json-c/json.h>
#include <string.h>

enum err jsonx_parse_body(struct request *req, struct json_object **out)
{
    *out = NULL;
    if (req->body == NULL || req->body_len == 0)
        return request_fail(req, ERR_BAD_REQUEST, "body", "request body is empty; JSON expected");
    struct json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return request_fail(req, ERR_INTERNAL, NULL, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *obj = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (obj == NULL || jerr != json_tokener_success) {
        if (obj != NULL)
            json_object_put(obj);
        return request_fail(req, ERR_BAD_REQUEST, "body", "malformed JSON at byte %zu: %s", end,
                            jerr == json_tokener_continue ? "unexpected end of input"
                                                          : json_tokener_error_desc(jerr));
    }
    for (size_t i = end; i < req->body_len; i++) {
        if (!isspace((unsigned char)req->body[i])) {
            json_object_put(obj);
            return request_fail(req, ERR_BAD_REQUEST, "body", "malformed JSON: trailing data at byte %zu", i);
        }
    }
    *out = obj;
    return ERR_NONE;
}

struct json_object *jsonx_money(int64_t cents)
{
    char text[32];
    parse_format_cents(cents, text);
    return json_object_new_double_s((double)cents / 100.0, text);
}

struct json_object *jsonx_string_or_null(const char *s)
{
    return s != NULL ? json_object_new_string(s) : NULL;
}

const char *jsonx_get_string(struct json_object *obj, const char *key, bool *wrong_type)
{
    struct json_object *v = NULL;
    *wrong_type = false;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return NULL;
    if (!json_object_is_type(v, json_type_string)) {
        *wrong_type = true;
        return NULL;
    }
    return json_object_get_string(v);
}

enum err jsonx_body_of(struct request *req, int json_type, struct json_object **out)
{
    *out = NULL;
    enum err e = request_require_content_type(req, "application/json");
    if (e == ERR_NONE)
        e = jsonx_parse_body(req, out);
    if (e != ERR_NONE)
        return e;
    if (!json_object_is_type(*out, (enum json_type)json_type)) {
        json_object_put(*out);
        *out = NULL;
        return request_fail(req, ERR_BAD_REQUEST, "body", "expected a JSON %s",
                            json_type == json_type_array ? "array" : "object");
    }
    return ERR_NONE;
}
