/* Every bound tally enforces, in one place. Config can lower or raise the
 * ones marked "default"; the others are hard limits of data structures. */
#ifndef TALLY_LIMITS_H
#define TALLY_LIMITS_H

#define LIMIT_BODY_BYTES_DEFAULT        (1024 * 1024)        /* default, JSON bodies */
#define LIMIT_CSV_BODY_BYTES_DEFAULT    (64 * 1024 * 1024)   /* default, CSV imports */
#define LIMIT_WORKERS_MAX               256
#define LIMIT_PATH_SEGMENTS             16
#define LIMIT_PATH_PARAMS               4
#define LIMIT_QUERY_PARAMS              32
#define LIMIT_QUERY_STRING_BYTES        8192
#define LIMIT_HEADERS_OUT               16
#define LIMIT_REQUEST_ID_BYTES          64
#define LIMIT_ROUTE_NAME_BYTES          64
#define LIMIT_LIST_DEFAULT              50
#define LIMIT_LIST_MAX                  500
#define LIMIT_TRANSACTIONS_PER_POST     10000
#define LIMIT_TEXT_FIELD_BYTES          512   /* merchant, category, external_id */
#define LIMIT_DESCRIPTION_BYTES         2048
#define LIMIT_NAME_BYTES                200
#define LIMIT_CACHE_KEY_BYTES           250   /* memcached's own limit */
#define LIMIT_CACHE_VALUE_BYTES         (1024 * 1024 - 4096)  /* memcached -I 1m counts key + header */
#define LIMIT_CACHE_MGET_KEYS           256   /* keys per cache_mget call */
#define LIMIT_TOKEN_CACHE_ENTRIES       256   /* per-worker bearer token cache */
#define LIMIT_CONFIG_LINE_BYTES         1024
#define LIMIT_ARENA_CHUNK_BYTES         (64 * 1024)
#define LIMIT_ARENA_TOTAL_BYTES         (256 * 1024 * 1024)
#define LIMIT_LOG_LINE_BYTES            4096
#define LIMIT_ROUTES                    160   /* route table entries, incl. 'unmatched' */
#define LIMIT_MODULE_SHM_BYTES          (64 * 1024)   /* all modules' shared counters (module_shm) */
#define LIMIT_WORKER_SLOTS              (2 * LIMIT_WORKERS_MAX) /* old + new generation during reload */

#endif
