/* opportunities_fields: see opportunities_fields.h. Owns the field table,
 * the value lists (sources, statuses, tiers) and every check of a client's
 * opportunity body; nothing here reads PostgreSQL or memcached. */
#define _GNU_SOURCE
#include "opportunities_fields.h"
#include "../core/text.h"
#include "../store/db.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const opf_sources[] = {"linkedin", "email", "manual", "other", NULL};
const char *const opf_statuses[] = {"new", "contacted", "interviewing", "offer", "rejected", "archived", NULL};
const char *const opf_tiers[] = {"A", "B", "C", NULL};

const struct opf_field opf_fields[OPF_FIELDS] = {
    [OPF_F_TITLE] = {"title", OPF_K_TEXT, OPP_TITLE_CHARS, false, true, NULL, NULL},
    [OPF_F_COMPANY] = {"company", OPF_K_TEXT, OPP_NAME_CHARS, true, true, NULL, NULL},
    [OPF_F_RECRUITER] = {"recruiter", OPF_K_TEXT, OPP_NAME_CHARS, true, false, NULL, NULL},
    [OPF_F_EMAIL] = {"recruiter_email", OPF_K_EMAIL, OPP_EMAIL_BYTES, true, false, NULL, NULL},
    [OPF_F_SOURCE] = {"source", OPF_K_ENUM, 0, false, false, opf_sources, "manual"},
    [OPF_F_MESSAGE] = {"message", OPF_K_LONGTEXT, OPP_MESSAGE_CHARS, true, true, NULL, NULL},
    [OPF_F_LOCATION] = {"location", OPF_K_TEXT, OPP_NAME_CHARS, true, false, NULL, NULL},
    [OPF_F_REMOTE] = {"remote", OPF_K_BOOL, 0, true, true, NULL, NULL},
    [OPF_F_SALARY_MIN] = {"salary_min", OPF_K_INT, 0, true, true, NULL, NULL},
    [OPF_F_SALARY_MAX] = {"salary_max", OPF_K_INT, 0, true, true, NULL, NULL},
    [OPF_F_CURRENCY] = {"currency", OPF_K_CURRENCY, 0, false, true, NULL, "EUR"},
    [OPF_F_STATUS] = {"status", OPF_K_ENUM, 0, false, false, opf_statuses, "new"},
    [OPF_F_TAGS] = {"tags", OPF_K_TAGS, 0, false, false, NULL, "[]"},
};

/* Fields a client may not write. */
static const char *const opf_read_only[] = {"id", "score", "tier", "score_details", "created_at", "updated_at",
                                            "scored_at", NULL};

void opf_vals_free(struct opf_vals *vals)
{
    for (int i = 0; i < OPF_FIELDS; i++)
        free(vals->v[i]);
    memset(vals, 0, sizeof(*vals));
}

enum err opf_fail(struct opp_error *oe, enum err e, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(oe->message, sizeof(oe->message), fmt, ap);
    va_end(ap);
    oe->field = field;
    return e;
}

bool opf_in(const char *const *list, const char *s)
{
    for (int i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* Characters (code points) of valid UTF-8. */
static size_t opf_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

/* 1..max_chars characters of UTF-8 without NUL or control characters
 * (multi_line also allows \n, \r and \t), not only spaces. */
bool opf_text_ok(const char *s, size_t n, int max_chars, bool multi_line)
{
    if (n == 0 || !text_is_utf8(s, n) || opf_chars(s, n) > (size_t)max_chars)
        return false;
    bool visible = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0x7f || (c < 0x20 && !(multi_line && (c == '\n' || c == '\r' || c == '\t'))))
            return false;
        visible = visible || c > 0x20;
    }
    return visible;
}

/* local@domain: local 1..64 bytes of printable ASCII other than space, "(),:;<>@[\]
 * and no leading, trailing or double dot; domain: two or more labels of
 * letters, digits and inner hyphens, 1..63 bytes each; a last label of 2+ letters. */
static bool opf_email_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (at == NULL || n > OPP_EMAIL_BYTES)
        return false;
    size_t local = (size_t)(at - s), dom = n - local - 1;
    if (local == 0 || local > 64 || dom < 4 || s[0] == '.' || at[-1] == '.')
        return false;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>@[\\]", c) != NULL || (c == '.' && s[i + 1] == '.'))
            return false;
    }
    const char *d = at + 1;
    size_t label = 0, labels = 0, last_start = 0;
    for (size_t i = 0; i <= dom; i++) {
        unsigned char c = i < dom ? (unsigned char)d[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || d[i - 1] == '-')
                return false;
            labels++;
            label = 0;
            if (i < dom)
                last_start = i + 1;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label > 0))
            return false;
        label++;
    }
    if (labels < 2 || dom - last_start < 2)
        return false;
    for (size_t i = last_start; i < dom; i++)        /* top-level domain: letters only */
        if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z')))
            return false;
    return true;
}

/* Validates one field's JSON value (NULL = JSON null) into *out (malloc'd, or
 * NULL for SQL NULL). */
