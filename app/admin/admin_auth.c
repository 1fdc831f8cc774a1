/* admin_auth: see admin_auth.h. Owns the login/logout routes, the session
 * lookup, CSRF checks and failed-login throttling. Invariants: the cookie
 * value is never stored or logged, only its SHA-256; every comparison of a
 * secret is constant-time; a POST is never acted on without both a live
 * session and its CSRF token. */
#define _GNU_SOURCE
#include "admin_auth.h"
#include "../core/module.h"
#include "templates.h"
#include "../core/arena.h"
#include "../core/cli.h"
#include "../core/log.h"
#include "../core/mustache.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/sha256.h"
#include "../core/text.h"
#include "admin.h"
#include "../store/db.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- small helpers --------------------------------------------------------- */

#define ADMIN_AUTH_STR_(x) #x
#define ADMIN_AUTH_STR(x) ADMIN_AUTH_STR_(x)

/* 256 random bits as 64 hex digits (session ids, CSRF tokens). */
static void admin_auth_random_hex(char out[65])
{
    uint8_t raw[32];
    arc4random_buf(raw, sizeof(raw));
    text_hex(raw, sizeof(raw), out);
}

static bool admin_auth_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0 && la > 0;
}

/* Value of cookie `name` (arena copy), or NULL. */
static const char *admin_auth_cookie(struct request *req, const char *name)
{
    const char *h = request_header(req, "HTTP_COOKIE");
    size_t nlen = strlen(name);
    while (h != NULL && *h != '\0') {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t len = end ? (size_t)(end - h) : strlen(h);
        if (len > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=')
            return arena_strndup(req->arena, h + nlen + 1, len - nlen - 1);
        h = end;
    }
    return NULL;
}

static bool admin_auth_tls(const struct request *req)
{
    const char *https = request_param(req, "HTTPS");
    return https != NULL && strcasecmp(https, "on") == 0;
}

static void admin_auth_set_cookie(struct request *req, struct response *res, const char *name, const char *value,
                                  long max_age_s)
{
    response_header(res, "Set-Cookie",
                    arena_sprintf(req->arena, "%s=%s; Max-Age=%ld; Path=/admin; HttpOnly; SameSite=Strict%s", name,
                                  value, max_age_s, admin_auth_tls(req) ? "; Secure" : ""));
}

const char *admin_auth_form(struct request *req, const char *name)
{
    if (req->body == NULL)
        return NULL;
    size_t nlen = strlen(name);
    const char *p = req->body;
    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq != NULL && (size_t)(eq - p) == nlen && strncmp(p, name, nlen) == 0) {
            size_t vlen = len - nlen - 1;
            char *out = arena_alloc(req->arena, vlen + 1);
            if (out == NULL || text_percent_decode(eq + 1, vlen, out, vlen + 1, true) == TEXT_NO_FIT)
                return NULL;
            return out;
        }
        if (amp == NULL)
            break;
        p = amp + 1;
    }
    return NULL;
}

int admin_auth_redirect(struct response *res, const char *location)
{
    response_body(res, 303, "text/plain; charset=utf-8", "", 0);
    response_header(res, "Location", location);
    response_header(res, "Cache-Control", "no-store");
    return ERR_NONE;
}

int admin_auth_html(struct request *req, struct response *res, int status, const char *tpl,
                           struct json_object *data)
{
    struct mustache_out out;
    mustache_out_init(&out, 0);
    int rc = templates_render(admin_templates(req->ctx), tpl, data, &out);
    json_object_put(data);
    if (rc != 0) {
        mustache_out_free(&out);
        return request_fail(req, ERR_INTERNAL, NULL, "cannot render the %s page", tpl);
    }
    response_body_owned(res, status, "text/html; charset=utf-8", out.data, out.len);
    response_header(res, "Cache-Control", "no-store");
    return ERR_NONE;
}

int admin_auth_error_page(struct request *req, struct response *res, int status, const char *message)
{
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "title", json_object_new_string("Error"));
    json_object_object_add(d, "status", json_object_new_int(status));
    json_object_object_add(d, "message", json_object_new_string(message));
    return admin_auth_html(req, res, status, "error", d);
}

