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
        printf("configuration ok: listen=%s workers=%d\n", cfg.listen, cfg.workers);
        return 0;
    }
    return server_run(config_path, &cfg, &router);
}
