/* templates: the dashboard's Mustache templates (templates_dir/NAME.mustache,
 * config key templates_dir), compiled once by each worker when it starts
 * and kept for the life of the process. tallyd loads them once at start
 * too, so a syntax error stops it with the file and line. A SIGHUP starts
 * new workers, which read the files again: that is how edited templates go
 * live. Every template is also registered as a partial under its name, so
 * pages share the layout with {{> layout_head}} ... {{> layout_foot}}. */
#ifndef TALLY_TEMPLATES_H
#define TALLY_TEMPLATES_H

#include <stddef.h>

struct json_object;
struct mustache_out;
struct templates;

#define TEMPLATES_MAX        48
#define TEMPLATES_NAME_BYTES 64

/* Loads every *.mustache of dir. NULL with a message in err (a syntax
 * error names the file and line). */
struct templates *templates_load(const char *dir, char *err, size_t err_cap);
/* Renders template `name` with data and appends to out. Returns 0 or -1
 * (no templates loaded, unknown template, render error: logged). */
int templates_render(const struct templates *t, const char *name, struct json_object *data,
                     struct mustache_out *out);
void templates_free(struct templates *t);

#endif
