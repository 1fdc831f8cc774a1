/* jobs_runner: the runner loop. One process, one connection, one job at
 * a time: maintenance (stale locks, schedules, retention; at most once a
 * second), take the best ready job, run it, record the outcome; when
 * nothing is ready, sleep on the LISTEN connection until a NOTIFY, the next
 * retry's run_at or job_poll_ms, whichever comes first. Stop signals only
 * set a flag, so the job in hand always completes. */
#define _GNU_SOURCE
#include "jobs.h"
#include "../core/clock.h"
#include "../cache/cache.h"
#include "../core/arena.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../core/log.h"
#include "../core/parse.h"
#include "../core/shm.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t jobs_stop_requested;

/* ---- runner ------------------------------------------------------------------ */

struct jobs_fired {
    char name[JOBS_KIND_BYTES * 2];
    int64_t slot;
};

struct jobs_runner {
    const struct config *cfg;
    struct shm *shm;                        /* NULL when standalone */
    struct db *db;
    struct db *listen_db;                   /* pg_listen_conninfo's; NULL: LISTEN on db (or none: "off") */
    bool poll_only;                         /* pg_listen_conninfo = off: no LISTEN, wake every job_poll_ms */
    struct cache *cache;
    struct tally_ctx tally;                 /* handed to handlers: module states of this process */
    struct cache_shared private_cache;      /* counters when standalone */
    struct arena arena;                     /* per job, reset after each */
    bool tally_ready;                       /* module states made */
    char name[128];
    int listen_backend;                     /* backend pid the LISTEN was issued on */
    uint64_t next_maintenance_ms;
    uint64_t next_cleanup_ms;
    uint64_t next_db_warning_ms;
    struct jobs_fired fired[JOBS_SCHEDULES_MAX];
    int fired_count;
    uint64_t ran;
};

static void jobs_runner_on_stop(int signo)
{
    (void)signo;
    jobs_stop_requested = 1;
}

static void jobs_runner_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = jobs_runner_on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                        /* no SA_RESTART: poll() must return */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);  /* the master blocks everything it takes synchronously */
}

static void jobs_runner_db_trouble(struct jobs_runner *r, const char *what)
{
    uint64_t now = clock_mono_ms();
    if (now >= r->next_db_warning_ms) {
        log_warn("job runner %s: %s: %s", r->name, what, db_last_error(r->db));
        r->next_db_warning_ms = now + 10000;
    }
}

static void jobs_runner_count(struct jobs_runner *r, int kind_index, enum shm_job_outcome outcome)
{
    if (r->shm == NULL)
        return;
    int k = kind_index >= 0 ? kind_index : jobs_kind_count();
    shm_add(&r->shm->jobs.by_kind[k][outcome], 1);
}

/* The connection the NOTIFYs arrive on: a session of its own when
 * pg_listen_conninfo is set (PgBouncer in transaction mode hands each
 * transaction any server connection, so a LISTEN through it hears nothing). */
static struct db *jobs_runner_listen_db(struct jobs_runner *r)
{
    return r->listen_db != NULL ? r->listen_db : r->db;
}

/* LISTEN again whenever the connection is new (first use, reconnect). */
static void jobs_runner_ensure_listen(struct jobs_runner *r)
{
    if (r->poll_only)
        return;
    struct db *db = jobs_runner_listen_db(r);
    int backend = db_backend_pid(db);
    if (backend != 0 && backend == r->listen_backend)
        return;
    if (db_listen(db, JOBS_CHANNEL) == ERR_NONE)
        r->listen_backend = db_backend_pid(db);
    else
        r->listen_backend = 0;
}

/* Jobs whose runner died (lock older than job_lock_timeout_s) go back to
 * the queue, or to dead when they had no attempt left. The lost attempt
 * gets its job_runs row here, since its runner never wrote one. */
