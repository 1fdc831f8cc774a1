/* arena: chunked bump allocator. See arena.h. */
#include "arena.h"
#include "limits.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
    struct arena_chunk *prev;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_ALIGN 16

void arena_init(struct arena *a)
{
    a->head = NULL;
    a->total_bytes = 0;
}

static struct arena_chunk *arena_chunk_new(struct arena *a, size_t min_size)
{
    size_t size = min_size > LIMIT_ARENA_CHUNK_BYTES ? min_size : LIMIT_ARENA_CHUNK_BYTES;
    if (a->total_bytes + size > LIMIT_ARENA_TOTAL_BYTES)
        return NULL;
    struct arena_chunk *c = malloc(sizeof(*c) + size);
    if (c == NULL)
        return NULL;
    c->prev = a->head;
    c->size = size;
    c->used = 0;
    a->head = c;
    a->total_bytes += size;
    return c;
}

void *arena_alloc(struct arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > LIMIT_ARENA_TOTAL_BYTES)
        return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < size) {
        c = arena_chunk_new(a, size);
        if (c == NULL)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_sprintf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *c = a->head;
    if (c == NULL)
        return;
    while (c->prev != NULL) {
        struct arena_chunk *prev = c->prev;
        a->total_bytes -= c->size;
        free(c);
        c = prev;
    }
    c->used = 0;
    a->head = c;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c != NULL) {
        struct arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    a->head = NULL;
    a->total_bytes = 0;
}
