/* libFuzzer target: learning_segment_derive on arbitrary bytes (valid or
 * not UTF-8, any length). Invariants: a segment in range, the same answer
 * twice, and the NUL-terminated entry point agreeing with the (s, len) one.
 * Built and run for a bounded time by tests/fuzz/run. */
#include "learning/learning_segment.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum learning_segment a = learning_segment_derive((const char *)data, size);
    if ((unsigned)a >= LEARNING_SEGMENT_COUNT || learning_segment_name(a) == NULL)
        __builtin_trap();
    if (learning_segment_derive((const char *)data, size) != a)
        __builtin_trap();
    if (memchr(data, '\0', size) == NULL) {
        char *s = malloc(size + 1);
        if (s == NULL)
            return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        const char *name = learning_segment_of(s);
        free(s);
        if (name == NULL || strcmp(name, learning_segment_name(a)) != 0)
            __builtin_trap();
    }
    return 0;
}
