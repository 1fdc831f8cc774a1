/* server: the master process. See server.h.
 *
 * The master blocks its signals and takes them synchronously with
 * sigtimedwait() every tick (100 ms), so there is no handler state and no
 * race between a signal and the bookkeeping it triggers. */
#define _GNU_SOURCE
#include "server.h"
#include "clock.h"
#include "limits.h"
#include "log.h"
#include "shm.h"
#include "text.h"
#include "worker.h"
#include "module.h"
#include "../jobs/jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SERVER_TICK_MS          100
#define SERVER_FAST_EXIT_MS     2000     /* a worker dying sooner than this is crash-looping */
#define SERVER_BACKOFF_BASE_MS  100
#define SERVER_BACKOFF_MAX_MS   30000
#define SERVER_RESIGNAL_MS      500      /* re-send SIGTERM to stragglers in accept() */
#define SERVER_OLD_RUNNERS      8        /* retired job runners still finishing their job */

struct server_slot {
    pid_t pid;                    /* 0 = free */
    uint32_t generation;
    uint64_t started_mono_ms;
    bool retiring;                /* asked to stop (reload, scale down) */
};

struct server {
    const char *config_path;
    struct config *cfg;
    const struct router *router;
    struct shm *shm;
    int listen_fd;
    bool listen_is_unix;
    uint32_t generation;
    struct server_slot slots[LIMIT_WORKER_SLOTS];
    int fast_failures;            /* consecutive crash-loop exits */
    uint64_t spawn_not_before_ms; /* crash-loop backoff */
    bool stopping;
    uint64_t stop_deadline_ms;
    uint64_t last_resignal_ms;
    /* The job-runner child (config job_runner): same crash-loop backoff
     * rules as the workers, its own counters. */
    pid_t runner_pid;
    uint64_t runner_started_mono_ms;
    uint64_t runner_not_before_ms;
    int runner_fast_failures;
    pid_t runner_old[SERVER_OLD_RUNNERS];  /* replaced on reload, finishing their job */
};

/* The gid of group (a name or a number); -1 if unknown. "" = keep tallyd's. */
static int server_group_id(const char *group, gid_t *gid)
{
    char *end = NULL;
    long n = strtol(group, &end, 10);
    if (end != group && *end == '\0' && n >= 0) {
        *gid = (gid_t)n;
        return 0;
    }
    struct group gr, *found = NULL;
    char buf[4096];
    if (getgrnam_r(group, &gr, buf, sizeof(buf), &found) != 0 || found == NULL)
        return -1;
    *gid = found->gr_gid;
    return 0;
}

/* Created with no permissions for anyone else (umask), then given its group
 * and mode, before listen(): nothing can connect in between. */