static void jobs_runner_reap_stale(struct jobs_runner *r)
{
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", r->cfg->job_lock_timeout_s);
    const char *params[1] = {timeout};
    enum err e;
    db_result *res = db_query(
        r->db, &e, 0,
        "WITH stale AS ("
        "  UPDATE jobs j SET status = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'queued' END,"
        "    last_error = 'lock expired: runner ' || coalesce(s.old_runner, '?') || ' did not finish within '"
        "                 || $1 || ' s',"
        "    run_at = now(), locked_by = NULL, locked_at = NULL,"
        "    finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END"
        "  FROM (SELECT id, locked_by AS old_runner FROM jobs WHERE status = 'running'"
        "        AND locked_at < now() - make_interval(secs => $1::double precision)"
        "        FOR UPDATE SKIP LOCKED) s"
        "  WHERE j.id = s.id RETURNING j.id, j.attempts, s.old_runner, j.started_at, j.last_error),"
        " runs AS (INSERT INTO job_runs (job_id, attempt, runner, ok, error, started_at)"
        "  SELECT id, attempts, coalesce(old_runner, '?'), false, last_error, coalesce(started_at, now()) FROM stale)"
        " SELECT count(*) FROM stale",
        1, params);
    if (res == NULL) {
        jobs_runner_db_trouble(r, "stale lock check");
        return;
    }
    int64_t n = db_int64(res, 0, 0);
    db_clear(res);
    if (n > 0) {
        log_warn("job runner %s: re-queued %" PRId64 " job(s) whose lock expired", r->name, n);
        if (r->shm != NULL)
            shm_add(&r->shm->jobs.stale_requeued, (uint64_t)n);
    }
}

static bool jobs_runner_fired_already(struct jobs_runner *r, const char *name, int64_t slot, bool remember)
{
    for (int i = 0; i < r->fired_count; i++) {
        if (strcmp(r->fired[i].name, name) != 0)
            continue;
        if (r->fired[i].slot == slot)
            return true;
        if (remember)
            r->fired[i].slot = slot;
        return false;
    }
    if (remember && r->fired_count < JOBS_SCHEDULES_MAX) {
        snprintf(r->fired[r->fired_count].name, sizeof(r->fired[0].name), "%s", name);
        r->fired[r->fired_count++].slot = slot;
    }
    return false;
}

/* Each runner computes the latest slot of every schedule and inserts its
 * job; the unique (kind, schedule_slot) index lets exactly one insert win. */
static void jobs_runner_fire_schedules(struct jobs_runner *r)
{
    enum err e;
    db_result *res = db_query(r->db, &e, 0,
                              "SELECT name, kind, cron, payload::text, priority, max_attempts,"
                              " extract(epoch FROM created_at)::bigint, extract(epoch FROM now())::bigint"
                              " FROM job_schedules WHERE enabled ORDER BY name LIMIT 64",
                              0, NULL);
    if (res == NULL) {
        jobs_runner_db_trouble(r, "schedules");
        return;
    }
    for (int i = 0; i < db_rows(res); i++) {
        const char *name = db_value(res, i, 0);
        struct jobs_cron cron;
        if (jobs_cron_parse(db_value(res, i, 2), &cron) != 0) {
            log_debug("job schedule %s: invalid cron \"%s\"", name, db_value(res, i, 2));
            continue;
        }
        int64_t created = db_int64(res, i, 6);
        int64_t slot = jobs_cron_latest_slot(&cron, db_int64(res, i, 7), created - created % 60);
        if (slot == 0 || jobs_runner_fired_already(r, name, slot, false))
            continue;
        char slot_text[24];
        db_param_i64(slot_text, slot);
        const char *params[5] = {db_value(res, i, 1), db_value(res, i, 3), db_value(res, i, 4),
                                 db_value(res, i, 5), slot_text};
        db_result *ins = db_query(r->db, &e, 0,
                                  "INSERT INTO jobs (kind, payload, priority, max_attempts, schedule_slot)"
                                  " VALUES ($1, $2::jsonb, $3::smallint, $4::integer, to_timestamp($5::bigint))"
                                  " ON CONFLICT (kind, schedule_slot) WHERE schedule_slot IS NOT NULL DO NOTHING",
                                  5, params);
        if (ins == NULL) {
            jobs_runner_db_trouble(r, "schedule insert");
            continue;
        }
        if (db_affected(ins) > 0)
            log_info("job schedule %s fired: kind %s, slot %s", name, db_value(res, i, 1), slot_text);
        db_clear(ins);
        jobs_runner_fired_already(r, name, slot, true);
    }
    db_clear(res);
}

static void jobs_runner_cleanup(struct jobs_runner *r)
{
    char days[16];
    snprintf(days, sizeof(days), "%d", r->cfg->job_retention_days);
    const char *params[1] = {days};
    if (db_exec(r->db, 0, "DELETE FROM job_runs WHERE finished_at < now() - make_interval(days => $1::integer)",
                1, params) != ERR_NONE ||
        db_exec(r->db, 0,
                "DELETE FROM jobs WHERE status = 'succeeded' AND finished_at < now() - make_interval(days => $1::integer)",
                1, params) != ERR_NONE)
        jobs_runner_db_trouble(r, "retention cleanup");
}