enum err opf_field_value(const struct opf_field *f, struct json_object *jv, char **out,
                                struct opp_error *oe)
{
    *out = NULL;
    if (jv == NULL) {
        if (f->nullable)
            return ERR_NONE;
        return opf_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must not be null", f->name);
    }
    char num[32];
    switch (f->kind) {
    case OPF_K_TEXT:
    case OPF_K_LONGTEXT: {
        if (!json_object_is_type(jv, json_type_string))
            return opf_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be a string", f->name);
        const char *s = json_object_get_string(jv);
        size_t n = (size_t)json_object_get_string_len(jv);
        if (strlen(s) != n || !opf_text_ok(s, n, f->max_chars, f->kind == OPF_K_LONGTEXT))
            return opf_fail(oe, ERR_UNPROCESSABLE, f->name,
                            "%s must be 1 to %d characters of UTF-8 text, not only spaces, without control characters", f->name,
                            f->max_chars);
        *out = strndup(s, n);
        break;
    }
    case OPF_K_EMAIL: {
        const char *s = json_object_is_type(jv, json_type_string) ? json_object_get_string(jv) : NULL;
        if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(jv) || !opf_email_ok(s, strlen(s)))
            return opf_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be an e-mail address (name@example.com)",
                            f->name);
        *out = strdup(s);
        break;
    }
    case OPF_K_ENUM: {
        const char *s = json_object_is_type(jv, json_type_string) ? json_object_get_string(jv) : NULL;
        if (s == NULL || !opf_in(f->values, s)) {
            char list[128] = "";
            for (int i = 0; f->values[i] != NULL; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", f->values[i]);
            return opf_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be one of %s", f->name, list);
        }
        *out = strdup(s);
        break;
    }
    case OPF_K_BOOL:
        if (!json_object_is_type(jv, json_type_boolean))
            return opf_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be true, false or null", f->name);
        *out = strdup(json_object_get_boolean(jv) ? "t" : "f");
        break;
    case OPF_K_INT: {
        int64_t v = json_object_is_type(jv, json_type_int) ? json_object_get_int64(jv) : -1;
        if (v < 0 || v > OPP_SALARY_MAX)
            return opf_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be an integer from 0 to %d, or null", f->name,
                            OPP_SALARY_MAX);
        db_param_i64(num, v);
        *out = strdup(num);
        break;
    }
    case OPF_K_CURRENCY: {
        const char *s = json_object_is_type(jv, json_type_string) ? json_object_get_string(jv) : NULL;
        if (s == NULL || strlen(s) != 3 || !(s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
                                             s[2] >= 'A' && s[2] <= 'Z'))
            return opf_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be a 3-letter ISO 4217 code (EUR)", f->name);
        *out = strdup(s);
        break;
    }
    case OPF_K_TAGS: {
        if (!json_object_is_type(jv, json_type_array) || json_object_array_length(jv) > OPP_TAGS_MAX)
            return opf_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be an array of at most %d strings", f->name,
                            OPP_TAGS_MAX);
        for (size_t i = 0; i < json_object_array_length(jv); i++) {
            struct json_object *t = json_object_array_get_idx(jv, i);
            const char *s = json_object_is_type(t, json_type_string) ? json_object_get_string(t) : NULL;
            if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(t) ||
                !opf_text_ok(s, strlen(s), OPP_TAG_CHARS, false))
                return opf_fail(oe, ERR_UNPROCESSABLE, f->name,
                                "tags[%zu] must be a string of 1 to %d characters without control characters", i,
                                OPP_TAG_CHARS);
        }
        *out = strdup(json_object_to_json_string_ext(jv, JSON_C_TO_STRING_PLAIN));
        break;
    }
    }
    return *out != NULL ? ERR_NONE : ERR_INTERNAL;
}

/* Reads a JSON object body into vals (only the fields present are set).
 * *user_id_field: the "user_id" member (NULL if absent), allowed on create. */
enum err opf_parse_body(struct json_object *body, bool create, struct opf_vals *vals,
                               struct json_object **user_id_field, struct opp_error *oe)
{
    *user_id_field = NULL;
    json_object_object_foreach(body, key, jv)
    {
        for (int r = 0; opf_read_only[r] != NULL; r++)
            if (strcmp(opf_read_only[r], key) == 0)
                return opf_fail(oe, ERR_UNPROCESSABLE, opf_read_only[r], "%s is read-only", key);
        if (strcmp(key, "user_id") == 0) {
            if (!create)
                return opf_fail(oe, ERR_UNPROCESSABLE, "user_id", "user_id cannot be changed");
            *user_id_field = jv;
            continue;
        }
        int i = 0;
        while (i < OPF_FIELDS && strcmp(opf_fields[i].name, key) != 0)
            i++;
        if (i == OPF_FIELDS)
            return opf_fail(oe, ERR_UNPROCESSABLE, NULL, "unknown field \"%.60s\"", key);
        enum err e = opf_field_value(&opf_fields[i], jv, &vals->v[i], oe);
        if (e != ERR_NONE)
            return e;
        vals->set[i] = true;
    }
    return ERR_NONE;
}

/* The cross-field rules on the complete values. */
enum err opf_check_whole(const struct opf_vals *vals, struct opp_error *oe)
{
    if (vals->v[OPF_F_TITLE] == NULL)
        return opf_fail(oe, ERR_UNPROCESSABLE, "title", "title is required");
    if (vals->v[OPF_F_SALARY_MIN] != NULL && vals->v[OPF_F_SALARY_MAX] != NULL &&
        strtoll(vals->v[OPF_F_SALARY_MIN], NULL, 10) > strtoll(vals->v[OPF_F_SALARY_MAX], NULL, 10))
        return opf_fail(oe, ERR_UNPROCESSABLE, "salary_min", "salary_min must not be greater than salary_max");
    return ERR_NONE;
}

