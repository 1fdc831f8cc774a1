/* mustache_parse: compiles a Mustache template into the flat node array
 * of mustache_internal.h (tags, standalone lines, set-delimiters, section
 * nesting) and reports errors with their line. The invariants are listed
 * at the top of mustache.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "mustache_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

static int mustache_line_of(const char *src, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++)
        if (src[i] == '\n')
            line++;
    return line;
}

void mustache_error_set(struct mustache_error *err, int line, const char *fmt, ...)
{
    if (err == NULL)
        return;
    err->line = line;
    size_t used = 0;
    if (line > 0) {
        int n = snprintf(err->message, sizeof(err->message), "line %d: ", line);
        used = n > 0 && (size_t)n < sizeof(err->message) ? (size_t)n : 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + used, sizeof(err->message) - used, fmt, ap);
    va_end(ap);
}

const char *mustache_strerror(int status)
{
    switch (status) {
    case MUSTACHE_OK:               return "ok";
    case MUSTACHE_ERR_NOMEM:        return "out of memory";
    case MUSTACHE_ERR_OUTPUT_LIMIT: return "rendered output exceeds the size limit";
    case MUSTACHE_ERR_DEPTH:        return "template nesting too deep";
    default:                        return "unknown mustache error";
    }
}

/* --------------------------------------------------------------- compile */

struct mustache_parser {
    struct mustache_template *t;
    const char *src;          /* t->src */
    size_t len;
    size_t pos;               /* next byte not yet turned into nodes */
    char open[MUSTACHE_DELIM_MAX_BYTES + 1];
    size_t open_len;
    char close[MUSTACHE_DELIM_MAX_BYTES + 1];
    size_t close_len;
    uint32_t sections[MUSTACHE_SECTION_DEPTH_MAX]; /* node indices of open sections */
    size_t section_depth;
    struct mustache_error *err;
};

/* One tag as found in the source. */
struct mustache_tag {
    char sigil;               /* '#', '^', '/', '!', '=', '>', '{', '&' or 0 */
    size_t start;             /* first byte of the open delimiter */
    size_t end;               /* first byte after the close delimiter */
    size_t body;              /* content after the sigil, before the close */
    size_t body_len;
};

static int mustache_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int mustache_add_node(struct mustache_parser *p, const struct mustache_node *node)
{
    struct mustache_template *t = p->t;
    if (t->node_count == t->node_cap) {
        if (t->node_cap >= MUSTACHE_NODES_MAX) {
            mustache_error_set(p->err, mustache_line_of(p->src, p->pos),
                               "template has more than %d nodes", MUSTACHE_NODES_MAX);
            return -1;
        }
        uint32_t cap = t->node_cap ? t->node_cap * 2 : 16;
        if (cap > MUSTACHE_NODES_MAX)
            cap = MUSTACHE_NODES_MAX;
        struct mustache_node *nodes = realloc(t->nodes, cap * sizeof(*nodes));
        if (nodes == NULL) {
            mustache_error_set(p->err, 0, "out of memory");
            return -1;
        }
        t->nodes = nodes;
        t->node_cap = cap;
    }
    t->nodes[t->node_count++] = *node;
    return 0;
}

static int mustache_add_text(struct mustache_parser *p, size_t from, size_t to)
{
    if (to <= from)
        return 0;
    struct mustache_node node = {
        .type = MUSTACHE_NODE_TEXT, .off = (uint32_t)from, .len = (uint32_t)(to - from),
    };
    return mustache_add_node(p, &node);
}

/* Locates the tag whose open delimiter starts at `start`. */
static int mustache_scan_tag(struct mustache_parser *p, size_t start, struct mustache_tag *tag)
{
    char close[MUSTACHE_DELIM_MAX_BYTES + 2];
    size_t close_len = 0;
    size_t inner = start + p->open_len;
    char sigil = inner < p->len ? p->src[inner] : 0;

    /* {{{x}}} ends with "}" + close, {{=a b=}} with "=" + close. */
    if (sigil == '{' || sigil == '=')
        close[close_len++] = sigil == '{' ? '}' : '=';
    memcpy(close + close_len, p->close, p->close_len);
    close_len += p->close_len;

    if (sigil == 0 || strchr("#^/!=>{&", sigil) == NULL)
        sigil = 0;
    size_t body = sigil ? inner + 1 : inner;
    const char *found = body <= p->len
        ? memmem(p->src + body, p->len - body, close, close_len) : NULL;
    if (found == NULL) {
        mustache_error_set(p->err, mustache_line_of(p->src, start),
                           "unclosed tag (no \"%.*s\" after \"%.*s\")",
                           (int)close_len, close, (int)p->open_len, p->open);
        return -1;
    }
    tag->sigil = sigil;
    tag->start = start;
    tag->body = body;
    tag->body_len = (size_t)(found - p->src) - body;
    tag->end = (size_t)(found - p->src) + close_len;
    return 0;
}

