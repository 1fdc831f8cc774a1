/* router: see router.h. A path is matched segment by segment against each
 * pattern; `{name}` matches any one non-empty segment. */
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
        if (plen >= 2 && pseg[0] == '{' && pseg[plen - 1] == '}') {
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

enum router_result router_match(const struct router *r, const char *method, const char *path,
                                struct route_match *m)
{
    bool path_seen = false;
    m->route = NULL;
    m->route_index = -1;
    m->allow[0] = '\0';
    for (int i = 0; i < r->count; i++) {
        const struct route *rt = r->routes[i];
        if (!router_path_matches(rt->pattern, path, m))
            continue;
        if (strcmp(rt->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            m->route = rt;
            m->route_index = i;
            return ROUTER_FOUND;
        }
        path_seen = true;
        router_allow_append(m, rt->method);
    }
    m->param_count = 0;
    return path_seen ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

const struct route_param *router_param(const struct route_match *m, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < m->param_count; i++)
        if (m->params[i].name_len == n && memcmp(m->params[i].name, name, n) == 0)
            return &m->params[i];
    return NULL;
}
