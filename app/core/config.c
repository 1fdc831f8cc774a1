/* config: defaults, file and environment. See config.h. */
#define _GNU_SOURCE
#include "config.h"
#include "limits.h"
#include "log.h"
#include "module.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TALLY_SQL_DIR
#define TALLY_SQL_DIR "sql"
#endif
#ifndef TALLY_LISTEN_DEFAULT
#define TALLY_LISTEN_DEFAULT "var/run/tallyd.sock"
#endif
#ifndef TALLY_PIDFILE_DEFAULT
#define TALLY_PIDFILE_DEFAULT "var/run/tallyd.pid"
#endif
#ifndef TALLY_CONF_DEFAULT
#define TALLY_CONF_DEFAULT "/etc/tally/tallyd.conf"
#endif

enum config_type { CONFIG_STR, CONFIG_INT, CONFIG_LONG, CONFIG_OCTAL };

struct config_key {
    const char *name;
    enum config_type type;
    size_t offset;
    long min, max;           /* for numbers */
};

#define CFG_STR(n)            {#n, CONFIG_STR, offsetof(struct config, n), 0, 0}
#define CFG_INT(n, lo, hi)    {#n, CONFIG_INT, offsetof(struct config, n), lo, hi}
#define CFG_LONG(n, lo, hi)   {#n, CONFIG_LONG, offsetof(struct config, n), lo, hi}
#define CFG_OCTAL(n, lo, hi)  {#n, CONFIG_OCTAL, offsetof(struct config, n), lo, hi}

static const struct config_key config_keys[] = {
    CFG_STR(listen),
    CFG_INT(listen_backlog, 1, 65535),
    CFG_OCTAL(listen_mode, 0, 0777),
    CFG_STR(listen_group),
    CFG_INT(now_header, 0, 1),
    CFG_STR(csrf_secret),
    CFG_INT(workers, 0, LIMIT_WORKERS_MAX),
    CFG_INT(max_requests, 0, INT_MAX),
    CFG_INT(max_requests_jitter, 0, INT_MAX),
    CFG_INT(request_timeout_ms, 0, 3600 * 1000),
    CFG_INT(slowlog_ms, 0, 3600 * 1000),
    CFG_INT(graceful_timeout_ms, 0, 3600 * 1000),
    CFG_STR(pidfile),
    CFG_STR(pg_conninfo),
    CFG_STR(pg_listen_conninfo),
    CFG_STR(memcached_servers),
    CFG_LONG(body_limit_bytes, 1024, 1L << 30),
    CFG_LONG(csv_body_limit_bytes, 1024, 1L << 30),
    CFG_STR(log_level),
    CFG_STR(sql_dir),
    CFG_STR(templates_dir),
    CFG_INT(db_timeout_ms, 0, 3600 * 1000),
    CFG_INT(auth_cache_ttl_s, 0, 3600),
    CFG_INT(health_cache_ms, 0, 60000),
    CFG_INT(cache_shared_hosts, 0, 2),
    CFG_INT(debug_routes, 0, 1),
    CFG_INT(job_runner, 0, 1),
    CFG_INT(job_poll_ms, 10, 3600 * 1000),
    CFG_INT(job_lock_timeout_s, 1, 7 * 86400),
    CFG_INT(job_backoff_base_ms, 1, 86400 * 1000),
    CFG_INT(job_backoff_max_ms, 1, 7 * 86400 * 1000),
    CFG_INT(job_max_attempts, 1, 100),
    CFG_INT(job_retention_days, 1, 3650),
};

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen, sizeof(cfg->listen), "%s", TALLY_LISTEN_DEFAULT);
    cfg->listen_backlog = 256;   /* bounded queue: beyond it nginx sheds with a JSON 503 (docs/performance.md) */
    cfg->listen_mode = 0660;
    cfg->workers = 0;
    cfg->max_requests = 100000;
    cfg->max_requests_jitter = 10000;
    cfg->request_timeout_ms = 30000;
    cfg->slowlog_ms = 1000;
    cfg->graceful_timeout_ms = 30000;
    snprintf(cfg->pidfile, sizeof(cfg->pidfile), "%s", TALLY_PIDFILE_DEFAULT);
    snprintf(cfg->pg_conninfo, sizeof(cfg->pg_conninfo), "%s",
             "host=127.0.0.1 port=5432 dbname=tally user=tally connect_timeout=2");
    snprintf(cfg->memcached_servers, sizeof(cfg->memcached_servers), "%s", "127.0.0.1:11211");
    cfg->body_limit_bytes = LIMIT_BODY_BYTES_DEFAULT;
    cfg->csv_body_limit_bytes = LIMIT_CSV_BODY_BYTES_DEFAULT;
    snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", "info");
    snprintf(cfg->sql_dir, sizeof(cfg->sql_dir), "%s", TALLY_SQL_DIR);
    snprintf(cfg->templates_dir, sizeof(cfg->templates_dir), "%s", TALLY_TEMPLATES_DIR);
    cfg->db_timeout_ms = 10000;
    cfg->auth_cache_ttl_s = 5;
    cfg->health_cache_ms = 1000;
    cfg->job_runner = 1;
    cfg->job_poll_ms = 1000;
    cfg->job_lock_timeout_s = 300;
    cfg->job_backoff_base_ms = 1000;
    cfg->job_backoff_max_ms = 3600 * 1000;
    cfg->job_max_attempts = 5;
    cfg->job_retention_days = 7;
    const struct module_config_key *k;
    for (int i = 0; i < LIMIT_MODULE_CONFIG_KEYS && (k = module_config_key_at(i)) != NULL; i++)
        snprintf(cfg->module_values[i], sizeof(cfg->module_values[i]), "%s", k->default_value);
}

