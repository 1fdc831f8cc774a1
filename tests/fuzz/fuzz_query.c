/* libFuzzer target: the query-string decoder (request_parse_query and
 * text_percent_decode) on arbitrary bytes. Checks, besides the sanitizers:
 * every decoded name and value fits in the input, holds no NUL, and values
 * are UTF-8; at most LIMIT_QUERY_PARAMS are kept; request_query finds the
 * first of a repeated name; a refusal names no field it did not decode.
 * Built and run for a bounded time by scripts/test (tests/fuzz/run). */
#include "core/arena.h"
#include "core/request.h"
#include "core/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size) != NULL)
        return 0;                        /* a FastCGI param is a C string */
    struct arena arena;
    arena_init(&arena);
    char *qs = arena_strndup(&arena, (const char *)data, size);
    struct request req;
    memset(&req, 0, sizeof(req));
    req.arena = &arena;
    req.query_string = qs;
    enum err e = request_parse_query(&req);
    if (req.query_count < 0 || req.query_count > LIMIT_QUERY_PARAMS)
        __builtin_trap();
    if (e == ERR_NONE) {
        if (size > LIMIT_QUERY_STRING_BYTES)
            __builtin_trap();
        for (int i = 0; i < req.query_count; i++) {
            const char *n = req.query[i].name, *v = req.query[i].value;
            if (strlen(n) > size || strlen(v) > size || !text_is_utf8(v, strlen(v)))
                __builtin_trap();
            int first = 0;
            while (strcmp(req.query[first].name, n) != 0)
                first++;                 /* ends at i at the latest */
            if (request_query(&req, n) != req.query[first].value)
                __builtin_trap();
        }
    } else if (e != ERR_BAD_REQUEST || req.error_message[0] == '\0') {
        __builtin_trap();
    }
    /* The decoder alone: never longer than its input, either plus mode. */
    char *out = arena_alloc(&arena, size + 1);
    for (int plus = 0; out != NULL && plus < 2; plus++) {
        size_t n = text_percent_decode((const char *)data, size, out, size + 1, plus);
        if (n != TEXT_NO_FIT && (n > size || memchr(out, '\0', n) != NULL))
            __builtin_trap();
    }
    arena_free(&arena);
    return 0;
}
