/* mustache_internal: the compiled form shared by the compiler
 * (mustache_parse.c) and the renderer (mustache.c). Not for other files. */
#ifndef TALLY_MUSTACHE_INTERNAL_H
#define TALLY_MUSTACHE_INTERNAL_H

#include "mustache.h"

#include <stddef.h>
#include <stdint.h>

enum mustache_node_type {
    MUSTACHE_NODE_TEXT,
    MUSTACHE_NODE_VAR,        /* {{name}}: HTML-escaped */
    MUSTACHE_NODE_VAR_RAW,    /* {{{name}}} and {{&name}} */
    MUSTACHE_NODE_SECTION,    /* {{#name}} */
    MUSTACHE_NODE_INVERTED,   /* {{^name}} */
    MUSTACHE_NODE_PARTIAL,    /* {{>name}} */
};

struct mustache_node {
    uint8_t type;
    uint8_t standalone;       /* partials: the tag was alone on its line */
    uint32_t off;             /* text, or the trimmed name, in template src */
    uint32_t len;
    uint32_t end;             /* sections: index of the first node after the body */
    uint32_t indent_off;      /* standalone partials: the whitespace before the tag */
    uint32_t indent_len;
};

struct mustache_template {
    char *src;
    size_t src_len;
    struct mustache_node *nodes;
    uint32_t node_count;
    uint32_t node_cap;
};

struct mustache_partial_entry {
    char name[MUSTACHE_NAME_MAX_BYTES + 1];
    size_t name_len;
    struct mustache_template *t;
};

struct mustache_partials {
    struct mustache_partial_entry entries[MUSTACHE_PARTIALS_MAX];
    size_t count;
};

/* Fills err (may be NULL) with "line N: " (line > 0) and the message. */
void mustache_error_set(struct mustache_error *err, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