static int config_module_slot(const char *key)
{
    const struct module_config_key *k;
    for (int i = 0; i < LIMIT_MODULE_CONFIG_KEYS && (k = module_config_key_at(i)) != NULL; i++)
        if (strcmp(k->name, key) == 0)
            return i;
    return -1;
}

static int config_module_set(struct config *cfg, int slot, const char *value, char *err, size_t err_cap)
{
    const struct module_config_key *k = module_config_key_at(slot);
    if (strlen(value) >= sizeof(cfg->module_values[slot])) {
        snprintf(err, err_cap, "%s: value too long (max %zu bytes)", k->name, sizeof(cfg->module_values[slot]) - 1);
        return -1;
    }
    if (k->min <= k->max) {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < k->min || v > k->max) {
            snprintf(err, err_cap, "%s: expected an integer in [%ld, %ld], got \"%s\"", k->name, k->min, k->max,
                     value);
            return -1;
        }
    }
    snprintf(cfg->module_values[slot], sizeof(cfg->module_values[slot]), "%s", value);
    return 0;
}

long config_module_int(const struct config *cfg, const char *key)
{
    int slot = config_module_slot(key);
    if (slot < 0) {
        log_error("config: module key %s is not declared", key);
        return 0;
    }
    return strtol(cfg->module_values[slot], NULL, 10);
}

const char *config_module_str(const struct config *cfg, const char *key)
{
    int slot = config_module_slot(key);
    if (slot < 0) {
        log_error("config: module key %s is not declared", key);
        return "";
    }
    return cfg->module_values[slot];
}