/* ---- sessions -------------------------------------------------------------- */

enum err admin_auth_session(struct request *req, struct admin_session *s)
{
    memset(s, 0, sizeof(*s));
    const char *id = admin_auth_cookie(req, ADMIN_AUTH_COOKIE);
    if (id == NULL || strlen(id) != 64)
        return ERR_UNAUTHENTICATED;
    char hash[65];
    sha256_hex(id, 64, hash);
    const char *params[] = {hash};
    enum err e = ERR_NONE;
    db_result *r = db_query(req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT s.admin_id, u.username, s.csrf_token FROM admin_sessions s "
                            "JOIN admin_users u ON u.id = s.admin_id WHERE s.id_hash = $1 AND s.expires_at > now()",
                            1, params);
    if (r == NULL)
        return e;
    if (db_rows(r) != 1) {
        db_clear(r);
        return ERR_UNAUTHENTICATED;
    }
    s->admin_id = db_int64(r, 0, 0);
    snprintf(s->username, sizeof(s->username), "%s", db_value(r, 0, 1));
    snprintf(s->csrf, sizeof(s->csrf), "%s", db_value(r, 0, 2));
    db_clear(r);
    return ERR_NONE;
}

bool admin_auth_post(struct request *req, struct response *res, struct admin_session *s)
{
    enum err e = admin_auth_session(req, s);
    if (e == ERR_UNAUTHENTICATED) {
        admin_auth_redirect(res, "/admin/login");
        return false;
    }
    if (e != ERR_NONE) {
        admin_auth_error_page(req, res, 503, "The database is unavailable.");
        return false;
    }
    if (!admin_auth_equal(admin_auth_form(req, ADMIN_AUTH_CSRF_FIELD), s->csrf)) {
        admin_auth_error_page(req, res, 403, "Invalid or missing CSRF token: reload the page and try again.");
        return false;
    }
    return true;
}

/* ---- login / logout ---------------------------------------------------------- */

static int admin_auth_login_form(struct request *req, struct response *res, int status, const char *username,
                                 const char *error)
{
    char token[65];
    admin_auth_random_hex(token);
    admin_auth_set_cookie(req, res, ADMIN_AUTH_LOGIN_COOKIE, arena_strndup(req->arena, token, 64), 3600);
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "title", json_object_new_string("Log in"));
    json_object_object_add(d, "csrf_token", json_object_new_string(token));
    json_object_object_add(d, "username", json_object_new_string(username ? username : ""));
    if (error != NULL)
        json_object_object_add(d, "error", json_object_new_string(error));
    return admin_auth_html(req, res, status, "login", d);
}

/* GET /admin/login */
static int admin_auth_login_page(struct request *req, struct response *res)
{
    struct admin_session s;
    if (admin_auth_session(req, &s) == ERR_NONE)
        return admin_auth_redirect(res, "/admin/");
    return admin_auth_login_form(req, res, 200, NULL, NULL);
}

/* Recent failures for this username and this address. */
static enum err admin_auth_failures(struct request *req, const char *username, const char *address, long *by_user,
                                    long *by_address)
{
    const char *params[] = {username, address};
    enum err e = ERR_NONE;
    db_result *r = db_query(req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT count(*) FILTER (WHERE username = $1), count(*) FILTER (WHERE address = $2) "
                            "FROM admin_login_failures WHERE (username = $1 OR address = $2) "
                            "AND failed_at > now() - interval '" ADMIN_AUTH_STR(ADMIN_AUTH_FAIL_WINDOW_MIN) " minutes'",
                            2, params);
    if (r == NULL)
        return e;
    *by_user = (long)db_int64(r, 0, 0);
    *by_address = (long)db_int64(r, 0, 1);
    db_clear(r);
    return ERR_NONE;
}

