/* shm: the one shared-memory region, created by the master before the
 * first fork (MAP_SHARED | MAP_ANONYMOUS) and inherited by every worker.
 * It holds only counters and the worker scoreboard: workers write their own
 * slot and bump counters with relaxed atomics; the master and any worker
 * read them to report totals (/metrics, status and cache pages). No pointers
 * live here, so every process sees the same bytes. */
#ifndef TALLY_SHM_H
#define TALLY_SHM_H

#include <stdint.h>
#include <sys/types.h>

#include "limits.h"
#include "module.h"
#include "stats.h"
#include "../cache/cache.h"

enum shm_worker_state { SHM_WORKER_FREE = 0, SHM_WORKER_STARTING, SHM_WORKER_IDLE, SHM_WORKER_BUSY, SHM_WORKER_STOPPING };

struct shm_worker {
    int32_t pid;
    uint32_t generation;
    int32_t state;                         /* enum shm_worker_state */
    uint64_t started_ms;                   /* wall clock, ms since epoch */
    uint64_t requests;                     /* served by this process */
    uint64_t request_start_mono_ms;        /* CLOCK_MONOTONIC ms, 0 when idle */
    uint64_t request_seq;                  /* bumps at each request start */
    uint64_t slowlog_seq;                  /* request_seq the master already logged as slow */
    char route[LIMIT_ROUTE_NAME_BYTES];
    char method[8];
    char request_id[LIMIT_REQUEST_ID_BYTES];
};

/* Status codes tracked per route; anything else counts as "other". */
#define SHM_STATUS_CODES 18
extern const int shm_status_codes[SHM_STATUS_CODES];   /* last entry 0 = other */

struct shm_route_stats {
    uint64_t by_status[SHM_STATUS_CODES];
    uint64_t duration_buckets[SHM_DURATION_BUCKETS];   /* non-cumulative */
    uint64_t duration_sum_us;
};

/* Job runner counters (app/modules/jobs.c): attempts by kind index (the
 * handlers table order; the last index is "other") and outcome. */
#define SHM_JOB_KINDS 32
enum shm_job_outcome { SHM_JOB_SUCCEEDED = 0, SHM_JOB_FAILED, SHM_JOB_DEAD, SHM_JOB_OUTCOMES };

struct shm_jobs_stats {
    uint64_t by_kind[SHM_JOB_KINDS][SHM_JOB_OUTCOMES];
    uint64_t stale_requeued;               /* running jobs whose lock expired */
    uint64_t runner_restarts;              /* supervised runner respawned after an unexpected exit */
    int32_t runner_pid;                    /* supervised runner, 0 if none */
};

/* One second of request counts in the last-minute ring (shm_rate_*). */
#define SHM_RATE_SLOTS 64
struct shm_rate_slot {
    uint64_t second;                       /* wall-clock second the slot holds */
    uint64_t requests, errors_5xx;
};

struct shm {
    uint64_t master_started_ms;
    int32_t master_pid;
    uint32_t generation;                   /* current worker generation */
    uint64_t accepted;                     /* requests accepted, all workers */
    uint64_t worker_restarts;              /* respawns after an unexpected exit */
    uint64_t worker_recycles;              /* clean exits after max_requests */
    uint64_t worker_timeouts;              /* killed by request_timeout_ms */
    uint64_t slow_requests;
    uint64_t all_busy_events;              /* times a request found no idle worker */
    struct shm_worker workers[LIMIT_WORKER_SLOTS];
    struct shm_route_stats routes[LIMIT_ROUTES];
    struct shm_rate_slot request_rate[SHM_RATE_SLOTS];
    struct shm_db_stats db;
    struct cache_shared cache;
    struct shm_jobs_stats jobs;
    uint64_t listen_queue_max;             /* largest accept-queue length seen (admin status reads) */
    size_t module_offset[MODULE_MAX];      /* module i's area in modules[] (module_shm) */
    _Alignas(64) uint8_t modules[LIMIT_MODULE_SHM_BYTES];
};

struct shm *shm_create(void);
/* Counts one finished request in the current second's ring slot. */
void shm_rate_count(struct shm *shm, int status);
/* Requests and 5xx answers in the last `seconds` whole seconds before now
 * (<= SHM_RATE_SLOTS - 2). Approximate: a slot being recycled can lose the
 * counts of that instant; the since-start counters are exact. */
void shm_rate_recent(const struct shm *shm, unsigned seconds, uint64_t *requests, uint64_t *errors_5xx);
void shm_destroy(struct shm *shm);
int shm_status_index(int status);

#endif
