/* templates: see templates.h. Owns the table of compiled templates and the
 * partials table built from the same files (one per worker: w->templates). */
#define _GNU_SOURCE
#include "templates.h"
#include "../core/log.h"
#include "../core/mustache.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct templates_entry {
    char name[TEMPLATES_NAME_BYTES];
    struct mustache_template *tpl;
};

struct templates {
    struct templates_entry table[TEMPLATES_MAX];
    int count;
    struct mustache_partials *partials;
};

void templates_free(struct templates *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->count; i++)
        mustache_free(t->table[i].tpl);
    mustache_partials_free(t->partials);
    free(t);
}

static char *templates_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0)
        goto out;
    long size = ftell(f);
    if (size < 0 || size > MUSTACHE_TEMPLATE_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    data = malloc((size_t)size + 1);
    if (data == NULL)
        goto out;
    if (fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
        goto out;
    }
    data[size] = '\0';
    *len = (size_t)size;
out:
    fclose(f);
    return data;
}

static int templates_add(struct templates *t, const char *dir, const char *file, char *err, size_t err_cap)
{
    size_t flen = strlen(file);
    size_t name_len = flen - strlen(".mustache");
    if (name_len == 0 || name_len >= TEMPLATES_NAME_BYTES) {
        snprintf(err, err_cap, "template name too long: %s", file);
        return -1;
    }
    if (t->count >= TEMPLATES_MAX) {
        snprintf(err, err_cap, "more than %d templates in %s", TEMPLATES_MAX, dir);
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    size_t len = 0;
    char *src = templates_read(path, &len);
    if (src == NULL) {
        snprintf(err, err_cap, "cannot read %s", path);
        return -1;
    }
    struct templates_entry *e = &t->table[t->count];
    memcpy(e->name, file, name_len);
    e->name[name_len] = '\0';
    struct mustache_error merr = {0};
    e->tpl = mustache_compile(src, len, &merr);
    int rc = 0;
    if (e->tpl == NULL || mustache_partials_add(t->partials, e->name, src, len, &merr) != 0) {
        snprintf(err, err_cap, "%s: %s", path, merr.message);
        mustache_free(e->tpl);
        e->tpl = NULL;
        rc = -1;
    } else {
        t->count++;
    }
    free(src);
    return rc;
}

struct templates *templates_load(const char *dir, char *err, size_t err_cap)
{
    struct templates *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->partials = mustache_partials_new()) == NULL) {
        snprintf(err, err_cap, "out of memory");
        templates_free(t);
        return NULL;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_cap, "cannot open template directory %s", dir);
        templates_free(t);
        return NULL;
    }
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d)) != NULL) {
        size_t n = strlen(ent->d_name);
        if (n > 9 && strcmp(ent->d_name + n - 9, ".mustache") == 0 && ent->d_name[0] != '.')
            rc = templates_add(t, dir, ent->d_name, err, err_cap);
    }
    closedir(d);
    if (rc != 0) {
        templates_free(t);
        return NULL;
    }
    return t;
}

int templates_render(const struct templates *t, const char *name, struct json_object *data,
                     struct mustache_out *out)
{
    if (t == NULL) {
        log_error("templates: not loaded (see the worker's start-up log)");
        return -1;
    }
    for (int i = 0; i < t->count; i++) {
        if (strcmp(t->table[i].name, name) != 0)
            continue;
        int rc = mustache_render(t->table[i].tpl, data, t->partials, out);
        if (rc != MUSTACHE_OK) {
            log_error("templates: rendering %s: %s", name, mustache_strerror(rc));
            return -1;
        }
        return 0;
    }
    log_error("templates: no template named %s", name);
    return -1;
}