static enum err admin_auth_session_create(struct request *req, int64_t admin_id, char id_out[65])
{
    char hash[65], csrf[65], admin[24];
    admin_auth_random_hex(id_out);
    admin_auth_random_hex(csrf);
    sha256_hex(id_out, 64, hash);
    snprintf(admin, sizeof(admin), "%lld", (long long)admin_id);
    const char *params[] = {hash, admin, csrf};
    db_exec(req->ctx->db, 0, "DELETE FROM admin_sessions WHERE expires_at < now()", 0, NULL);
    return db_exec(req->ctx->db, 0,
                   "INSERT INTO admin_sessions (id_hash, admin_id, csrf_token, expires_at) "
                   "VALUES ($1, $2, $3, now() + interval '" ADMIN_AUTH_STR(ADMIN_AUTH_SESSION_HOURS) " hours')",
                   3, params);
}

/* POST /admin/login (username, password, csrf_token) */
static int admin_auth_login(struct request *req, struct response *res)
{
    const char *form_csrf = admin_auth_form(req, ADMIN_AUTH_CSRF_FIELD);
    if (!admin_auth_equal(form_csrf, admin_auth_cookie(req, ADMIN_AUTH_LOGIN_COOKIE)))
        return admin_auth_error_page(req, res, 403, "Invalid or missing CSRF token: reload the login page.");
    const char *username = admin_auth_form(req, "username");
    const char *password = admin_auth_form(req, "password");
    if (username == NULL || password == NULL || username[0] == '\0' ||
        strlen(username) > ADMIN_AUTH_USERNAME_BYTES || strlen(password) > ADMIN_AUTH_PASSWORD_BYTES ||
        !text_is_utf8(username, strlen(username)))
        return admin_auth_login_form(req, res, 400, NULL, "Enter a username and a password.");
    const char *address = request_param(req, "REMOTE_ADDR");
    if (address == NULL)
        address = "";
    long by_user = 0, by_address = 0;
    enum err e = admin_auth_failures(req, username, address, &by_user, &by_address);
    if (e != ERR_NONE)
        return admin_auth_error_page(req, res, 503, "The database is unavailable.");
    if (by_user >= ADMIN_AUTH_FAIL_PER_USER || by_address >= ADMIN_AUTH_FAIL_PER_ADDRESS) {
        log_warn("admin login throttled for user \"%s\" from %s", username, address);
        response_header(res, "Retry-After", arena_sprintf(req->arena, "%d", ADMIN_AUTH_FAIL_WINDOW_MIN * 60));
        return admin_auth_login_form(req, res, 429, username,
                                     "Too many failed logins: try again in " ADMIN_AUTH_STR(ADMIN_AUTH_FAIL_WINDOW_MIN)
                                     " minutes.");
    }
    const char *params[] = {username, password};
    db_result *r = db_query(req->ctx->db, &e, 0,
                            "SELECT id FROM admin_users WHERE username = $1 AND password_hash = crypt($2, password_hash)",
                            2, params);
    if (r == NULL)
        return admin_auth_error_page(req, res, 503, "The database is unavailable.");
    int64_t admin_id = db_rows(r) == 1 ? db_int64(r, 0, 0) : 0;
    db_clear(r);
    if (admin_id == 0) {
        const char *fparams[] = {username, address};
        db_exec(req->ctx->db, 0, "INSERT INTO admin_login_failures (username, address) VALUES ($1, $2)", 2,
                fparams);
        log_warn("admin login failed for user \"%s\" from %s", username, address);
        return admin_auth_login_form(req, res, 401, username, "Wrong username or password.");
    }
    db_exec(req->ctx->db, 0, "DELETE FROM admin_login_failures WHERE username = $1", 1, params);
    char id[65];
    if (admin_auth_session_create(req, admin_id, id) != ERR_NONE)
        return admin_auth_error_page(req, res, 503, "The database is unavailable.");
    admin_auth_set_cookie(req, res, ADMIN_AUTH_COOKIE, arena_strndup(req->arena, id, 64),
                          ADMIN_AUTH_SESSION_HOURS * 3600L);
    admin_auth_set_cookie(req, res, ADMIN_AUTH_LOGIN_COOKIE, "", 0);
    log_info("admin login: %s from %s", username, address);
    return admin_auth_redirect(res, "/admin/");
}

