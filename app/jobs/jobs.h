/* jobs: the job queue in PostgreSQL (tables in sql/004_jobs.up.sql, design
 * in docs/jobs.md). It owns the handlers table (kind -> function), the
 * queue statements shared by the admin API (jobs_http.c) and the command
 * line (jobs_cli.c), the cron-like schedules and the runner loop, which
 * runs as the tallyd master's supervised child (jobs_runner_main) or
 * standalone (`tallyctl worker`, jobs_run).
 *
 * Invariants: a job is taken with FOR UPDATE SKIP LOCKED, so no two runners
 * hold it at once; a runner only finishes a job it still holds
 * (locked_by = its name), so a job re-queued after its lock expired is not
 * finished twice; every attempt that ends leaves one job_runs row. */
#ifndef TALLY_JOBS_H
#define TALLY_JOBS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/errors.h"
#include "../store/db.h"

struct config;
struct shm;
struct tally_ctx;
struct json_object;

#define JOBS_CHANNEL            "tally_jobs"   /* NOTIFY channel of sql/004's trigger */
#define JOBS_KIND_BYTES         64
#define JOBS_ERROR_BYTES        512
#define JOBS_SCHEDULES_MAX      64             /* schedules evaluated per tick */
#define JOBS_SCHEDULE_LOOKBACK_MIN 1440        /* a missed slot still fires within 24 h */
#define JOBS_MAINTENANCE_MS     1000           /* stale locks and schedules: at most this often */
#define JOBS_CLEANUP_MS         60000          /* retention delete: at most this often */
#define JOBS_TROUBLE_MAX_MS     30000          /* longest sleep while the database fails */
#define JOBS_SLEEP_MAX_MS       600000         /* `sleep` kind payload bound */
#define JOBS_HEARTBEAT_MAX_MS   10000          /* longest gap between two lock renewals */

enum jobs_priority { JOBS_PRIORITY_HIGH = 0, JOBS_PRIORITY_NORMAL = 1, JOBS_PRIORITY_LOW = 2 };

/* What a handler gets. It sets error (and returns -1) when the attempt failed. */
struct cache;

struct jobs_ctx {
    struct db *db;
    struct cache *cache;           /* may be disabled (no memcached configured or reachable) */
    const struct config *cfg;
    struct tally_ctx *tally;       /* for module services: db, cache, cfg, arena, module states */
    int64_t job_id;
    int attempt;                   /* 1 for the first */
    const char *runner;            /* locked_by */
    uint64_t beat_ms;              /* last heartbeat (monotonic ms) */
    char error[JOBS_ERROR_BYTES];
};

/* Long handlers call this as they go (cheap: it writes at most every
 * job_lock_timeout_s / 3, capped at JOBS_HEARTBEAT_MAX_MS): it renews the
 * job's lock, so another runner does not take the job for a dead one's.
 * A lock already lost (the job was re-queued meanwhile) is logged. */
void jobs_heartbeat(struct jobs_ctx *ctx);

typedef int (*jobs_handler_fn)(struct jobs_ctx *ctx, struct json_object *payload);

struct jobs_handler {
    const char *kind;
    jobs_handler_fn fn;
};

/* The engine's own kind (noop): its line in the module table. */
#define JOBS_BUILTIN_KINDS 1
extern const struct jobs_handler jobs_builtin_kinds[JOBS_BUILTIN_KINDS];
/* The test-only kinds (sleep, fail): a debug_only line in the module table,
 * so they exist only with debug_routes = 1 (the test stack). */
#define JOBS_DEBUG_KINDS 2
extern const struct jobs_handler jobs_debug_kinds[JOBS_DEBUG_KINDS];

/* Kinds: index i in [0, jobs_kind_count()) is the module table order;
 * jobs_kind_name(jobs_kind_count()) is "other" (the shm counter of unknown kinds). */
int jobs_kind_count(void);
const char *jobs_kind_name(int index);
struct config;
/* -1 if unknown, or test-only (sleep, fail) while cfg->debug_routes is 0. */
int jobs_kind_index(const struct config *cfg, const char *kind);
int jobs_priority_parse(const char *name);       /* "high" | "normal" | "low", else -1 */
/* queued, running, succeeded, failed or dead (API and tallyctl filters). */
bool jobs_status_valid(const char *status);
const char *jobs_priority_name(int priority);

/* A row of the queue statements below (their columns, JOBS_COLUMNS in jobs.c) as the API's job object. */
struct json_object *jobs_row_json(const db_result *r, int row);

/* Queue statements (admin API and tallyctl). Results are cleared by the caller. */
db_result *jobs_enqueue(struct db *db, enum err *e, const char *kind, const char *payload_json, int priority,
                        int max_attempts);
/* Re-queues a dead or failed job now (a dead one with attempts reset to 0).
 * ERR_NOT_FOUND if there is no such job, ERR_CONFLICT if it is not dead/failed. */
db_result *jobs_retry(struct db *db, enum err *e, int64_t id);
/* Newest first; status/kind NULL = any; before_id 0 = from the newest; at
 * most limit + 1 rows (the extra one says there is a next page). */
db_result *jobs_list(struct db *db, enum err *e, const char *status, const char *kind, int64_t before_id,
                     int limit);

/* Cron subset (docs/jobs.md): 5 fields, `*`, N, N-M, lists, `/step`; UTC. */
struct jobs_cron {
    uint64_t minute, hour, dom, month, dow;      /* bit sets */
    bool dom_any, dow_any;
};
int jobs_cron_parse(const char *text, struct jobs_cron *out);   /* 0 or -1 */
bool jobs_cron_match(const struct jobs_cron *c, const struct tm *utc);
/* Latest minute start <= now (Unix s) matching c, not before not_before and
 * within the lookback; 0 if none. */
int64_t jobs_cron_latest_slot(const struct jobs_cron *c, int64_t now, int64_t not_before);

/* First minute start > after matching c, within horizon_min minutes; 0 if none. */
int64_t jobs_cron_next_slot(const struct jobs_cron *c, int64_t after, int horizon_min);
#define JOBS_NEXT_HORIZON_MIN (366 * 1440)    /* a yearly schedule still shows its next run */

/* The runner loop (jobs_runner.c). */
struct jobs_run_opts {
    bool once;                     /* run at most one ready job, then return */
    bool drain;                    /* return when no job is queued or waiting for a retry */
    const char *name;              /* locked_by; default host:pid */
};
/* Runs until SIGTERM/SIGINT/SIGQUIT (the job in hand is finished first) or
 * the opts say so. shm may be NULL (tallyctl). Returns an exit status. */
int jobs_run(const struct config *cfg, struct shm *shm, const struct jobs_run_opts *opts);
/* The tallyd master's runner child: never returns. */
void jobs_runner_main(const struct config *cfg, struct shm *shm) __attribute__((noreturn));

#endif
