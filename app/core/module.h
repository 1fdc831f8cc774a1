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

struct arena;
struct buf;
struct cache;
struct config;
struct db;
struct jobs_handler;
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
    bool debug_only;                       /* routes registered only with debug_routes = 1 */
    int (*init_child)(struct tally_ctx *ctx, void **state);   /* 0 or -1 */
    void (*free_child)(struct tally_ctx *ctx, void *state);
    void (*metrics)(const struct tally_ctx *ctx, struct buf *out);   /* Prometheus lines */
    void (*on_event)(struct tally_ctx *ctx, const struct tally_event *ev);
};

/* The table (app/modules.c): NULL-terminated, in registration order. */
extern const struct tally_module *const tally_modules[];

/* Delivers ev to every module's on_event (in table order). */
void module_publish(struct tally_ctx *ctx, const struct tally_event *ev);
/* Index of a module in the table, -1 if absent (for ctx->state lookups). */
int module_index(const char *name);
/* Module `name`'s per-process state (NULL if none). */
void *module_state(const struct tally_ctx *ctx, const char *name);

#endif
