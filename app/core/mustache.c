/* mustache: compile Mustache templates into a flat node array and render
 * them against json-c data. See mustache.h for the contract.
 *
 * Invariants:
 *  - a template owns a NUL-terminated copy of its source; every node refers
 *    to text and names by (offset, length) into that copy;
 *  - a section node's children are the nodes (index, end); its closing tag
 *    leaves no node; comments and set-delimiter tags leave none either;
 *  - standalone lines (a block tag alone on its line, modulo spaces/tabs)
 *    are removed at compile time; a standalone partial keeps the removed
 *    leading whitespace as its indent, which the renderer prepends to every
 *    line the partial's own template text starts;
 *  - rendering never writes to the template or the partials table, and
 *    every recursion (sections, partials) is counted against a cap. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "mustache.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

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

/* ---------------------------------------------------------------- errors */

static int mustache_line_of(const char *src, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++)
        if (src[i] == '\n')
            line++;
    return line;
}

static void mustache_error_set(struct mustache_error *err, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void mustache_error_set(struct mustache_error *err, int line, const char *fmt, ...)
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

/* ---------------------------------------------------------------- output */

void mustache_out_init(struct mustache_out *out, size_t limit_bytes)
{
    out->data = NULL;
    out->len = 0;
    out->cap = 0;
    out->limit_bytes = limit_bytes ? limit_bytes : MUSTACHE_OUT_LIMIT_DEFAULT;
}

void mustache_out_reset(struct mustache_out *out)
{
    out->len = 0;
    if (out->data != NULL)
        out->data[0] = '\0';
}

void mustache_out_free(struct mustache_out *out)
{
    free(out->data);
    out->data = NULL;
    out->len = 0;
    out->cap = 0;
}

/* Keeps room for a NUL after the data; grows by doubling up to the limit. */
static int mustache_out_append(struct mustache_out *out, const char *s, size_t n)
{
    /* Clamped so that the arithmetic below cannot overflow. */
    size_t limit = out->limit_bytes < SIZE_MAX / 4 ? out->limit_bytes : SIZE_MAX / 4;
    if (n == 0)
        return MUSTACHE_OK;
    if (n > limit || out->len > limit - n)
        return MUSTACHE_ERR_OUTPUT_LIMIT;
    size_t need = out->len + n + 1;
    if (need > out->cap) {
        size_t cap = out->cap ? out->cap : 256;
        while (cap < need)
            cap *= 2;
        if (cap > limit + 1)
            cap = limit + 1;
        char *data = realloc(out->data, cap);
        if (data == NULL)
            return MUSTACHE_ERR_NOMEM;
        out->data = data;
        out->cap = cap;
    }
    memcpy(out->data + out->len, s, n);
    out->len += n;
    out->data[out->len] = '\0';
    return MUSTACHE_OK;
}

/* Makes data a valid (possibly empty) C string even if nothing was written. */
static int mustache_out_terminate(struct mustache_out *out)
{
    if (out->data != NULL)
        return MUSTACHE_OK;
    out->data = malloc(16);
    if (out->data == NULL)
        return MUSTACHE_ERR_NOMEM;
    out->cap = 16;
    out->data[out->len] = '\0';
    return MUSTACHE_OK;
}

/* HTML escaping for text and attribute values: & < > " and '. */
static int mustache_out_escaped(struct mustache_out *out, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *entity;
        switch (s[i]) {
        case '&':  entity = "&amp;";  break;
        case '<':  entity = "&lt;";   break;
        case '>':  entity = "&gt;";   break;
        case '"':  entity = "&quot;"; break;
        case '\'': entity = "&#39;";  break;
        default:   continue;
        }
        int rc = mustache_out_append(out, s + run, i - run);
        if (rc == MUSTACHE_OK)
            rc = mustache_out_append(out, entity, strlen(entity));
        if (rc != MUSTACHE_OK)
            return rc;
        run = i + 1;
    }
    return mustache_out_append(out, s + run, n - run);
}

