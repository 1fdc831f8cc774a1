/* tallyd: the server. Parses the command line, loads the configuration,
 * builds the route table and hands over to the master (server.c). */
#define _GNU_SOURCE
#include "core/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/module.h"
#include "core/router.h"
#include "core/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_option tallyd_options[] = {
    {"-c", "--config", CLI_VALUE, "CONFIG", "config file (key = value lines); TALLY_<KEY> env vars override it"},
    {"-t", "--test", CLI_FLAG, NULL, "check the configuration (and the modules' files) and exit"},
    {"-r", "--routes", CLI_FLAG, NULL, "print the route table (method, pattern, auth) and exit"},
    {"-v", "--version", CLI_FLAG, NULL, "print the version and exit"},
};
static const struct cli_spec tallyd_spec = {
    .prog = "tallyd", .synopsis = "[-c CONFIG] [-t | -r | -v | -h]",
    .summary = "The tally server: a master, preforked FastCGI workers and a job runner.",
    .options = tallyd_options, .option_count = 4,
    .details = "Signals: TERM/INT/QUIT graceful stop, HUP reload (new workers, then old ones retire).\n"
               "Exit status: 0 ok, 1 failure (configuration, start), 2 usage error.\n"};

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
    struct cli_args a;
    int rc = cli_start(&tallyd_spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    if (cli_flag(&tallyd_spec, &a, "-v")) {
        printf("tallyd %s\n", PACKAGE_VERSION);
        return 0;
    }
    const char *config_path = cli_value(&tallyd_spec, &a, "-c");
    int check_only = cli_flag(&tallyd_spec, &a, "-t");
    int print_routes = cli_flag(&tallyd_spec, &a, "-r");
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
                   auth_names[route_auth_of(router.routes[i]->auth)]);
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
