/* module: the one table through which every domain plugs in (nginx's
 * ngx_module_t, redis's command table). core, store, cache and the job
 * engine walk `tally_modules[]` (app/modules.c) and never include a
 * domain header.
 *
 * A domain brings: its routes, its job kinds, its tallyctl commands, its
 * config keys, its cache namespaces, per-process init/free (worker, job
 * runner and CLI alike), its /metrics lines and its event subscriptions.
 * Module code takes a `struct tally_ctx`, never the worker, so the same
 * service function runs from a request, a job or the command line. */
#ifndef TALLY_MODULE_H
#define TALLY_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct arena;
struct buf;
struct cache;
struct config;
struct db;
struct jobs_handler;
struct request;
struct response;
struct route;
struct shm;

#define MODULE_MAX 32                  /* entries of tally_modules[] */

enum tally_ctx_kind { TALLY_CTX_WORKER, TALLY_CTX_RUNNER, TALLY_CTX_CLI };

/* What module code is handed: one per process (worker, runner, CLI). The
 * arena is the current request's or job's (NULL in between). state[i] is
 * module i's per-process state, made by its init_child. */
struct tally_ctx {
    enum tally_ctx_kind kind;
    const struct config *cfg;
    struct db *db;
    struct cache *cache;               /* may be disabled: every call then fails soft */
    struct shm *shm;                   /* NULL in the CLI */
    const struct router *router;       /* workers only */
    int worker_slot;                   /* scoreboard slot (shm->workers), -1 outside workers */
    int listen_fd;                     /* the FastCGI socket, -1 outside workers */
    struct arena *arena;
    void *state[MODULE_MAX];
};

/* Something that happened which other domains derive data from. The writer
 * publishes; subscribers (on_event) react. A writer never includes its
 * readers' headers. */
enum tally_event_kind {
    TALLY_EVENT_TRANSACTIONS_CHANGED,  /* rows of user_id were inserted/changed/deleted */
    TALLY_EVENT_PROFILE_CHANGED,       /* the profile inputs of user_id changed */
    TALLY_EVENT_KINDS
};

struct tally_event {
    enum tally_event_kind kind;
    int64_t user_id;
};

/* One tallyctl command. argv[0] is the command name. Returns the exit
 * status (0 ok, 1 failure, 2 usage). */
struct module_command {
    const char *name;
    const char *synopsis;              /* "precompute --all | --user N [--month YYYY-MM]" */
    const char *summary;               /* one line for the usage text */
    int (*run)(struct tally_ctx *ctx, int argc, char **argv);
};

/* A config key of a module (docs/config.md lists them all). Values are
 * kept as text in the config and read with config_module_int / _str. */
struct module_config_key {
    const char *name;
    const char *default_value;
    long min, max;                     /* for integers; min > max: a string key */
    const char *help;
};

struct tally_module {
    const char *name;
    const struct route *routes;
    size_t route_count;
    const struct jobs_handler *jobs;
    size_t job_count;
    const struct module_command *commands;
    size_t command_count;
    const struct module_config_key *config;
    size_t config_count;
    const char *const *cache_namespaces;   /* NULL-terminated; NULL = none */
    size_t shm_bytes;                      /* shared counters of the module (module_shm) */
    bool debug_only;                       /* routes and job kinds exist only with debug_routes = 1 */
    /* Runs for every matched request, in table order, after the query is
     * parsed and before the body is read (auth, rate limits). An error
     * stops the request. */
    int (*filter)(struct request *req, struct response *res);
    /* Errors of requests under error_page_prefix ("/admin/") are rendered
     * by error_page (an HTML page in the dashboard's layout) instead of the
     * JSON error body; it returns 0 when it answered. */
    const char *error_page_prefix;
    int (*error_page)(struct request *req, struct response *res, int status, const char *message);
    /* tallyd's master at start and at `tallyd -t`: checks the module's
     * files and settings (0, or -1 with a message in err). */
    int (*init_master)(const struct config *cfg, char *err, size_t err_cap);
    int (*init_child)(struct tally_ctx *ctx, void **state);   /* 0 or -1 */
    void (*free_child)(struct tally_ctx *ctx, void *state);
    void (*metrics)(const struct tally_ctx *ctx, struct buf *out);   /* Prometheus lines */
    void (*on_event)(struct tally_ctx *ctx, const struct tally_event *ev);
    /* `tallyctl seed-demo`, after the demo users and their transactions:
     * the module's own demo data for those users (deterministic in seed).
     * Progress and a summary line go to out. 0 or -1. */
    int (*seed_demo)(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count, FILE *out);
};

/* The table (app/modules.c): NULL-terminated, in registration order. */
extern const struct tally_module *const tally_modules[];

struct cache_shared;
struct router;
#include <stdio.h>

int module_count(void);
/* Index of a module in the table, -1 if absent (for ctx->state lookups). */
int module_index(const char *name);
/* Module `name`'s per-process state (NULL if none). */
void *module_state(const struct tally_ctx *ctx, const char *name);
/* Delivers ev to every module's on_event (in table order). */
void module_publish(struct tally_ctx *ctx, const struct tally_event *ev);

/* Every module's init_master; stops at the first failure (err names the module). */
int module_init_master(const struct config *cfg, char *err, size_t err_cap);
/* The error page of the module owning req's path prefix; false if none
 * answered (the caller renders the JSON error). */
bool module_error_page(struct request *req, struct response *res, int status, const char *message);
/* Every module's filter in table order; the first error wins. */
int module_filter_request(struct request *req, struct response *res);
/* Routes of every module (debug_only ones only when debug_routes). */
int module_routes_register(struct router *r, bool debug_routes);
/* Every module's init_child in table order (state into ctx->state[i]); on a
 * failure the ones already made are freed and -1 returned. */
int module_init_children(struct tally_ctx *ctx);
void module_free_children(struct tally_ctx *ctx);

/* Job kinds of all modules, numbered in table order (debug_only modules'
 * kinds keep their numbers, so counters stay put, but are found by
 * module_job_index only when debug is true). */
int module_job_count(void);
const struct jobs_handler *module_job_at(int index);   /* NULL past the end */
int module_job_index(const char *kind, bool debug);    /* -1 if unknown (or debug-only without debug) */

const struct module_command *module_command_find(const char *name);
void module_command_line(FILE *out, const struct module_command *c);   /* its line in the usage text */

const struct module_config_key *module_config_key_at(int index);

/* Registers every module's cache namespaces (master before fork, or a
 * process's private counters). 0 or -1. */
int module_cache_namespaces(struct cache_shared *shared);
/* Every module's seed_demo in table order; the name of the first that
 * failed in *failed (NULL if none). 0 or -1. */
int module_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count, FILE *out,
                     const char **failed);
/* Every module's /metrics lines. */
void module_metrics(const struct tally_ctx *ctx, struct buf *out);

struct shm;
/* Places each module's shm_bytes in shm->modules (master, before fork). */
int module_shm_layout(struct shm *shm);
/* Module `name`'s shared area, NULL if it has none or shm is NULL. */
void *module_shm(const struct shm *shm, const char *name);

#endif
