/* tallyd: the server. Parses the command line, loads the configuration,
 * builds the route table and hands over to the master (server.c). */
#define _GNU_SOURCE
#include "core/config.h"
#include "core/log.h"
#include "core/module.h"
#include "core/router.h"
#include "core/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void tallyd_usage(FILE *out)
{
    fprintf(out,
            "usage: tallyd [-c CONFIG] [-t]\n"
            "  -c CONFIG  config file (key = value lines); TALLY_<KEY> env vars override it\n"
            "  -t         check the configuration and exit\n"
            "  -r         print the route table (method, pattern, auth) and exit\n"
            "  -v         print the version\n"
            "Signals: TERM/INT/QUIT graceful stop, HUP reload (new workers, then old ones retire).\n");
}

/* tallyd -t: the file read and the settings that matter to an operator,
 * each marked when it is the built-in default rather than configured. */
static void tallyd_print_check(const struct config *cfg, const char *path, enum config_source source)
{
    static struct config dflt;
    config_defaults(&dflt);
    printf("configuration ok: %s (%s)\n", path != NULL ? path : "-", config_source_text(source));
#define TALLYD_SHOW(key, fmt, v, d) printf("  %-18s " fmt "%s\n", key, v, (d) ? "  (the built-in default)" : "")
    TALLYD_SHOW("listen", "%s", cfg->listen, strcmp(cfg->listen, dflt.listen) == 0);
    TALLYD_SHOW("pidfile", "%s", cfg->pidfile, strcmp(cfg->pidfile, dflt.pidfile) == 0);
    TALLYD_SHOW("workers", "%d", cfg->workers, 0);
    TALLYD_SHOW("pg_conninfo", "%s", cfg->pg_conninfo, strcmp(cfg->pg_conninfo, dflt.pg_conninfo) == 0);
    TALLYD_SHOW("memcached_servers", "%s", cfg->memcached_servers,
                strcmp(cfg->memcached_servers, dflt.memcached_servers) == 0);
    TALLYD_SHOW("sql_dir", "%s", cfg->sql_dir, strcmp(cfg->sql_dir, dflt.sql_dir) == 0);
    TALLYD_SHOW("templates_dir", "%s", cfg->templates_dir, strcmp(cfg->templates_dir, dflt.templates_dir) == 0);
    TALLYD_SHOW("debug_routes", "%d", cfg->debug_routes, cfg->debug_routes == dflt.debug_routes);
    TALLYD_SHOW("job_runner", "%d", cfg->job_runner, cfg->job_runner == dflt.job_runner);
#undef TALLYD_SHOW
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int check_only = 0;
    int print_routes = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "-t") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "-r") == 0) {
            print_routes = 1;
        } else if (strcmp(argv[i], "-v") == 0) {
            printf("tallyd %s\n", PACKAGE_VERSION);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            tallyd_usage(stdout);
            return 0;
        } else {
            tallyd_usage(stderr);
            return 2;
        }
    }
    static struct config cfg;       /* lives as long as the process; workers inherit it */
    static struct router router;
    char err[512];
    config_defaults(&cfg);
    enum config_source source;
    config_path = config_discover(config_path, &source);
    if (config_load(&cfg, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "tallyd: %s\n", err);
        return 1;
    }
    enum log_level level;
    if (log_level_parse(cfg.log_level, &level) != 0) {
        fprintf(stderr, "tallyd: log_level must be debug, info, warn or error\n");
        return 1;
    }
    log_set_level(level);
    if (module_routes_register(&router, cfg.debug_routes != 0) != 0) {
        fprintf(stderr, "tallyd: route table full\n");
        return 1;
    }
    if (print_routes) {
        static const char *const auth_names[] = {"public", "user", "admin"};
        for (int i = 0; i < router.count; i++)
            printf("%s %s %s\n", router.routes[i]->method, router.routes[i]->pattern,
                   auth_names[router.routes[i]->auth]);
        return 0;
    }
    if (module_init_master(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "tallyd: %s\n", err);
        return 1;
    }
    if (check_only) {
        tallyd_print_check(&cfg, config_path, source);
        return 0;
    }
    return server_run(config_path, &cfg, &router);
}