/* Trims the tag body into a name: non-empty, bounded, no inner whitespace. */
static int mustache_tag_name(struct mustache_parser *p, const struct mustache_tag *tag,
                             uint32_t *off, uint32_t *len)
{
    size_t a = tag->body, b = tag->body + tag->body_len;
    while (a < b && mustache_is_space(p->src[a]))
        a++;
    while (b > a && mustache_is_space(p->src[b - 1]))
        b--;
    if (a == b) {
        mustache_error_set(p->err, mustache_line_of(p->src, tag->start),
                           "empty tag name");
        return -1;
    }
    if (b - a > MUSTACHE_NAME_MAX_BYTES) {
        mustache_error_set(p->err, mustache_line_of(p->src, tag->start),
                           "tag name longer than %d bytes", MUSTACHE_NAME_MAX_BYTES);
        return -1;
    }
    for (size_t i = a; i < b; i++) {
        if (mustache_is_space(p->src[i])) {
            mustache_error_set(p->err, mustache_line_of(p->src, tag->start),
                               "tag name \"%.*s\" contains whitespace",
                               (int)(b - a), p->src + a);
            return -1;
        }
    }
    *off = (uint32_t)a;
    *len = (uint32_t)(b - a);
    return 0;
}

/* A block tag is standalone when only spaces/tabs precede it on its line
 * and only spaces/tabs follow it up to a newline or the end of the source.
 * On success *line_start is where that whitespace begins and *next is the
 * first byte of the following line. Another tag on the same line makes the
 * check fail by itself, because delimiters are never whitespace. */
static int mustache_standalone(const struct mustache_parser *p, const struct mustache_tag *tag,
                               size_t *line_start, size_t *next)
{
    if (!tag->sigil || tag->sigil == '{' || tag->sigil == '&')
        return 0;
    size_t a = tag->start;
    while (a > p->pos && (p->src[a - 1] == ' ' || p->src[a - 1] == '\t'))
        a--;
    if (a != 0 && p->src[a - 1] != '\n')
        return 0;
    size_t b = tag->end;
    while (b < p->len && (p->src[b] == ' ' || p->src[b] == '\t'))
        b++;
    if (b < p->len && p->src[b] == '\r' && b + 1 < p->len && p->src[b + 1] == '\n')
        b += 2;
    else if (b < p->len && p->src[b] == '\n')
        b += 1;
    else if (b != p->len)
        return 0;
    *line_start = a;
    *next = b;
    return 1;
}

/* {{=<% %>=}}: two whitespace-separated, bounded delimiters. */
static int mustache_set_delimiters(struct mustache_parser *p, const struct mustache_tag *tag)
{
    const char *s = p->src + tag->body;
    size_t n = tag->body_len, i = 0;
    size_t o_start, o_len, c_start, c_len;

    while (i < n && mustache_is_space(s[i]))
        i++;
    o_start = i;
    while (i < n && !mustache_is_space(s[i]))
        i++;
    o_len = i - o_start;
    while (i < n && mustache_is_space(s[i]))
        i++;
    c_start = i;
    while (i < n && !mustache_is_space(s[i]))
        i++;
    c_len = i - c_start;
    while (i < n && mustache_is_space(s[i]))
        i++;
    if (o_len == 0 || c_len == 0 || i != n
        || o_len > MUSTACHE_DELIM_MAX_BYTES || c_len > MUSTACHE_DELIM_MAX_BYTES) {
        mustache_error_set(p->err, mustache_line_of(p->src, tag->start),
                           "bad set-delimiter tag (want two delimiters of 1 to %d bytes)",
                           MUSTACHE_DELIM_MAX_BYTES);
        return -1;
    }
    memcpy(p->open, s + o_start, o_len);
    p->open[o_len] = '\0';
    p->open_len = o_len;
    memcpy(p->close, s + c_start, c_len);
    p->close[c_len] = '\0';
    p->close_len = c_len;
    return 0;
}

static int mustache_open_section(struct mustache_parser *p, const struct mustache_tag *tag)
{
    struct mustache_node node = {
        .type = tag->sigil == '#' ? MUSTACHE_NODE_SECTION : MUSTACHE_NODE_INVERTED,
    };
    if (mustache_tag_name(p, tag, &node.off, &node.len) != 0)
        return -1;
    if (p->section_depth == MUSTACHE_SECTION_DEPTH_MAX) {
        mustache_error_set(p->err, mustache_line_of(p->src, tag->start),
                           "sections nested deeper than %d", MUSTACHE_SECTION_DEPTH_MAX);
        return -1;
    }
    p->sections[p->section_depth++] = p->t->node_count;
    return mustache_add_node(p, &node);
}