static int server_listen_unix(const char *path, int backlog, int mode, const char *group)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr.sun_path)) {
        log_error("listen: socket path too long: %s", path);
        return -1;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    unlink(path);
    gid_t gid = (gid_t)-1;
    if (group[0] != '\0' && server_group_id(group, &gid) != 0) {
        log_error("listen on %s: unknown group \"%s\" (listen_group)", path, group);
        close(fd);
        return -1;
    }
    mode_t old_umask = umask(0177);
    int bound = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old_umask);
    if (bound != 0 || chown(path, (uid_t)-1, gid) != 0 || chmod(path, (mode_t)mode) != 0 ||
        listen(fd, backlog) != 0) {
        log_error("listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int server_listen_tcp(const char *hostport, int backlog)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
        return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
        log_error("listen: cannot parse %s (numeric host:port expected)", hostport);
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
        log_error("listen on %s: %s", hostport, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int server_pidfile_write(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        long pid = 0;
        if (fscanf(f, "%ld", &pid) == 1 && pid > 0 && kill((pid_t)pid, 0) == 0 && pid != getpid()) {
            fclose(f);
            log_error("tallyd already running with pid %ld (pidfile %s)", pid, path);
            return -1;
        }
        fclose(f);
    }
    char tmp[CONFIG_STR_BYTES + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        log_error("cannot write pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int server_live_workers(const struct server *s, bool current_only)
{
    int n = 0;
    for (int i = 0; i < LIMIT_WORKER_SLOTS; i++)
        if (s->slots[i].pid > 0 && (!current_only || (s->slots[i].generation == s->generation &&
                                                      !s->slots[i].retiring)))
            n++;
    return n;
}

static void server_spawn(struct server *s, int slot)
{
    struct shm_worker *sw = &s->shm->workers[slot];
    memset(sw, 0, sizeof(*sw));
    sw->generation = s->generation;
    sw->state = SHM_WORKER_STARTING;
    sw->started_ms = clock_wall_ms();
    pid_t master = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        s->spawn_not_before_ms = clock_mono_ms() + SERVER_BACKOFF_BASE_MS;
        return;
    }
    if (pid == 0) {
        /* A master killed with SIGKILL takes its workers along (SIGTERM: the
         * request in hand completes), so the socket stops accepting and
         * nginx moves on to another host at once instead of queueing on a
         * listener nobody will ever respawn. The getppid() check covers a
         * master that died before the prctl. */
        prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        if (getppid() != master)
            _exit(0);
        worker_main(slot, s->generation, s->cfg, s->shm, s->router, s->listen_fd);
    }
    sw->pid = pid;
    s->slots[slot].pid = pid;
    s->slots[slot].generation = s->generation;
    s->slots[slot].started_mono_ms = clock_mono_ms();
    s->slots[slot].retiring = false;
    log_debug("worker %d started, pid %d, generation %u", slot, (int)pid, s->generation);
}

/* Crash-loop guard shared by workers and the job runner: a child that died
 * within SERVER_FAST_EXIT_MS doubles the wait before the next spawn (up to
 * SERVER_BACKOFF_MAX_MS); one that lived longer resets it. */
static void server_backoff_note(int *fast_failures, uint64_t *not_before_ms, bool fast, const char *what)
{
    if (!fast) {
        *fast_failures = 0;
        return;
    }
    (*fast_failures)++;
    int shift = *fast_failures > 9 ? 9 : *fast_failures;
    uint64_t backoff = (uint64_t)SERVER_BACKOFF_BASE_MS << shift;
    if (backoff > SERVER_BACKOFF_MAX_MS)
        backoff = SERVER_BACKOFF_MAX_MS;
    *not_before_ms = clock_mono_ms() + backoff;
    log_error("crash loop guard: %d quick %s deaths in a row, next spawn in %llu ms", *fast_failures, what,
              (unsigned long long)backoff);
}

static void server_spawn_runner(struct server *s)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork (job runner): %s", strerror(errno));
        s->runner_not_before_ms = clock_mono_ms() + SERVER_BACKOFF_BASE_MS;
        return;
    }
    if (pid == 0) {
        close(s->listen_fd);
        jobs_runner_main(s->cfg, s->shm);
    }
    s->runner_pid = pid;
    s->runner_started_mono_ms = clock_mono_ms();
    shm_store(&s->shm->jobs.runner_pid, (int32_t)pid);
    log_debug("job runner started, pid %d", (int)pid);
}

/* Brings the current generation up to cfg->workers, respecting backoff,
 * and starts the job runner if it is configured and missing. */
static void server_fill(struct server *s)
{
    if (!s->stopping && s->cfg->job_runner && s->runner_pid == 0 &&
        clock_mono_ms() >= s->runner_not_before_ms)
        server_spawn_runner(s);
    if (s->stopping || clock_mono_ms() < s->spawn_not_before_ms)
        return;
    int missing = s->cfg->workers - server_live_workers(s, true);
    for (int i = 0; i < LIMIT_WORKER_SLOTS && missing > 0; i++) {
        if (s->slots[i].pid != 0)
            continue;
        server_spawn(s, i);
        missing--;
    }
}

static void server_on_runner_exit(struct server *s, pid_t pid, int status)
{
    for (int i = 0; i < SERVER_OLD_RUNNERS; i++)
        if (s->runner_old[i] == pid) {
            s->runner_old[i] = 0;
            return;
        }
    uint64_t lived = clock_mono_ms() - s->runner_started_mono_ms;
    s->runner_pid = 0;
    shm_store(&s->shm->jobs.runner_pid, 0);
    if (s->stopping)
        return;
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (WIFSIGNALED(status))
        log_warn("job runner (pid %d) killed by signal %d after %llu ms", (int)pid, WTERMSIG(status),
                 (unsigned long long)lived);
    else
        log_warn("job runner (pid %d) exited with status %d after %llu ms", (int)pid, WEXITSTATUS(status),
                 (unsigned long long)lived);
    shm_add(&s->shm->jobs.runner_restarts, 1);
    server_backoff_note(&s->runner_fast_failures, &s->runner_not_before_ms,
                        !clean && lived < SERVER_FAST_EXIT_MS, "job runner");
}

static bool server_is_runner(const struct server *s, pid_t pid)
{
    if (pid == s->runner_pid)
        return true;
    for (int i = 0; i < SERVER_OLD_RUNNERS; i++)
        if (s->runner_old[i] == pid)
            return true;
    return false;
}

static int server_live_runners(const struct server *s)
{
    int n = s->runner_pid > 0;
    for (int i = 0; i < SERVER_OLD_RUNNERS; i++)
        n += s->runner_old[i] > 0;
    return n;
}

/* Reload: the running job runner finishes its job and leaves; a new one
 * (new config) starts at once. Two runners for a moment are harmless. */
static void server_retire_runner(struct server *s)
{
    if (s->runner_pid <= 0)
        return;
    kill(s->runner_pid, SIGTERM);
    for (int i = 0; i < SERVER_OLD_RUNNERS; i++)
        if (s->runner_old[i] == 0) {
            s->runner_old[i] = s->runner_pid;
            break;
        }
    s->runner_pid = 0;
    s->runner_not_before_ms = 0;
    s->runner_fast_failures = 0;
}

static void server_on_exit(struct server *s, pid_t pid, int status)
{
    if (server_is_runner(s, pid)) {
        server_on_runner_exit(s, pid, status);
        return;
    }
    int slot = -1;
    for (int i = 0; i < LIMIT_WORKER_SLOTS; i++)
        if (s->slots[i].pid == pid)
            slot = i;
    if (slot < 0)
        return;
    struct server_slot *sl = &s->slots[slot];
    uint64_t lived = clock_mono_ms() - sl->started_mono_ms;
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    bool expected = s->stopping || sl->retiring || sl->generation != s->generation;
    if (!clean && !expected) {
        if (WIFSIGNALED(status))
            log_warn("worker %d (pid %d) killed by signal %d after %llu ms", slot, (int)pid,
                     WTERMSIG(status), (unsigned long long)lived);
        else
            log_warn("worker %d (pid %d) exited with status %d after %llu ms", slot, (int)pid,
                     WEXITSTATUS(status), (unsigned long long)lived);
        shm_add(&s->shm->worker_restarts, 1);
        server_backoff_note(&s->fast_failures, &s->spawn_not_before_ms, lived < SERVER_FAST_EXIT_MS, "worker");
    } else if (clean && !expected) {
        shm_add(&s->shm->worker_recycles, 1);
    }
    sl->pid = 0;
    sl->retiring = false;
    shm_store(&s->shm->workers[slot].pid, 0);
    shm_store(&s->shm->workers[slot].state, SHM_WORKER_FREE);
}

static void server_reap(struct server *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        server_on_exit(s, pid, status);
}

static void server_signal_workers(struct server *s, int signo, bool retiring_only)
{
    for (int i = 0; i < LIMIT_WORKER_SLOTS; i++)
        if (s->slots[i].pid > 0 && (!retiring_only || s->slots[i].retiring))
            kill(s->slots[i].pid, signo);
    if (!retiring_only && s->runner_pid > 0)
        kill(s->runner_pid, signo);
    for (int i = 0; i < SERVER_OLD_RUNNERS; i++)
        if (s->runner_old[i] > 0)
            kill(s->runner_old[i], signo);
}

/* php-fpm's request_terminate_timeout and slowlog, from the scoreboard. */
static void server_watch_requests(struct server *s)
{
    uint64_t now = clock_mono_ms();
    for (int i = 0; i < LIMIT_WORKER_SLOTS; i++) {
        if (s->slots[i].pid <= 0)
            continue;
        struct shm_worker *sw = &s->shm->workers[i];
        uint64_t started = shm_load(&sw->request_start_mono_ms);
        if (started == 0 || now < started)
            continue;
        uint64_t elapsed = now - started;
        uint64_t seq = shm_load(&sw->request_seq);
        if (s->cfg->slowlog_ms > 0 && elapsed > (uint64_t)s->cfg->slowlog_ms && sw->slowlog_seq != seq) {
            sw->slowlog_seq = seq;
            shm_add(&s->shm->slow_requests, 1);
            log_warn("slow request: worker %d pid %d %s %s id %s running for %llu ms", i,
                     (int)s->slots[i].pid, sw->method, sw->route, sw->request_id,
                     (unsigned long long)elapsed);
        }
        if (s->cfg->request_timeout_ms > 0 && elapsed > (uint64_t)s->cfg->request_timeout_ms) {
            log_error("request timeout: killing worker %d pid %d (%s %s id %s, %llu ms)", i,
                      (int)s->slots[i].pid, sw->method, sw->route, sw->request_id,
                      (unsigned long long)elapsed);
            shm_add(&s->shm->worker_timeouts, 1);
            shm_store(&sw->request_start_mono_ms, 0);
            kill(s->slots[i].pid, SIGKILL);
        }
    }
}

static void server_reload(struct server *s)
{
    struct config fresh;
    char err[512];
    config_defaults(&fresh);
    if (config_load(&fresh, s->config_path, err, sizeof(err)) != 0) {
        log_error("reload: %s; keeping the running configuration", err);
        return;
    }
    if (strcmp(fresh.listen, s->cfg->listen) != 0) {
        log_warn("reload: listen changed (%s -> %s); it takes effect on restart only",
                 s->cfg->listen, fresh.listen);
        memcpy(fresh.listen, s->cfg->listen, sizeof(fresh.listen));
    }
    if (fresh.csrf_secret[0] == '\0') {   /* keep the generated one: open login forms stay valid */
        memcpy(fresh.csrf_secret, s->cfg->csrf_secret, sizeof(fresh.csrf_secret));
    }
    enum log_level lvl;
    if (log_level_parse(fresh.log_level, &lvl) == 0)
        log_set_level(lvl);
    *s->cfg = fresh;
    for (int i = 0; i < LIMIT_WORKER_SLOTS; i++)
        if (s->slots[i].pid > 0)
            s->slots[i].retiring = true;
    s->generation++;
    shm_store(&s->shm->generation, s->generation);
    s->spawn_not_before_ms = 0;
    s->fast_failures = 0;
    server_retire_runner(s);
    /* New generation first, so there is always a worker in accept(). */
    server_fill(s);
    server_signal_workers(s, SIGQUIT, true);
    log_info("reload: generation %u, %d workers", s->generation, s->cfg->workers);
}

static void server_begin_stop(struct server *s, int signo)
{
    if (s->stopping) {
        if (signo == SIGINT || signo == SIGTERM) {
            log_warn("second stop signal: killing workers now");
            server_signal_workers(s, SIGKILL, false);
        }
        return;
    }
    s->stopping = true;
    s->stop_deadline_ms = clock_mono_ms() + (uint64_t)s->cfg->graceful_timeout_ms;
    s->last_resignal_ms = clock_mono_ms();
    log_info("stopping: waiting for in-flight requests (up to %d ms)", s->cfg->graceful_timeout_ms);
    server_signal_workers(s, SIGTERM, false);
}

static void server_tick_stopping(struct server *s)
{
    uint64_t now = clock_mono_ms();
    if (now >= s->stop_deadline_ms) {
        log_warn("graceful timeout reached: killing remaining workers");
        server_signal_workers(s, SIGKILL, false);
        s->stop_deadline_ms = now + 5000;
    } else if (now - s->last_resignal_ms >= SERVER_RESIGNAL_MS) {
        /* Catches a worker that got the first signal just before it
         * entered accept(): the next one interrupts it. */
        server_signal_workers(s, SIGTERM, false);
        s->last_resignal_ms = now;
    }
}

static int server_open_listen(struct server *s)
{
    const char *l = s->cfg->listen;
    s->listen_is_unix = strchr(l, '/') != NULL || strchr(l, ':') == NULL;
    s->listen_fd = s->listen_is_unix ? server_listen_unix(l, s->cfg->listen_backlog, s->cfg->listen_mode,
                                                          s->cfg->listen_group)
                                     : server_listen_tcp(l, s->cfg->listen_backlog);
    if (s->listen_fd < 0)
        return -1;
    /* Workers inherit it: clear close-on-exec is not needed (no exec), but
     * the fd must stay open across fork, which it does. */
    return 0;
}

int server_run(const char *config_path, struct config *cfg, const struct router *router)
{
    struct server s;
    memset(&s, 0, sizeof(s));
    s.config_path = config_path;
    s.cfg = cfg;
    s.router = router;
    s.generation = 1;
    int rc = 1;
    if (cfg->csrf_secret[0] == '\0') {   /* one per tallyd start, shared by its workers (fork) */
        unsigned char raw[32];
        arc4random_buf(raw, sizeof(raw));
        text_hex(raw, sizeof(raw), cfg->csrf_secret);
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    s.shm = shm_create();
    if (s.shm == NULL) {
        log_error("cannot create shared memory: %s", strerror(errno));
        return 1;
    }
    if (module_shm_layout(s.shm) != 0 || module_cache_namespaces(&s.shm->cache) != 0)
        goto out_shm;
    s.shm->master_pid = (int32_t)getpid();
    s.shm->master_started_ms = clock_wall_ms();
    s.shm->generation = s.generation;
    if (server_pidfile_write(cfg->pidfile) != 0)
        goto out_shm;
    if (server_open_listen(&s) != 0)
        goto out_pidfile;
    log_info("tallyd %s listening on %s with %d workers", PACKAGE_VERSION, cfg->listen, cfg->workers);

    server_fill(&s);
    for (;;) {
        struct timespec tick = {0, SERVER_TICK_MS * 1000000L};
        siginfo_t info;
        int signo = sigtimedwait(&set, &info, &tick);
        if (signo == SIGCHLD)
            server_reap(&s);
        else if (signo == SIGTERM || signo == SIGINT || signo == SIGQUIT)
            server_begin_stop(&s, signo);
        else if (signo == SIGHUP && !s.stopping)
            server_reload(&s);
        server_reap(&s);
        if (s.stopping) {
            if (server_live_workers(&s, false) == 0 && server_live_runners(&s) == 0)
                break;
            server_tick_stopping(&s);
            continue;
        }
        server_watch_requests(&s);
        server_fill(&s);
    }
    log_info("stopped");
    rc = 0;
    close(s.listen_fd);
    if (s.listen_is_unix)
        unlink(cfg->listen);
out_pidfile:
    unlink(cfg->pidfile);
out_shm:
    shm_destroy(s.shm);
    return rc;
}
