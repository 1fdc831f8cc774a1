/* stats: the counter primitives every layer shares (relaxed atomics on
 * shared memory), the request-duration buckets, and the store's counters.
 * Kept apart from shm.h so the store and the cache need not know the
 * shared region's layout. */
#ifndef TALLY_STATS_H
#define TALLY_STATS_H

#include <stdint.h>

/* Request duration histogram buckets, upper bounds in microseconds (+Inf last). */
#define SHM_DURATION_BUCKETS 14
extern const uint64_t shm_duration_bucket_us[SHM_DURATION_BUCKETS];

struct shm_db_stats {
    uint64_t queries;
    uint64_t errors;
    uint64_t reconnects;
    uint64_t duration_buckets[SHM_DURATION_BUCKETS];
    uint64_t duration_sum_us;
};

int shm_duration_bucket(uint64_t us);

#define shm_add(ptr, n) __atomic_fetch_add((ptr), (n), __ATOMIC_RELAXED)
#define shm_load(ptr) __atomic_load_n((ptr), __ATOMIC_RELAXED)
#define shm_store(ptr, v) __atomic_store_n((ptr), (v), __ATOMIC_RELAXED)

#endif
