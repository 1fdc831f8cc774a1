/* jsonx: see jsonx.h. */
#define _GNU_SOURCE
#include "jsonx.h"
#include "arena.h"
#include "parse.h"
#include "request.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scan: what json-c would change silently --------------------------------
 * The text is known to be well-formed (json-c parsed it), so the walk only
 * tracks where it is (a frame per open object or array) and decodes
 * strings. An object's decoded keys are kept in one growing buffer; at its
 * '}' they are sorted and compared (O(n log n): a body of many keys costs no
 * quadratic time). */

#define JSONX_DEPTH 64

struct jsonx_key {
    size_t off, len;
};

struct jsonx_frame {
    bool object;
    size_t index;                        /* array: next element's index */
    size_t first_key;                    /* object: its first entry in keys */
    size_t kbuf_start;                   /* object: the key buffer's length at its '{' */
    size_t key_off, key_len;             /* object: the member being read (in the key buffer) */
};

struct jsonx_walk {
    const char *s;
    size_t n, pos;
    struct jsonx_frame frames[JSONX_DEPTH];
    int depth;
    char *kbuf;                          /* decoded keys */
    size_t kbuf_len, kbuf_cap;
    struct jsonx_key *keys;
    size_t nkeys, keys_cap;
    struct jsonx_problem *p;
};

/* "a.b", "[2].c": the path to the current value (bounded; "..." when cut). */
static void jsonx_path(struct jsonx_walk *w, int upto, const char *last, size_t last_len)
{
    char *out = w->p->field;
    size_t cap = sizeof(w->p->field), len = 0;
    bool cut = false;
    out[0] = '\0';
    for (int i = 0; i < upto && !cut; i++) {
        struct jsonx_frame *f = &w->frames[i];
        char piece[32];
        const char *src = piece;
        size_t plen;
        bool dot = len > 0;
        if (f->object) {
            src = i == upto - 1 && last != NULL ? last : w->kbuf + f->key_off;
            plen = i == upto - 1 && last != NULL ? last_len : f->key_len;
        } else {
            plen = (size_t)snprintf(piece, sizeof(piece), "[%zu]", f->index);
            dot = false;
        }
        if (len + (dot ? 1 : 0) + plen + 4 > cap) {
            cut = true;
            break;
        }
        if (dot)
            out[len++] = '.';
        memcpy(out + len, src, plen);
        len += plen;
        out[len] = '\0';
    }
    if (cut)
        memcpy(out + (len + 4 <= cap ? len : cap - 4), "...", 4);
    if (out[0] == '\0')
        snprintf(out, cap, "body");
}

static int jsonx_fail(struct jsonx_walk *w, enum err e, const char *what, bool at_key, const char *key,
                      size_t key_len)
{
    w->p->err = e;
    w->p->what = what;
    jsonx_path(w, w->depth, at_key ? key : NULL, key_len);
    return -1;
}

