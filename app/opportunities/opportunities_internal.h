/* opportunities_internal: what the domain's files share and nothing outside
 * app/opportunities/ includes: the JSON and cache-key helpers of
 * opportunities.c and the preferences reader of opportunities_prefs.c. */
#ifndef TALLY_OPPORTUNITIES_INTERNAL_H
#define TALLY_OPPORTUNITIES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "opportunities.h"

struct json_object;
struct opportunities_prefs;

/* opportunities.c */
/* Serialises and frees o into *json (malloc'd) and *len. */
enum err opp_take_json(struct json_object *o, char **json, size_t *len);
/* The cache key of kind 'o' (one opportunity id of user_id) or 's' (the
 * stats of user_id; id unused). */
size_t opp_key(char out[48], char kind, int64_t user_id, int64_t id);

/* opportunities_prefs.c */
/* Validates a preferences object into p (every field, defaults filled). */
enum err opr_parse(struct json_object *o, struct opportunities_prefs *p, struct opp_error *oe);

#endif
