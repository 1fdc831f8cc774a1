/* config: tallyd / tallyctl settings. Sources, later wins: built-in
 * defaults, the config file (`key = value` lines, `#` comments), then
 * environment variables TALLY_<KEY> (upper case). Every key, its default and
 * meaning is listed in docs/config.md and in config.c's table. */
#ifndef TALLY_CONFIG_H
#define TALLY_CONFIG_H

#include <stddef.h>

#define CONFIG_STR_BYTES 512
#define CONFIG_MODULE_VALUE_BYTES 256
#define LIMIT_MODULE_CONFIG_KEYS 64

struct config {
    char listen[CONFIG_STR_BYTES];            /* unix socket path or host:port */
    int listen_mode;                          /* unix socket permissions (octal in the file) */
    char listen_group[CONFIG_STR_BYTES];      /* unix socket group (name or gid); "" = tallyd's */
    int now_header;                           /* 1 = honour X-Tally-Now (tests, dev stack) */
    char csrf_secret[CONFIG_STR_BYTES];       /* login CSRF HMAC key; "" = random per tallyd start */
    int listen_backlog;
    int workers;                              /* 0 = number of CPUs */
    int max_requests;                         /* recycle a worker after this many */
    int max_requests_jitter;                  /* + random [0, jitter] per worker */
    int request_timeout_ms;                   /* master kills a worker stuck longer */
    int slowlog_ms;                           /* master logs requests running longer */
    int graceful_timeout_ms;                  /* SIGTERM: wait this long, then SIGKILL */
    char pidfile[CONFIG_STR_BYTES];
    char pg_conninfo[CONFIG_STR_BYTES];
    char pg_listen_conninfo[CONFIG_STR_BYTES]; /* job runner's LISTEN; "" = its pg_conninfo one, "off" = poll */
    char memcached_servers[CONFIG_STR_BYTES];
    long body_limit_bytes;
    long csv_body_limit_bytes;
    char log_level[16];
    char sql_dir[CONFIG_STR_BYTES];
    char templates_dir[CONFIG_STR_BYTES];     /* dashboard templates (*.mustache) */
    int db_timeout_ms;                        /* per SQL statement in tallyd; 0 = none */
    int auth_cache_ttl_s;                     /* per-worker token cache */
    int health_cache_ms;                      /* per-worker health result cache */
    int cache_shared_hosts;                   /* several hosts on one memcached pool: cachegen mode 0, 1, 2 */
    int debug_routes;                         /* 1 = register the debug routes (tests only) */
    int job_runner;                           /* 1 = the master supervises one job-runner child */
    int job_poll_ms;                          /* runner wakes at least this often without NOTIFY */
    int job_lock_timeout_s;                   /* a running job locked longer is re-queued */
    int job_backoff_base_ms;                  /* retry delay: base * 2^(attempt-1) + jitter */
    int job_backoff_max_ms;                   /* cap of the retry delay */
    int job_max_attempts;                     /* default max_attempts of an enqueued job */
    int job_retention_days;                   /* succeeded jobs and job_runs rows kept this long */
    /* Keys the modules bring (module_config_key_at order), as text. */
    char module_values[LIMIT_MODULE_CONFIG_KEYS][CONFIG_MODULE_VALUE_BYTES];
};

void config_defaults(struct config *cfg);
/* Which file tallyd and tallyctl read, the same way: -c FILE, else
 * $TALLY_CONF, else the installed default (sysconfdir/tally/tallyd.conf)
 * if it exists, else none (built-in defaults). */
enum config_source { CONFIG_FROM_OPTION, CONFIG_FROM_ENV, CONFIG_FROM_DEFAULT_PATH, CONFIG_BUILT_IN };
const char *config_discover(const char *given, enum config_source *source);
const char *config_source_text(enum config_source source);
/* Loads path (NULL = no file) then the environment. Returns 0, or -1 with a
 * message in err. */
int config_load(struct config *cfg, const char *path, char *err, size_t err_cap);
/* A module's key (struct module_config_key in its table): its value as an
 * integer (validated against min/max when set) or as text. Unknown keys
 * give 0 / "" and are logged: a module reads only the keys it declared. */
long config_module_int(const struct config *cfg, const char *key);
const char *config_module_str(const struct config *cfg, const char *key);
/* Applies one key = value; used by the loader and by tests. */
int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t err_cap);

#endif