/* ---------------------------------------------------------------- render */

struct mustache_render_state {
    struct mustache_out *out;
    const struct mustache_partials *partials;
    struct json_object *contexts[MUSTACHE_CONTEXT_DEPTH_MAX];
    size_t context_depth;
    int partial_depth;
    char indent[MUSTACHE_INDENT_MAX_BYTES];
    size_t indent_len;
    int at_line_start;        /* template text just ended a line: indent before more */
};

static int mustache_render_range(struct mustache_render_state *st,
                                 const struct mustache_template *t,
                                 uint32_t begin, uint32_t end);

static int mustache_flush_indent(struct mustache_render_state *st)
{
    if (!st->at_line_start)
        return MUSTACHE_OK;
    st->at_line_start = 0;
    return mustache_out_append(st->out, st->indent, st->indent_len);
}

/* Template text: the current indent goes before every line it starts. */
static int mustache_emit_text(struct mustache_render_state *st, const char *s, size_t n)
{
    if (st->indent_len == 0) {
        st->at_line_start = n > 0 && s[n - 1] == '\n';
        return mustache_out_append(st->out, s, n);
    }
    while (n > 0) {
        int rc = mustache_flush_indent(st);
        if (rc != MUSTACHE_OK)
            return rc;
        const char *nl = memchr(s, '\n', n);
        size_t chunk = nl != NULL ? (size_t)(nl - s) + 1 : n;
        rc = mustache_out_append(st->out, s, chunk);
        if (rc != MUSTACHE_OK)
            return rc;
        st->at_line_start = nl != NULL;
        s += chunk;
        n -= chunk;
    }
    return MUSTACHE_OK;
}

/* Looks one key up in an object value; a present key with a JSON null
 * value counts as found (it stops the context-stack walk). */
static int mustache_lookup_key(struct json_object *obj, const char *name, size_t len,
                               struct json_object **value)
{
    char key[MUSTACHE_NAME_MAX_BYTES + 1];
    if (!json_object_is_type(obj, json_type_object) || len > MUSTACHE_NAME_MAX_BYTES)
        return 0;
    memcpy(key, name, len);
    key[len] = '\0';
    return json_object_object_get_ex(obj, key, value) ? 1 : 0;
}

/* Spec name resolution: "." is the top context; otherwise the first part
 * is found walking the stack downwards, later parts only inside it. NULL
 * stands for missing and for JSON null alike. */
static struct json_object *mustache_resolve(const struct mustache_render_state *st,
                                            const char *name, size_t len)
{
    if (len == 1 && name[0] == '.')
        return st->contexts[st->context_depth - 1];
    const char *dot = memchr(name, '.', len);
    size_t part = dot != NULL ? (size_t)(dot - name) : len;
    struct json_object *value = NULL;
    size_t i = st->context_depth;
    while (i > 0 && !mustache_lookup_key(st->contexts[i - 1], name, part, &value))
        i--;
    if (i == 0)
        return NULL;
    while (dot != NULL) {
        name = dot + 1;
        len -= part + 1;
        dot = memchr(name, '.', len);
        part = dot != NULL ? (size_t)(dot - name) : len;
        if (!mustache_lookup_key(value, name, part, &value))
            return NULL;
    }
    return value;
}

/* Null, false, an empty array and a missing name are falsey; "" and 0 are
 * truthy (the reference implementation's rule, independent of JSON type). */
static int mustache_truthy(struct json_object *v)
{
    if (v == NULL)
        return 0;
    if (json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v);
    if (json_object_is_type(v, json_type_array))
        return json_object_array_length(v) > 0;
    return 1;
}

/* Doubles: the text json-c kept (parsed source, json_object_new_double_s,
 * e.g. money "42.50"), else the shortest "%g" form that reads back equal,
 * so 1.0 prints "1" and 0.1 prints "0.1". */