static bool jsonx_forbidden(uint32_t cp)
{
    return cp == 0 || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

static int jsonx_hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* Decodes one raw UTF-8 sequence at s (n bytes left); 0 if not valid UTF-8
 * (left to the handlers' own checks). */
static size_t jsonx_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t need = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (need == 0 || need > n || s[0] > 0xF4)
        return 0;
    uint32_t v = s[0] & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return need;
}

static bool jsonx_keep(struct jsonx_walk *w, const char *bytes, size_t len)
{
    if (w->kbuf_len + len + 1 > w->kbuf_cap) {
        size_t cap = (w->kbuf_len + len + 1) * 2;
        char *nb = realloc(w->kbuf, cap);
        if (nb == NULL)
            return false;
        w->kbuf = nb;
        w->kbuf_cap = cap;
    }
    memcpy(w->kbuf + w->kbuf_len, bytes, len);
    w->kbuf_len += len;
    return true;
}

/* A problem in the string being read: a key is named by what was decoded of it. */
static int jsonx_bad_string(struct jsonx_walk *w, bool as_key, size_t start, const char *what)
{
    if (as_key)
        w->frames[w->depth - 1].key_len = w->kbuf_len - start;
    return jsonx_fail(w, ERR_UNPROCESSABLE, what, false, NULL, 0);
}

/* A string at w->pos (the opening quote). Checks it; a key (as_key) is
 * also decoded into the key buffer at *off, *len. 0, -1 (problem), -2 (memory). */
static int jsonx_string(struct jsonx_walk *w, bool as_key, size_t *off, size_t *len)
{
    const char *s = w->s;
    size_t i = w->pos + 1, start = w->kbuf_len;
    while (i < w->n && s[i] != '"') {
        uint32_t cp;
        char enc[4];
        size_t elen = 0;
        if (s[i] == '\\') {
            char c = i + 1 < w->n ? s[i + 1] : '\0';
            if (c != 'u') {
                static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
                const char *k = strchr(from, c);
                enc[0] = k != NULL && c != '\0' ? to[k - from] : c;
                elen = 1;
                i += 2;
            } else {
                if (i + 6 > w->n || jsonx_hex4(s + i + 2, &cp) != 0)
                    return -1;           /* json-c accepted it: cannot happen */
                i += 6;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (i + 6 <= w->n && s[i] == '\\' && s[i + 1] == 'u' && jsonx_hex4(s + i + 2, &lo) == 0 &&
                        lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    } else
                        return jsonx_bad_string(w, as_key, start, "holds a lone surrogate (\\uD800-\\uDBFF without its pair)");
                } else if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return jsonx_bad_string(w, as_key, start, "holds a lone surrogate (\\uDC00-\\uDFFF without its pair)");
                if (jsonx_forbidden(cp))
                    return jsonx_bad_string(w, as_key, start, cp == 0 ? "holds a NUL character (U+0000)"
                                                                      : "holds a Unicode noncharacter");
                if (cp < 0x80) { enc[0] = (char)cp; elen = 1; }
                else if (cp < 0x800) { enc[0] = (char)(0xC0 | (cp >> 6)); enc[1] = (char)(0x80 | (cp & 0x3F)); elen = 2; }
                else if (cp < 0x10000) {
                    enc[0] = (char)(0xE0 | (cp >> 12)); enc[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    enc[2] = (char)(0x80 | (cp & 0x3F)); elen = 3;
                } else {
                    enc[0] = (char)(0xF0 | (cp >> 18)); enc[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    enc[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); enc[3] = (char)(0x80 | (cp & 0x3F)); elen = 4;
                }
            }
        } else {
            unsigned char b = (unsigned char)s[i];
            size_t ulen = b >= 0x80 ? jsonx_utf8((const unsigned char *)s + i, w->n - i, &cp) : 0;
            if (b == 0 || (ulen > 0 && jsonx_forbidden(cp)))
                return jsonx_bad_string(w, as_key, start, b == 0 ? "holds a NUL character (U+0000)"
                                                                 : "holds a Unicode noncharacter");
            elen = ulen > 0 ? ulen : 1;
            memcpy(enc, s + i, elen);
            i += elen;
        }
        if (as_key && !jsonx_keep(w, enc, elen))
            return -2;
    }
    w->pos = i + 1;
    if (as_key) {
        *off = start;
        *len = w->kbuf_len - start;
    }
    return 0;
}

static const char *jsonx_sort_base;

static int jsonx_key_cmp(const void *a, const void *b)
{
    const struct jsonx_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(jsonx_sort_base + x->off, jsonx_sort_base + y->off, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* At an object's '}': a key twice? Then drops its keys. */
static int jsonx_object_end(struct jsonx_walk *w)
{
    struct jsonx_frame *f = &w->frames[w->depth - 1];
    size_t count = w->nkeys - f->first_key;
    struct jsonx_key *k = w->keys + f->first_key;
    if (count > 1) {
        jsonx_sort_base = w->kbuf;
        qsort(k, count, sizeof(*k), jsonx_key_cmp);
        for (size_t i = 1; i < count; i++)
            if (jsonx_key_cmp(&k[i - 1], &k[i]) == 0)
                return jsonx_fail(w, ERR_BAD_REQUEST, "is given twice in one object (duplicate key)", true,
                                  w->kbuf + k[i].off, k[i].len);
    }
    w->nkeys = f->first_key;
    w->kbuf_len = f->kbuf_start;
    return 0;
}

static void jsonx_ws(struct jsonx_walk *w)
{
    while (w->pos < w->n && (w->s[w->pos] == ' ' || w->s[w->pos] == '\t' || w->s[w->pos] == '\n' ||
                             w->s[w->pos] == '\r'))
        w->pos++;
}

static int jsonx_walk_all(struct jsonx_walk *w)
{
    for (;;) {
        jsonx_ws(w);
        if (w->pos >= w->n)
            return 0;
        char c = w->s[w->pos];
        struct jsonx_frame *top = w->depth > 0 ? &w->frames[w->depth - 1] : NULL;
        if (c == '{' || c == '[') {
            if (w->depth >= JSONX_DEPTH)
                return jsonx_fail(w, ERR_BAD_REQUEST, "is nested too deeply", false, NULL, 0);
            struct jsonx_frame *f = &w->frames[w->depth++];
            memset(f, 0, sizeof(*f));
            f->object = c == '{';
            f->first_key = w->nkeys;
            f->kbuf_start = w->kbuf_len;
            w->pos++;
            if (f->object) {             /* a member: its key */
                jsonx_ws(w);
                if (w->pos < w->n && w->s[w->pos] == '"')
                    goto key;
            }
            continue;
        }
        if (c == '\'') /* json-c takes 'single quotes' even when strict; RFC 8259 does not */
            return jsonx_fail(w, ERR_BAD_REQUEST, "is malformed JSON (a single-quoted string)", false, NULL, 0);
        if (c == '}' || c == ']') {
            if (top == NULL)
                return jsonx_fail(w, ERR_BAD_REQUEST, "is malformed JSON", false, NULL, 0);
            if (top->object && jsonx_object_end(w) != 0)
                return -1;
            w->depth--;
            w->pos++;
            continue;
        }
        if (c == ',') {
            w->pos++;
            if (top != NULL && !top->object) {
                top->index++;
                continue;
            }
            jsonx_ws(w);
            goto key;
        }
        if (c == '"') {
            int rc = jsonx_string(w, false, NULL, NULL);
            if (rc != 0)
                return rc;
            continue;
        }
        w->pos++;                        /* a number, true, false, null, or ':' */
        continue;
    key: {
            if (w->depth == 0 || !w->frames[w->depth - 1].object || w->pos >= w->n || w->s[w->pos] != '"')
                return jsonx_fail(w, ERR_BAD_REQUEST,
                                  w->pos < w->n && w->s[w->pos] == '\'' ? "is malformed JSON (a single-quoted key)"
                                                                        : "is malformed JSON",
                                  false, NULL, 0);
            struct jsonx_frame *f = &w->frames[w->depth - 1];
            size_t off = 0, len = 0;
            /* The key's own problems are named by the key's path. */
            f->key_off = w->kbuf_len;
            f->key_len = 0;
            int rc = jsonx_string(w, true, &off, &len);
            if (rc != 0)
                return rc;
            if (w->nkeys == w->keys_cap) {
                size_t cap = w->keys_cap ? w->keys_cap * 2 : 16;
                struct jsonx_key *nk = realloc(w->keys, cap * sizeof(*nk));
                if (nk == NULL)
                    return -2;
                w->keys = nk;
                w->keys_cap = cap;
            }
            w->keys[w->nkeys++] = (struct jsonx_key){off, len};
            f->key_off = off;
            f->key_len = len;
        }
    }
}

int jsonx_scan(const char *text, size_t len, struct jsonx_problem *p)
{
    struct jsonx_walk w = {.s = text, .n = len, .p = p, .kbuf_cap = 256, .keys_cap = 16};
    memset(p, 0, sizeof(*p));
    /* never NULL, so that offsets into them are always defined */
    w.kbuf = malloc(w.kbuf_cap);
    w.keys = malloc(w.keys_cap * sizeof(*w.keys));
    int rc = w.kbuf != NULL && w.keys != NULL ? jsonx_walk_all(&w) : -2;
    if (rc == -2) {
        p->err = ERR_INTERNAL;
        p->what = "out of memory";
        snprintf(p->field, sizeof(p->field), "body");
    }
    free(w.kbuf);
    free(w.keys);
    return rc == 0 ? 0 : -1;
}

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
    struct jsonx_problem p;
    if (jsonx_scan(req->body, req->body_len, &p) != 0) {
        json_object_put(obj);
        const char *field = arena_strndup(req->arena, p.field, strlen(p.field));
        return request_fail(req, p.err, field, "%s %s", p.field, p.what);
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

struct json_object *jsonx_money_wide(__int128 cents)
{
    char text[PARSE_WIDE_CENTS_BYTES];
    parse_format_cents_wide(cents, text);
    return json_object_new_double_s((double)cents / 100.0, text);
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
