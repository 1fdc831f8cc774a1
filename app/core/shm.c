/* shm: the shared counters region. See shm.h. */
#define _GNU_SOURCE
#include "shm.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>

const int shm_status_codes[SHM_STATUS_CODES] = {
    200, 201, 204, 303, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503, 0,
};

const uint64_t shm_duration_bucket_us[SHM_DURATION_BUCKETS] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000,
    UINT64_MAX,
};

struct shm *shm_create(void)
{
    void *p = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 0, sizeof(struct shm));
    return p;
}

void shm_destroy(struct shm *shm)
{
    if (shm != NULL)
        munmap(shm, sizeof(*shm));
}

int shm_status_index(int status)
{
    for (int i = 0; i < SHM_STATUS_CODES - 1; i++)
        if (shm_status_codes[i] == status)
            return i;
    return SHM_STATUS_CODES - 1;
}

int shm_duration_bucket(uint64_t us)
{
    for (int i = 0; i < SHM_DURATION_BUCKETS; i++)
        if (us <= shm_duration_bucket_us[i])
            return i;
    return SHM_DURATION_BUCKETS - 1;
}

void shm_rate_count(struct shm *shm, int status)
{
    uint64_t sec = (uint64_t)time(NULL);
    struct shm_rate_slot *slot = &shm->request_rate[sec % SHM_RATE_SLOTS];
    uint64_t seen = shm_load(&slot->second);
    if (seen != sec && __atomic_compare_exchange_n(&slot->second, &seen, sec, false, __ATOMIC_RELAXED,
                                                   __ATOMIC_RELAXED)) {
        shm_store(&slot->requests, 0);
        shm_store(&slot->errors_5xx, 0);
    }
    shm_add(&slot->requests, 1);
    if (status >= 500)
        shm_add(&slot->errors_5xx, 1);
}

void shm_rate_recent(const struct shm *shm, unsigned seconds, uint64_t *requests, uint64_t *errors_5xx)
{
    *requests = *errors_5xx = 0;
    if (seconds > SHM_RATE_SLOTS - 2)
        seconds = SHM_RATE_SLOTS - 2;
    uint64_t now = (uint64_t)time(NULL);
    for (int i = 0; i < SHM_RATE_SLOTS; i++) {
        const struct shm_rate_slot *slot = &shm->request_rate[i];
        uint64_t sec = shm_load(&slot->second);
        if (sec == 0 || sec >= now || sec + seconds < now)
            continue;                      /* the current, partial second is left out */
        *requests += shm_load(&slot->requests);
        *errors_5xx += shm_load(&slot->errors_5xx);
    }
}
