/* router: see router.h. A path is matched segment by segment against each
 * pattern; `{name}` matches any one non-empty segment. Of the patterns that
 * match a path, the most literal one wins (a literal segment beats a
 * parameter at the first segment where they differ), whatever the method:
 * PATCH /opportunities/stats is a 405 of the literal `stats` route, never a
 * call of the `{opportunity_id}` route with "stats" as the id. */
#include "router.h"

#include <string.h>

void router_init(struct router *r)
{
    r->count = 0;
}

int router_add(struct router *r, const struct route *routes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (r->count >= LIMIT_ROUTES)
            return -1;
        r->routes[r->count++] = &routes[i];
    }
    return 0;
}

/* Next segment of s starting at *pos (after a '/'); returns its length, or
 * -1 at the end. */
static int router_next_segment(const char *s, size_t *pos, const char **seg)
{
    if (s[*pos] == '\0')
        return -1;
    if (s[*pos] == '/')
        (*pos)++;
    size_t start = *pos;
    while (s[*pos] != '\0' && s[*pos] != '/')
        (*pos)++;
    *seg = s + start;
    return (int)(*pos - start);
}

static bool router_is_param(const char *seg, int len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

static bool router_path_matches(const char *pattern, const char *path, struct route_match *m)
{
    size_t pp = 0, sp = 0;
    m->param_count = 0;
    if (pattern[0] != '/' || path[0] != '/')
        return false;
    for (;;) {
        const char *pseg = NULL, *sseg = NULL;
        int plen = router_next_segment(pattern, &pp, &pseg);
        int slen = router_next_segment(path, &sp, &sseg);
        if (plen < 0 || slen < 0)
            return plen < 0 && slen < 0;
        if (router_is_param(pseg, plen)) {
            if (slen == 0 || m->param_count >= LIMIT_PATH_PARAMS)
                return false;
            struct route_param *p = &m->params[m->param_count++];
            p->name = pseg + 1;
            p->name_len = (size_t)plen - 2;
            p->value = sseg;
            p->value_len = (size_t)slen;
        } else if (plen != slen || memcmp(pseg, sseg, (size_t)plen) != 0) {
            return false;
        }
    }
}

static void router_allow_append(struct route_match *m, const char *method)
{
    if (strstr(m->allow, method) != NULL)
        return;
    size_t used = strlen(m->allow);
    size_t need = strlen(method) + (used ? 2 : 0);
    if (used + need + 1 > sizeof(m->allow))
        return;
    if (used)
        strcat(m->allow, ", ");
    strcat(m->allow, method);
}

/* Of two patterns that match the same path (so with as many segments):
 * < 0 when a is more literal than b, > 0 when b is, 0 when they have the
 * same shape (then they are the same pattern but for parameter names). */
static int router_literal_cmp(const char *a, const char *b)
{
    size_t ap = 0, bp = 0;
    for (;;) {
        const char *as = NULL, *bs = NULL;
        int al = router_next_segment(a, &ap, &as);
        int bl = router_next_segment(b, &bp, &bs);
        if (al < 0 || bl < 0)
            return 0;
        bool a_param = router_is_param(as, al), b_param = router_is_param(bs, bl);
        if (a_param != b_param)
            return a_param ? 1 : -1;
    }
}

static bool router_method_serves(const struct route *rt, const char *method)
{
    return strcmp(rt->method, method) == 0 || (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0);
}

enum router_result router_match(const struct router *r, const char *method, const char *path,
                                struct route_match *m)
{
    /* One pass: best is the most literal pattern matching path so far; a
     * more literal one starts over (its shape's 405 Allow and its serving
     * route). Of the routes of best's shape, in table order, the first
     * with the method serves; the methods of those before it make the
     * Allow of a 405. */
    const char *best = NULL;
    int found = -1;
    m->route = NULL;
    m->route_index = -1;
    m->allow[0] = '\0';
    for (int i = 0; i < r->count; i++) {
        const struct route *rt = r->routes[i];
        if (!router_path_matches(rt->pattern, path, m))
            continue;
        int cmp = best == NULL ? -1 : router_literal_cmp(rt->pattern, best);
        if (cmp > 0 || (cmp == 0 && found >= 0))
            continue;
        if (cmp < 0) {
            best = rt->pattern;
            found = -1;
            m->allow[0] = '\0';
        }
        if (router_method_serves(rt, method))
            found = i;
        else
            router_allow_append(m, rt->method);
    }
    if (found < 0) {
        m->param_count = 0;
        return best == NULL ? ROUTER_NOT_FOUND : ROUTER_METHOD_NOT_ALLOWED;
    }
    router_path_matches(r->routes[found]->pattern, path, m);   /* its parameters */
    m->route = r->routes[found];
    m->route_index = found;
    return ROUTER_FOUND;
}

const struct route_param *router_param(const struct route_match *m, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < m->param_count; i++)
        if (m->params[i].name_len == n && memcmp(m->params[i].name, name, n) == 0)
            return &m->params[i];
    return NULL;
}
