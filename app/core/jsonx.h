/* jsonx: the few json-c helpers every handler needs: strict body parsing
 * with a useful error, exact money output, typed field access. */
#ifndef TALLY_JSONX_H
#define TALLY_JSONX_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

struct json_object;
struct request;

/* Parses req->body strictly (RFC 8259: no NaN, no trailing garbage). On
 * failure returns ERR_BAD_REQUEST with the error set on req. */
enum err jsonx_parse_body(struct request *req, struct json_object **out);
/* The whole body step of a JSON handler: Content-Type application/json,
 * strict parse, and a value of the given json-c type (json_type_object or
 * json_type_array); "expected a JSON object/array" (400, field "body")
 * otherwise. On success *out is owned by the caller. */
enum err jsonx_body_of(struct request *req, int json_type, struct json_object **out);
/* Money as a JSON number with exactly the 2-decimal text ("-42.50" prints as -42.50). */
struct json_object *jsonx_money(int64_t cents);
/* A JSON string, or JSON null for NULL. */
struct json_object *jsonx_string_or_null(const char *s);
/* Field of obj if it is a string; NULL if absent or JSON null; sets *wrong_type if it is another type. */
const char *jsonx_get_string(struct json_object *obj, const char *key, bool *wrong_type);

#endif