static void jobs_runner_maintenance(struct jobs_runner *r)
{
    uint64_t now = clock_mono_ms();
    if (now < r->next_maintenance_ms)
        return;
    r->next_maintenance_ms = now + JOBS_MAINTENANCE_MS;
    jobs_runner_reap_stale(r);
    jobs_runner_fire_schedules(r);
    if (now >= r->next_cleanup_ms) {
        r->next_cleanup_ms = now + JOBS_CLEANUP_MS;
        jobs_runner_cleanup(r);
    }
}

/* Retry delay: base * 2^(attempt-1), capped, plus up to 25 % jitter so
 * jobs that failed together do not come back together. */
static int64_t jobs_runner_backoff_ms(const struct config *cfg, int attempt)
{
    int64_t delay = cfg->job_backoff_base_ms;
    for (int i = 1; i < attempt && delay < cfg->job_backoff_max_ms; i++)
        delay *= 2;
    if (delay > cfg->job_backoff_max_ms)
        delay = cfg->job_backoff_max_ms;
    uint32_t spread = (uint32_t)(delay / 4);
    return delay + (spread > 0 ? (int64_t)arc4random_uniform(spread + 1) : 0);
}

static void jobs_runner_finish_ok(struct jobs_runner *r, const char *id, const char *attempt, const char *started)
{
    const char *params[4] = {id, r->name, attempt, started};
    enum err e = db_exec(r->db, 0,
                         "WITH run AS (INSERT INTO job_runs (job_id, attempt, runner, ok, started_at)"
                         "  VALUES ($1::bigint, $3::integer, $2, true, $4::timestamptz))"
                         " UPDATE jobs SET status = 'succeeded', finished_at = clock_timestamp(), locked_by = NULL,"
                         "  locked_at = NULL, last_error = NULL"
                         " WHERE id = $1::bigint AND locked_by = $2 AND status = 'running'",
                         4, params);
    if (e != ERR_NONE)
        jobs_runner_db_trouble(r, "finish");
}

/* Returns the job's new status ('failed' or 'dead'), or "" if the lock was lost. */
static void jobs_runner_finish_failed(struct jobs_runner *r, const char *id, const char *attempt, const char *started,
                               const char *error, bool permanent, char *status_out, size_t status_cap)
{
    char delay[24];
    db_param_i64(delay, jobs_runner_backoff_ms(r->cfg, atoi(attempt)));
    const char *params[7] = {id, r->name, error, attempt, permanent ? "t" : "f", delay, started};
    enum err e;
    db_result *res = db_query(
        r->db, &e, 0,
        "WITH done AS ("
        "  UPDATE jobs SET status = CASE WHEN attempts >= max_attempts OR $5::boolean THEN 'dead' ELSE 'failed' END,"
        "   run_at = CASE WHEN attempts >= max_attempts OR $5::boolean THEN run_at"
        "            ELSE clock_timestamp() + make_interval(secs => $6::double precision / 1000) END,"
        "   finished_at = clock_timestamp(), locked_by = NULL, locked_at = NULL, last_error = $3"
        "  WHERE id = $1::bigint AND locked_by = $2 AND status = 'running' RETURNING status, run_at),"
        " run AS (INSERT INTO job_runs (job_id, attempt, runner, ok, error, started_at, retry_at)"
        "  SELECT $1::bigint, $4::integer, $2, false, $3, $7::timestamptz,"
        "   CASE WHEN d.status = 'failed' THEN d.run_at END FROM (VALUES (1)) v LEFT JOIN done d ON true)"
        " SELECT status FROM done",
        7, params);
    status_out[0] = '\0';
    if (res == NULL) {
        jobs_runner_db_trouble(r, "finish");
        return;
    }
    if (db_rows(res) > 0)
        snprintf(status_out, status_cap, "%s", db_value(res, 0, 0));
    db_clear(res);
}