/* POST /admin/logout (csrf_token) */
static int admin_auth_logout(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_auth_post(req, res, &s))
        return ERR_NONE;
    const char *id = admin_auth_cookie(req, ADMIN_AUTH_COOKIE);
    char hash[65];
    sha256_hex(id, strlen(id), hash);
    const char *params[] = {hash};
    db_exec(req->ctx->db, 0, "DELETE FROM admin_sessions WHERE id_hash = $1", 1, params);
    admin_auth_set_cookie(req, res, ADMIN_AUTH_COOKIE, "", 0);
    return admin_auth_redirect(res, "/admin/login");
}

enum err admin_auth_user_create(struct db *db, const char *username, const char *password, bool replace)
{
    const char *params[] = {username, password};
    if (replace)
        return db_exec(db, 0,
                       "INSERT INTO admin_users (username, password_hash) VALUES ($1, crypt($2, gen_salt('bf', 12))) "
                       "ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash",
                       2, params);
    return db_exec(db, 0, "INSERT INTO admin_users (username, password_hash) VALUES ($1, crypt($2, gen_salt('bf', 12)))",
                   2, params);
}

/* ---- tallyctl admin create ------------------------------------------------- */

static const char admin_auth_create_syn[] = "admin create --username U [--replace]";
static const struct cli_option admin_auth_create_opts[] = {
    {"--username", NULL, CLI_VALUE, "U", "the login name (1 to 64 bytes)"},
    {"--replace", NULL, CLI_FLAG, NULL, "set a new password if the user exists"},
};
static const struct cli_spec admin_auth_create_spec = {
    .prog = "tallyctl admin create", .synopsis = admin_auth_create_syn,
    .summary = "Creates a dashboard user. The password (8 to 1024 bytes) is one line of stdin,\n"
               "prompted without echo on a terminal; never an argument (ps would show it).",
    .options = admin_auth_create_opts, .option_count = 2};

static int admin_auth_cli_create(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &admin_auth_create_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    const char *username = cli_value(spec, &a, "--username");
    if (username == NULL || username[0] == '\0')
        return cli_usage_error(spec, "--username is required");
    if (strlen(username) > ADMIN_AUTH_USERNAME_BYTES)
        return cli_usage_error(spec, "--username is at most %d bytes", ADMIN_AUTH_USERNAME_BYTES);
    char line[ADMIN_AUTH_PASSWORD_BYTES + 2];
    const char *password = NULL;
    if (isatty(STDIN_FILENO)) {
        password = getpass("Password: ");
    } else if (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        password = line;
    }
    if (password == NULL || strlen(password) < 8 || strlen(password) > ADMIN_AUTH_PASSWORD_BYTES)
        return cli_usage_error(spec, "the password (one line of stdin) must be 8 to %d bytes",
                               ADMIN_AUTH_PASSWORD_BYTES);
    enum err e = admin_auth_user_create(ctx->db, username, password, cli_flag(spec, &a, "--replace"));
    if (e == ERR_CONFLICT)
        return cli_fail(spec, "admin user %s exists (use --replace to set a new password)", username);
    if (e != ERR_NONE)
        return cli_db_fail(spec, ctx->db, e);
    printf("admin user %s ready\n", username);
    return 0;
}

static const struct module_command admin_auth_commands[] = {
    {"admin create", admin_auth_create_syn, "create a dashboard user (password on stdin)", admin_auth_cli_create},
};

/* "sessions": declared for the cache page; sessions live in PostgreSQL. */
static const char *const admin_auth_cache_namespaces[] = {"sessions", NULL};

static const struct route admin_auth_routes[] = {
    {"GET", "/admin/login", admin_auth_login_page, ROUTE_PUBLIC},
    {"POST", "/admin/login", admin_auth_login, ROUTE_PUBLIC},
    {"POST", "/admin/logout", admin_auth_logout, ROUTE_PUBLIC},
};

const struct tally_module admin_auth_module = {
    .name = "admin_auth",
    .routes = admin_auth_routes,
    .route_count = sizeof(admin_auth_routes) / sizeof(admin_auth_routes[0]),
    .commands = admin_auth_commands,
    .command_count = sizeof(admin_auth_commands) / sizeof(admin_auth_commands[0]),
    .cache_namespaces = admin_auth_cache_namespaces,
};
