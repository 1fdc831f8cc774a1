/* arena: per-request bump allocator (kore's pools, nginx's ngx_pool_t).
 * Everything a request allocates from it is released in one go by
 * arena_reset() at the end of the request. The first chunk is kept across
 * requests so a typical request does no malloc at all for its scratch data.
 * The total is capped (LIMIT_ARENA_TOTAL_BYTES): allocation returns NULL. */
#ifndef TALLY_ARENA_H
#define TALLY_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;    /* current chunk; older ones linked behind */
    size_t total_bytes;          /* bytes held in chunks */
};

void arena_init(struct arena *a);
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_sprintf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_reset(struct arena *a);   /* frees all but the first chunk */
void arena_free(struct arena *a);

#endif