/* Takes the best ready job and runs it. 1 = ran one, 0 = none ready, -1 = database trouble. */
static int jobs_runner_take_and_run(struct jobs_runner *r)
{
    const char *params[1] = {r->name};
    enum err e;
    db_result *res = db_query(
        r->db, &e, 0,
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_at = now(),"
        " started_at = clock_timestamp()"
        " WHERE id = (SELECT id FROM jobs WHERE status IN ('queued', 'failed') AND run_at <= now()"
        "             ORDER BY priority, run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, kind, payload::text, attempts, started_at",
        1, params);
    if (res == NULL) {
        jobs_runner_db_trouble(r, "dequeue");
        return -1;
    }
    if (db_rows(res) == 0) {
        db_clear(res);
        return 0;
    }
    char id[24], kind[JOBS_KIND_BYTES], attempt[16], started[64];
    snprintf(id, sizeof(id), "%s", db_value(res, 0, 0));
    snprintf(kind, sizeof(kind), "%s", db_value(res, 0, 1));
    snprintf(attempt, sizeof(attempt), "%s", db_value(res, 0, 3));
    snprintf(started, sizeof(started), "%s", db_value(res, 0, 4));
    struct json_object *payload = json_tokener_parse(db_value(res, 0, 2));
    db_clear(res);

    struct jobs_ctx ctx = {.db = r->db,
                           .cache = r->cache,
                           .cfg = r->cfg,
                           .tally = &r->tally,
                           .job_id = strtoll(id, NULL, 10),
                           .attempt = atoi(attempt),
                           .runner = r->name,
                           .beat_ms = clock_mono_ms()};
    int k = jobs_kind_index(r->cfg, kind);
    int rc;
    bool permanent = false;
    uint64_t t0 = clock_mono_ms();
    if (k < 0) {
        snprintf(ctx.error, sizeof(ctx.error), "unknown job kind \"%s\"", kind);
        permanent = true;
        rc = -1;
    } else if (payload == NULL || !json_object_is_type(payload, json_type_object)) {
        snprintf(ctx.error, sizeof(ctx.error), "payload is not a JSON object");
        permanent = true;
        rc = -1;
    } else {
        rc = module_job_at(k)->fn(&ctx, payload);
        if (rc != 0 && ctx.error[0] == '\0')
            snprintf(ctx.error, sizeof(ctx.error), "%s failed", kind);
    }
    json_object_put(payload);
    arena_reset(&r->arena);
    r->ran++;
    if (rc == 0) {
        jobs_runner_finish_ok(r, id, attempt, started);
        jobs_runner_count(r, k, SHM_JOB_SUCCEEDED);
        log_debug("job %s (%s) attempt %s succeeded in %llu ms", id, kind, attempt,
                  (unsigned long long)(clock_mono_ms() - t0));
        return 1;
    }
    char status[16];
    jobs_runner_finish_failed(r, id, attempt, started, ctx.error, permanent, status, sizeof(status));
    bool dead = strcmp(status, "dead") == 0;
    jobs_runner_count(r, k, dead ? SHM_JOB_DEAD : SHM_JOB_FAILED);
    if (dead)
        log_warn("job %s (%s) dead after attempt %s: %s", id, kind, attempt, ctx.error);
    else
        log_info("job %s (%s) attempt %s failed: %s", id, kind, attempt, ctx.error);
    return 1;
}

/* How long to sleep when nothing is ready: until the next retry's run_at,
 * at most job_poll_ms. *pending = whether any job is queued, failed or
 * running (a running one may come back: retry, expired lock). */
static int jobs_runner_idle_ms(struct jobs_runner *r, bool *pending)
{
    enum err e;
    *pending = true;
    db_result *res = db_query(r->db, &e, 0,
                              "SELECT ceil(extract(epoch FROM (min(run_at) FILTER (WHERE status <> 'running')"
                              "  - clock_timestamp())) * 1000)::bigint, count(*)"
                              " FROM jobs WHERE status IN ('queued', 'failed', 'running')",
                              0, NULL);
    if (res == NULL) {
        jobs_runner_db_trouble(r, "idle check");
        return r->cfg->job_poll_ms;
    }
    int wait = r->cfg->job_poll_ms;
    *pending = db_int64(res, 0, 1) > 0;
    if (!db_is_null(res, 0, 0)) {
        int64_t ms = db_int64(res, 0, 0);
        if (ms < wait)
            wait = ms < 5 ? 5 : (int)ms;     /* a ready job someone else is taking: look again soon */
    }
    db_clear(res);
    return wait;
}

