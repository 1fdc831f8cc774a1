/* admin_page: the dashboard's page frame, for the pages of every domain
 * (admin's own, learning's, datasets', opportunities'): the session check
 * of a GET page, a template rendered inside the layout (title, navigation,
 * the session's CSRF token, the chart JSON), and the small view helpers
 * every page uses (one date-time format, counters, ratios, JSON built by
 * PostgreSQL). Invariants: user data reaches HTML only through {{ }}
 * (escaped); the one {{{ }}} is the chart JSON, with '<' escaped. */
#ifndef TALLY_ADMIN_PAGE_H
#define TALLY_ADMIN_PAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "admin_auth.h"
#include "../core/errors.h"

struct json_object;
struct request;
struct response;

#define admin_page_add(obj, key, val) json_object_object_add((obj), (key), (val))

/* The dashboard's one date-time format: "YYYY-MM-DD HH:MM UTC". SQL side
 * (a timestamptz column) and API side (admin_page_ts_of_iso). */
#define ADMIN_PAGE_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')"

/* Session check of a GET page: false with the response set (303 to the
 * login page, or 503). */
bool admin_page_session(struct request *req, struct response *res, struct admin_session *s);
/* Renders template tpl inside the layout (200, or status); takes data and
 * chart (NULL: no chart). nav_<tpl> marks the active navigation link. */
int admin_page_render(struct request *req, struct response *res, const struct admin_session *s, const char *tpl,
                      const char *title, struct json_object *data, struct json_object *chart);
int admin_page_render_status(struct request *req, struct response *res, int status, const struct admin_session *s,
                             const char *tpl, const char *title, struct json_object *data, struct json_object *chart);
/* A query whose one row and column is JSON built by PostgreSQL; NULL with
 * *e set on failure (ERR_NOT_FOUND: no row). *e is never reset, so a page
 * making several queries keeps the first error. */
struct json_object *admin_page_query_json(struct request *req, enum err *e, const char *sql, int nparams,
                                          const char *const *params);
struct json_object *admin_page_u64(uint64_t v);
/* hits / (hits + misses), or NULL (JSON null) when there was no read. */
struct json_object *admin_page_ratio(uint64_t hits, uint64_t misses);
/* obj[key] = "12.3%" of ratio, or "–" for NULL. */
void admin_page_pct_text(struct json_object *obj, const char *key, struct json_object *ratio);
/* An ISO 8601 "...Z" string of the API in the dashboard's format. */
struct json_object *admin_page_ts_of_iso(struct json_object *iso);
/* ["a", "b"] -> "a, b" (NULL when empty or not an array). */
struct json_object *admin_page_joined(struct json_object *list);

#endif