static char *config_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t err_cap)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        const struct config_key *k = &config_keys[i];
        if (strcmp(k->name, key) != 0)
            continue;
        char *field = (char *)cfg + k->offset;
        if (k->type == CONFIG_STR) {
            size_t cap = k->offset == offsetof(struct config, log_level)
                             ? sizeof(cfg->log_level) : CONFIG_STR_BYTES;
            if (strlen(value) >= cap) {
                snprintf(err, err_cap, "%s: value too long (max %zu bytes)", key, cap - 1);
                return -1;
            }
            memcpy(field, value, strlen(value) + 1);
            return 0;
        }
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, k->type == CONFIG_OCTAL ? 8 : 10);
        if (errno != 0 || end == value || *end != '\0' || v < k->min || v > k->max) {
            if (k->type == CONFIG_OCTAL)
                snprintf(err, err_cap, "%s: expected an octal mode in [%lo, %lo], got \"%s\"", key, k->min,
                         k->max, value);
            else
                snprintf(err, err_cap, "%s: expected an integer in [%ld, %ld], got \"%s\"",
                         key, k->min, k->max, value);
            return -1;
        }
        if (k->type == CONFIG_INT || k->type == CONFIG_OCTAL)
            *(int *)(void *)field = (int)v;
        else
            *(long *)(void *)field = v;
        return 0;
    }
    int slot = config_module_slot(key);
    if (slot >= 0)
        return config_module_set(cfg, slot, value, err, err_cap);
    snprintf(err, err_cap, "unknown config key \"%s\"", key);
    return -1;
}

static int config_load_file(struct config *cfg, const char *path, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_cap, "cannot open config %s: %s", path, strerror(errno));
        return -1;
    }
    char line[LIMIT_CONFIG_LINE_BYTES];
    char msg[256];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, err_cap, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *s = config_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, err_cap, "%s:%d: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        if (config_set(cfg, config_trim(s), config_trim(eq + 1), msg, sizeof(msg)) != 0) {
            snprintf(err, err_cap, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

static const char *config_key_name_at(size_t i)
{
    size_t core = sizeof(config_keys) / sizeof(config_keys[0]);
    if (i < core)
        return config_keys[i].name;
    const struct module_config_key *k = i - core < LIMIT_MODULE_CONFIG_KEYS ? module_config_key_at((int)(i - core)) : NULL;
    return k != NULL ? k->name : NULL;
}

static int config_load_env(struct config *cfg, char *err, size_t err_cap)
{
    char envname[64];
    char msg[256];
    const char *name;
    for (size_t i = 0; (name = config_key_name_at(i)) != NULL; i++) {
        size_t n = 0;
        n += (size_t)snprintf(envname, sizeof(envname), "TALLY_");
        for (const char *p = name; *p != '\0' && n + 1 < sizeof(envname); p++)
            envname[n++] = (char)toupper((unsigned char)*p);
        envname[n] = '\0';
        const char *v = getenv(envname);
        if (v == NULL)
            continue;
        if (config_set(cfg, name, v, msg, sizeof(msg)) != 0) {
            snprintf(err, err_cap, "environment %s: %s", envname, msg);
            return -1;
        }
    }
    return 0;
}

const char *config_discover(const char *given, enum config_source *source)
{
    const char *env = getenv("TALLY_CONF");
    if (given != NULL) {
        *source = CONFIG_FROM_OPTION;
        return given;
    }
    if (env != NULL && env[0] != '\0') {
        *source = CONFIG_FROM_ENV;
        return env;
    }
    if (access(TALLY_CONF_DEFAULT, F_OK) == 0) {
        *source = CONFIG_FROM_DEFAULT_PATH;
        return TALLY_CONF_DEFAULT;
    }
    *source = CONFIG_BUILT_IN;
    return NULL;
}

const char *config_source_text(enum config_source source)
{
    switch (source) {
    case CONFIG_FROM_OPTION: return "given with -c";
    case CONFIG_FROM_ENV: return "from TALLY_CONF";
    case CONFIG_FROM_DEFAULT_PATH: return "the default path";
    default: return "none: built-in defaults (no -c, no TALLY_CONF, no " TALLY_CONF_DEFAULT ")";
    }
}

int config_load(struct config *cfg, const char *path, char *err, size_t err_cap)
{
    if (path != NULL && config_load_file(cfg, path, err, err_cap) != 0)
        return -1;
    if (config_load_env(cfg, err, err_cap) != 0)
        return -1;
    if (cfg->workers == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = ncpu > 0 ? (int)(ncpu > LIMIT_WORKERS_MAX ? LIMIT_WORKERS_MAX : ncpu) : 2;
    }
    return 0;
}