int jobs_run(const struct config *cfg, struct shm *shm, const struct jobs_run_opts *opts)
{
    struct jobs_runner *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return 1;
    int rc = 1;
    bool failed = false;
    int trouble_ms = 0;
    r->cfg = cfg;
    r->shm = shm;
    if (opts->name != NULL && opts->name[0] != '\0') {
        snprintf(r->name, sizeof(r->name), "%s", opts->name);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        snprintf(r->name, sizeof(r->name), "%s:%d", host, (int)getpid());
    }
    r->db = db_create(cfg->pg_conninfo, NULL);
    if (r->db == NULL)
        goto out;
    /* A statement may run as long as a job may hold its lock (a big cleanup
     * DELETE); past that the job is taken back anyway. */
    db_set_timeout(r->db, cfg->job_lock_timeout_s * 1000);
    r->poll_only = strcmp(cfg->pg_listen_conninfo, "off") == 0;
    if (!r->poll_only && cfg->pg_listen_conninfo[0] != '\0') {
        r->listen_db = db_create(cfg->pg_listen_conninfo, NULL);
        if (r->listen_db == NULL)
            goto out;
        db_set_timeout(r->listen_db, cfg->job_lock_timeout_s * 1000);
    }
    if (shm == NULL && module_cache_namespaces(&r->private_cache) != 0)
        goto out;
    r->cache = cache_create(cfg->memcached_servers, shm != NULL ? &shm->cache : &r->private_cache);
    if (r->cache == NULL)
        goto out;
    arena_init(&r->arena);
    r->tally = (struct tally_ctx){.kind = TALLY_CTX_RUNNER, .cfg = cfg, .db = r->db, .cache = r->cache,
                                  .shm = shm, .arena = &r->arena, .worker_slot = -1, .listen_fd = -1};
    if (module_init_children(&r->tally) != 0)
        goto out;
    r->tally_ready = true;
    jobs_runner_signals_install();
    log_info("job runner %s started (poll %d ms, lock timeout %d s, wake-up: %s)", r->name, cfg->job_poll_ms,
             cfg->job_lock_timeout_s,
             r->poll_only ? "polling" : r->listen_db != NULL ? "LISTEN on pg_listen_conninfo" : "LISTEN");

    while (!jobs_stop_requested) {
        jobs_runner_ensure_listen(r);
        jobs_runner_maintenance(r);
        int got = jobs_runner_take_and_run(r);
        if (opts->once) {
            failed = got < 0;
            break;
        }
        if (got > 0) {
            trouble_ms = 0;
            continue;
        }
        bool pending = true;
        int wait;
        if (got < 0) {
            /* Database down or schema missing: back off (poll .. 30 s) instead of spinning. */
            trouble_ms = trouble_ms == 0 ? cfg->job_poll_ms : trouble_ms * 2;
            if (trouble_ms > JOBS_TROUBLE_MAX_MS)
                trouble_ms = JOBS_TROUBLE_MAX_MS > cfg->job_poll_ms ? JOBS_TROUBLE_MAX_MS : cfg->job_poll_ms;
            wait = trouble_ms;
        } else {
            trouble_ms = 0;
            wait = jobs_runner_idle_ms(r, &pending);
        }
        if (opts->drain && got == 0 && !pending)
            break;
        if (jobs_stop_requested)
            break;
        if (r->poll_only || db_wait_notify(jobs_runner_listen_db(r), wait) < 0)
            poll(NULL, 0, wait);             /* no connection: sleep, interruptible by a signal */
    }
    log_info("job runner %s stopping after %" PRIu64 " job(s)", r->name, r->ran);
    rc = failed ? 1 : 0;
out:
    if (r->tally_ready)
        module_free_children(&r->tally);
    arena_free(&r->arena);
    cache_destroy(r->cache);
    db_destroy(r->listen_db);
    db_destroy(r->db);
    free(r);
    return rc;
}

void jobs_runner_main(const struct config *cfg, struct shm *shm)
{
    prctl(PR_SET_NAME, "tallyd-jobs", 0, 0, 0);
    /* A master that dies without stopping us (SIGKILL) takes us along. */
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    if (getppid() == 1)
        _exit(0);
    struct jobs_run_opts opts = {.once = false, .drain = false, .name = NULL};
    char name[96];
    char host[64] = "localhost";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(name, sizeof(name), "%s:%d:tallyd", host, (int)getpid());
    opts.name = name;
    _exit(jobs_run(cfg, shm, &opts));
}