static int mustache_close_section(struct mustache_parser *p, const struct mustache_tag *tag)
{
    uint32_t off, len;
    if (mustache_tag_name(p, tag, &off, &len) != 0)
        return -1;
    if (p->section_depth == 0) {
        mustache_error_set(p->err, mustache_line_of(p->src, tag->start),
                           "closing tag \"%.*s\" without an open section",
                           (int)len, p->src + off);
        return -1;
    }
    struct mustache_node *open = &p->t->nodes[p->sections[p->section_depth - 1]];
    if (open->len != len || memcmp(p->src + open->off, p->src + off, len) != 0) {
        mustache_error_set(p->err, mustache_line_of(p->src, tag->start),
                           "closing tag \"%.*s\" does not match section \"%.*s\" opened on line %d",
                           (int)len, p->src + off, (int)open->len, p->src + open->off,
                           mustache_line_of(p->src, open->off));
        return -1;
    }
    open->end = p->t->node_count;
    p->section_depth--;
    return 0;
}

static int mustache_add_partial(struct mustache_parser *p, const struct mustache_tag *tag,
                                int standalone, size_t indent_from)
{
    struct mustache_node node = { .type = MUSTACHE_NODE_PARTIAL };
    if (mustache_tag_name(p, tag, &node.off, &node.len) != 0)
        return -1;
    if (standalone) {
        node.standalone = 1;
        node.indent_off = (uint32_t)indent_from;
        node.indent_len = (uint32_t)(tag->start - indent_from);
    }
    return mustache_add_node(p, &node);
}

static int mustache_add_var(struct mustache_parser *p, const struct mustache_tag *tag)
{
    struct mustache_node node = {
        .type = tag->sigil == '{' || tag->sigil == '&' ? MUSTACHE_NODE_VAR_RAW
                                                       : MUSTACHE_NODE_VAR,
    };
    if (mustache_tag_name(p, tag, &node.off, &node.len) != 0)
        return -1;
    return mustache_add_node(p, &node);
}

static int mustache_apply_tag(struct mustache_parser *p, const struct mustache_tag *tag,
                              int standalone, size_t line_start)
{
    switch (tag->sigil) {
    case '#':
    case '^': return mustache_open_section(p, tag);
    case '/': return mustache_close_section(p, tag);
    case '!': return 0;
    case '=': return mustache_set_delimiters(p, tag);
    case '>': return mustache_add_partial(p, tag, standalone, line_start);
    default:  return mustache_add_var(p, tag);
    }
}

/* Turns the next tag (and the text before it) into nodes; 1 at the end of
 * the source, 0 to go on, -1 on error. */
static int mustache_parse_step(struct mustache_parser *p)
{
    const char *hit = memmem(p->src + p->pos, p->len - p->pos, p->open, p->open_len);
    if (hit == NULL) {
        if (mustache_add_text(p, p->pos, p->len) != 0)
            return -1;
        p->pos = p->len;
        return 1;
    }
    struct mustache_tag tag;
    if (mustache_scan_tag(p, (size_t)(hit - p->src), &tag) != 0)
        return -1;
    size_t line_start = tag.start, next = tag.end;
    int standalone = mustache_standalone(p, &tag, &line_start, &next);
    if (mustache_add_text(p, p->pos, line_start) != 0)
        return -1;
    p->pos = next;
    return mustache_apply_tag(p, &tag, standalone, line_start) != 0 ? -1 : 0;
}

static void mustache_parser_init(struct mustache_parser *p, struct mustache_template *t,
                                 struct mustache_error *err)
{
    memset(p, 0, sizeof(*p));
    p->t = t;
    p->src = t->src;
    p->len = t->src_len;
    p->err = err;
    memcpy(p->open, "{{", 3);
    p->open_len = 2;
    memcpy(p->close, "}}", 3);
    p->close_len = 2;
}

struct mustache_template *mustache_compile(const char *src, size_t len,
                                           struct mustache_error *err)
{
    struct mustache_template *t = NULL;
    struct mustache_parser p;
    int rc;

    if (err != NULL) {
        err->line = 0;
        err->message[0] = '\0';
    }
    if (len > MUSTACHE_TEMPLATE_MAX_BYTES) {
        mustache_error_set(err, 0, "template larger than %d bytes", MUSTACHE_TEMPLATE_MAX_BYTES);
        goto fail;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL || (t->src = malloc(len + 1)) == NULL) {
        mustache_error_set(err, 0, "out of memory");
        goto fail;
    }
    if (len > 0)
        memcpy(t->src, src, len);
    t->src[len] = '\0';
    t->src_len = len;

    mustache_parser_init(&p, t, err);
    while ((rc = mustache_parse_step(&p)) == 0)
        ;
    if (rc < 0)
        goto fail;
    if (p.section_depth > 0) {
        const struct mustache_node *open = &t->nodes[p.sections[p.section_depth - 1]];
        mustache_error_set(err, mustache_line_of(t->src, open->off),
                           "section \"%.*s\" is never closed", (int)open->len,
                           t->src + open->off);
        goto fail;
    }
    return t;

fail:
    mustache_free(t);
    return NULL;
}

void mustache_free(struct mustache_template *t)
{
    if (t == NULL)
        return;
    free(t->nodes);
    free(t->src);
    free(t);
}
