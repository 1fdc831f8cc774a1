/* worker: one preforked FastCGI worker process. It owns its PostgreSQL
 * connection, its memcached client and its request arena (all created after
 * fork), serves one request at a time in an FCGX_Accept_r loop, keeps its
 * scoreboard slot in shared memory up to date, and leaves after
 * max_requests or on SIGTERM/SIGQUIT once the request in hand is done. */
#ifndef TALLY_WORKER_H
#define TALLY_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "module.h"

struct shm;
struct shm_worker;
struct router;

/* The worker context: all long-lived per-process state lives here. */
struct worker {
    int slot;
    uint32_t generation;
    const struct config *cfg;
    struct shm *shm;
    struct shm_worker *me;
    const struct router *router;
    int listen_fd;
    int pid;                             /* cached getpid() for log lines */
    char request_id_prefix[9];           /* random per process: ids are prefix + counter */
    uint64_t request_counter;
    uint64_t max_requests;               /* with jitter applied */
    struct arena arena;
    struct tally_ctx ctx;                /* what module code sees: db, cache, cfg, shm, arena, module states */
};

/* Runs in the child after fork(); never returns. */
void worker_main(int slot, uint32_t generation, const struct config *cfg, struct shm *shm,
                 const struct router *router, int listen_fd) __attribute__((noreturn));

#endif
