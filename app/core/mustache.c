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
#include "mustache_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

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
