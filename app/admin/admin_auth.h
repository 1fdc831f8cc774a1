/* admin_auth: login, sessions and CSRF of the HTML dashboard (/admin/).
 * Admin users live in PostgreSQL (sql/006_admin.up.sql) with a bcrypt
 * hash made by pgcrypto; a login creates a server-side session whose random
 * 256-bit id is the cookie (only its SHA-256 is stored). Each session has
 * its own CSRF token, put in every form and checked on every POST. The
 * login form itself uses a double-submit token (cookie + hidden field).
 * Failed logins are counted per username and per client address; past the
 * limits the login answers 429. Design notes: docs/admin.md. */
#ifndef TALLY_ADMIN_AUTH_H
#define TALLY_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/errors.h"
#include "../core/module.h"
#include "../core/router.h"

struct json_object;
struct request;
struct response;
struct db;

#define ADMIN_AUTH_COOKIE            "tally_admin"
#define ADMIN_AUTH_LOGIN_COOKIE      "tally_login_csrf"
#define ADMIN_AUTH_CSRF_FIELD        "csrf_token"
#define ADMIN_AUTH_SESSION_HOURS     8
#define ADMIN_AUTH_FAIL_WINDOW_MIN   15
#define ADMIN_AUTH_FAIL_PER_USER     5     /* failures per username in the window */
#define ADMIN_AUTH_FAIL_PER_ADDRESS  20    /* failures per client address in the window */
#define ADMIN_AUTH_USERNAME_BYTES    64
#define ADMIN_AUTH_PASSWORD_BYTES    1024

struct admin_session {
    int64_t admin_id;
    char username[ADMIN_AUTH_USERNAME_BYTES + 1];
    char csrf[65];
};

/* The session of the request's cookie: ERR_NONE, ERR_UNAUTHENTICATED (none,
 * unknown or expired) or ERR_UNAVAILABLE (database down). */
enum err admin_auth_session(struct request *req, struct admin_session *s);
/* For POST handlers: the session and a valid CSRF field. On failure the
 * response is already set (303 to the login page, or 403) and false is
 * returned. */
bool admin_auth_post(struct request *req, struct response *res, struct admin_session *s);
/* Field of an application/x-www-form-urlencoded body (decoded, arena), or NULL. */
const char *admin_auth_form(struct request *req, const char *name);
/* 303 See Other to location. */
int admin_auth_redirect(struct response *res, const char *location);
/* Renders template tpl with data (taken) as the whole answer, no-store. */
int admin_auth_html(struct request *req, struct response *res, int status, const char *tpl,
                    struct json_object *data);
/* A short HTML error page (403, 429, 503 ...). */
int admin_auth_error_page(struct request *req, struct response *res, int status, const char *message);

/* tallyctl: creates (or, with replace, re-keys) an admin user. */
enum err admin_auth_user_create(struct db *db, const char *username, const char *password, bool replace);

extern const struct tally_module admin_auth_module;

#endif