static const char *mustache_format_double(struct json_object *v, char *buf, size_t size)
{
    if (json_object_get_userdata(v) != NULL)
        return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    double d = json_object_get_double(v);
    if (!isfinite(d)) {
        snprintf(buf, size, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return buf;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return buf;
}

static const char *mustache_value_text(struct json_object *v, char *buf, size_t size)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "";
    case json_type_string:
        return json_object_get_string(v);
    case json_type_boolean:
        return json_object_get_boolean(v) ? "true" : "false";
    case json_type_int: {
        int64_t i = json_object_get_int64(v);
        if (i == INT64_MAX)
            snprintf(buf, size, "%" PRIu64, json_object_get_uint64(v));
        else
            snprintf(buf, size, "%" PRId64, i);
        return buf;
    }
    case json_type_double:
        return mustache_format_double(v, buf, size);
    case json_type_object:
    case json_type_array:
    default:
        return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    }
}

static int mustache_render_var(struct mustache_render_state *st,
                               const struct mustache_template *t,
                               const struct mustache_node *node)
{
    char buf[64];
    int rc = mustache_flush_indent(st);
    if (rc != MUSTACHE_OK)
        return rc;
    struct json_object *v = mustache_resolve(st, t->src + node->off, node->len);
    const char *text = mustache_value_text(v, buf, sizeof(buf));
    size_t n = json_object_is_type(v, json_type_string)
        ? (size_t)json_object_get_string_len(v) : strlen(text);
    if (node->type == MUSTACHE_NODE_VAR_RAW)
        return mustache_out_append(st->out, text, n);
    return mustache_out_escaped(st->out, text, n);
}

static int mustache_render_with(struct mustache_render_state *st,
                                const struct mustache_template *t, uint32_t index,
                                struct json_object *context)
{
    if (st->context_depth == MUSTACHE_CONTEXT_DEPTH_MAX)
        return MUSTACHE_ERR_DEPTH;
    st->contexts[st->context_depth++] = context;
    int rc = mustache_render_range(st, t, index + 1, t->nodes[index].end);
    st->context_depth--;
    return rc;
}

static int mustache_render_section(struct mustache_render_state *st,
                                   const struct mustache_template *t, uint32_t index)
{
    const struct mustache_node *node = &t->nodes[index];
    struct json_object *v = mustache_resolve(st, t->src + node->off, node->len);
    int truthy = mustache_truthy(v);

    if (node->type == MUSTACHE_NODE_INVERTED)
        return truthy ? MUSTACHE_OK : mustache_render_range(st, t, index + 1, node->end);
    if (!truthy)
        return MUSTACHE_OK;
    if (!json_object_is_type(v, json_type_array))
        return mustache_render_with(st, t, index, v);
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        int rc = mustache_render_with(st, t, index, json_object_array_get_idx(v, i));
        if (rc != MUSTACHE_OK)
            return rc;
    }
    return MUSTACHE_OK;
}

static const struct mustache_template *mustache_partials_find(const struct mustache_partials *p,
                                                              const char *name, size_t len)
{
    if (p == NULL)
        return NULL;
    for (size_t i = 0; i < p->count; i++)
        if (p->entries[i].name_len == len && memcmp(p->entries[i].name, name, len) == 0)
            return p->entries[i].t;
    return NULL;
}

/* A standalone partial renders with its tag's leading whitespace added to
 * the indent and starts at the beginning of a line; an inline one keeps
 * the current indent and continues the current line. */
