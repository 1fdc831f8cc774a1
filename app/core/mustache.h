/* mustache: a Mustache renderer (spec v1.x core: interpolation, sections,
 * inverted sections, comments, partials, set delimiters; no lambdas) whose
 * data context is json-c values. A template is compiled once into a flat
 * node array that borrows its text from a private copy of the source, and
 * can then be rendered any number of times, concurrently, without mutation.
 * Rendering appends to a growable buffer with a hard byte cap; partial and
 * section nesting are bounded, so hostile data or recursive partials fail
 * with an error value instead of exhausting memory or the stack. */
#ifndef TALLY_MUSTACHE_H
#define TALLY_MUSTACHE_H

#include <stddef.h>

struct json_object;

#define MUSTACHE_TEMPLATE_MAX_BYTES   (4 * 1024 * 1024)  /* source of one template */
#define MUSTACHE_NODES_MAX            65536              /* nodes of one template */
#define MUSTACHE_SECTION_DEPTH_MAX    64                 /* section nesting in one template */
#define MUSTACHE_NAME_MAX_BYTES       128                /* tag and partial names */
#define MUSTACHE_DELIM_MAX_BYTES      8                  /* each of a {{=a b=}} pair */
#define MUSTACHE_ERROR_BYTES          160                /* compile error message */
#define MUSTACHE_OUT_LIMIT_DEFAULT    (8 * 1024 * 1024)  /* rendered bytes */
#define MUSTACHE_CONTEXT_DEPTH_MAX    256                /* context stack while rendering */
#define MUSTACHE_PARTIAL_DEPTH_MAX    32                 /* partial inside partial ... */
#define MUSTACHE_INDENT_MAX_BYTES     256                /* accumulated standalone-partial indent */
#define MUSTACHE_PARTIALS_MAX         64                 /* entries of one partials table */

/* Render results: 0 or a negative value; mustache_strerror() names it. */
enum mustache_status {
    MUSTACHE_OK = 0,
    MUSTACHE_ERR_NOMEM = -1,
    MUSTACHE_ERR_OUTPUT_LIMIT = -2,  /* output would exceed out->limit_bytes */
    MUSTACHE_ERR_DEPTH = -3,         /* partial, context or indent nesting too deep */
};

/* Filled by mustache_compile() on failure: line is 1-based (0 when the
 * failure is not tied to a place, e.g. out of memory); message starts with
 * "line N: " in that case. */
struct mustache_error {
    int line;
    char message[MUSTACHE_ERROR_BYTES];
};

/* Output buffer. data is NUL-terminated whenever it is non-NULL. */
struct mustache_out {
    char *data;
    size_t len;
    size_t cap;
    size_t limit_bytes;
};

struct mustache_template;
struct mustache_partials;

/* Compiles src[0..len) (need not be NUL-terminated). Returns NULL on a
 * syntax error or out of memory, with err (may be NULL) describing it. */
struct mustache_template *mustache_compile(const char *src, size_t len,
                                           struct mustache_error *err);
void mustache_free(struct mustache_template *t);

/* Renders t with data as the root context (JSON null is allowed) and
 * appends to out. partials may be NULL; a missing partial renders as "".
 * On error out->len is restored to its value at entry. Does not modify t
 * or partials; json-c may cache a serialization inside number, object and
 * array values of data when they are interpolated. */
int mustache_render(const struct mustache_template *t, struct json_object *data,
                    const struct mustache_partials *partials, struct mustache_out *out);
const char *mustache_strerror(int status);

/* limit_bytes 0 means MUSTACHE_OUT_LIMIT_DEFAULT. No allocation happens here. */
void mustache_out_init(struct mustache_out *out, size_t limit_bytes);
void mustache_out_reset(struct mustache_out *out);   /* len = 0, keeps the buffer */
void mustache_out_free(struct mustache_out *out);

/* A name -> compiled template table for {{> name}}. Adding a name that is
 * already present replaces its template. mustache_partials_add() returns 0,
 * or -1 with err set (syntax error, bad name, table full, no memory). */
struct mustache_partials *mustache_partials_new(void);
int mustache_partials_add(struct mustache_partials *p, const char *name,
                          const char *src, size_t len, struct mustache_error *err);
void mustache_partials_free(struct mustache_partials *p);

#endif
