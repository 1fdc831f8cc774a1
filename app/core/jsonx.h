/* jsonx: the few json-c helpers every handler needs: strict body parsing
 * with a useful error, exact money output, typed field access. */
#ifndef TALLY_JSONX_H
#define TALLY_JSONX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct json_object;
struct request;

/* Parses req->body strictly (RFC 8259: no NaN, no trailing garbage) and
 * refuses what json-c would silently change (jsonx_scan). On failure
 * returns ERR_BAD_REQUEST (malformed, duplicate key) or ERR_UNPROCESSABLE
 * (a string holding NUL, a noncharacter or a lone surrogate) with the
 * error set on req, naming the field. */
enum err jsonx_parse_body(struct request *req, struct json_object **out);

#define JSONX_FIELD_BYTES 160            /* longer field paths end in "..." */
struct jsonx_problem {
    enum err err;                        /* ERR_NONE: none */
    char field[JSONX_FIELD_BYTES];       /* "merchant", "[2].merchant", "a.b" */
    const char *what;                    /* static text */
};
/* Walks JSON text that json-c accepted, checking what json-c does not:
 * a key given twice in one object (json-c keeps the last) -> ERR_BAD_REQUEST;
 * in any string, key or value, escaped or raw: U+0000 (json-c cuts the
 * string there), a lone surrogate escape (json-c makes it U+FFFD), a
 * noncharacter (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF) -> ERR_UNPROCESSABLE;
 * a 'single-quoted' string or key (json-c accepts them even when strict)
 * or anything else that is not RFC 8259 -> ERR_BAD_REQUEST.
 * Returns 0, or -1 with *p filled. Pure; bounded by len (and depth 64:
 * deeper text is refused, json-c allows 32). */
int jsonx_scan(const char *text, size_t len, struct jsonx_problem *p);
/* The whole body step of a JSON handler: Content-Type application/json,
 * strict parse, and a value of the given json-c type (json_type_object or
 * json_type_array); "expected a JSON object/array" (400, field "body")
 * otherwise. On success *out is owned by the caller. */
enum err jsonx_body_of(struct request *req, int json_type, struct json_object **out);
/* Money as a JSON number with exactly the 2-decimal text ("-42.50" prints as -42.50). */
struct json_object *jsonx_money(int64_t cents);
/* The same for a sum of any number of amounts (exact, never wrapped). */
struct json_object *jsonx_money_wide(__int128 cents);
/* Field of obj if it is a string; NULL if absent or JSON null; sets *wrong_type if it is another type. */
const char *jsonx_get_string(struct json_object *obj, const char *key, bool *wrong_type);

#endif