static int mustache_render_partial(struct mustache_render_state *st,
                                   const struct mustache_template *t,
                                   const struct mustache_node *node)
{
    const struct mustache_template *partial =
        mustache_partials_find(st->partials, t->src + node->off, node->len);
    size_t saved_indent = st->indent_len;
    int rc;

    if (partial == NULL)
        return node->standalone ? MUSTACHE_OK : mustache_flush_indent(st);
    if (st->partial_depth == MUSTACHE_PARTIAL_DEPTH_MAX)
        return MUSTACHE_ERR_DEPTH;
    if (node->standalone) {
        if (node->indent_len > MUSTACHE_INDENT_MAX_BYTES - st->indent_len)
            return MUSTACHE_ERR_DEPTH;
        memcpy(st->indent + st->indent_len, t->src + node->indent_off, node->indent_len);
        st->indent_len += node->indent_len;
        st->at_line_start = 1;
    } else if ((rc = mustache_flush_indent(st)) != MUSTACHE_OK) {
        return rc;
    }
    st->partial_depth++;
    rc = mustache_render_range(st, partial, 0, partial->node_count);
    st->partial_depth--;
    st->indent_len = saved_indent;
    return rc;
}

static int mustache_render_range(struct mustache_render_state *st,
                                 const struct mustache_template *t,
                                 uint32_t begin, uint32_t end)
{
    uint32_t i = begin;
    while (i < end) {
        const struct mustache_node *node = &t->nodes[i];
        int rc;
        switch (node->type) {
        case MUSTACHE_NODE_TEXT:
            rc = mustache_emit_text(st, t->src + node->off, node->len);
            i++;
            break;
        case MUSTACHE_NODE_VAR:
        case MUSTACHE_NODE_VAR_RAW:
            rc = mustache_render_var(st, t, node);
            i++;
            break;
        case MUSTACHE_NODE_SECTION:
        case MUSTACHE_NODE_INVERTED:
            rc = mustache_render_section(st, t, i);
            i = node->end;
            break;
        default:
            rc = mustache_render_partial(st, t, node);
            i++;
            break;
        }
        if (rc != MUSTACHE_OK)
            return rc;
    }
    return MUSTACHE_OK;
}

int mustache_render(const struct mustache_template *t, struct json_object *data,
                    const struct mustache_partials *partials, struct mustache_out *out)
{
    struct mustache_render_state st;
    size_t start_len = out->len;
    int rc;

    memset(&st, 0, sizeof(st));
    st.out = out;
    st.partials = partials;
    st.contexts[0] = data;
    st.context_depth = 1;
    rc = mustache_render_range(&st, t, 0, t->node_count);
    if (rc == MUSTACHE_OK)
        rc = mustache_out_terminate(out);
    if (rc != MUSTACHE_OK) {
        out->len = start_len;
        if (out->data != NULL)
            out->data[start_len] = '\0';
    }
    return rc;
}

/* -------------------------------------------------------------- partials */

struct mustache_partials *mustache_partials_new(void)
{
    return calloc(1, sizeof(struct mustache_partials));
}

int mustache_partials_add(struct mustache_partials *p, const char *name,
                          const char *src, size_t len, struct mustache_error *err)
{
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len > MUSTACHE_NAME_MAX_BYTES) {
        mustache_error_set(err, 0, "partial name must be 1 to %d bytes",
                           MUSTACHE_NAME_MAX_BYTES);
        return -1;
    }
    struct mustache_partial_entry *e = NULL;
    for (size_t i = 0; i < p->count && e == NULL; i++)
        if (p->entries[i].name_len == name_len && memcmp(p->entries[i].name, name, name_len) == 0)
            e = &p->entries[i];
    if (e == NULL && p->count == MUSTACHE_PARTIALS_MAX) {
        mustache_error_set(err, 0, "more than %d partials", MUSTACHE_PARTIALS_MAX);
        return -1;
    }
    struct mustache_template *t = mustache_compile(src, len, err);
    if (t == NULL)
        return -1;
    if (e == NULL) {
        e = &p->entries[p->count++];
        memcpy(e->name, name, name_len + 1);
        e->name_len = name_len;
    } else {
        mustache_free(e->t);
    }
    e->t = t;
    return 0;
}

void mustache_partials_free(struct mustache_partials *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->count; i++)
        mustache_free(p->entries[i].t);
    free(p);
}
