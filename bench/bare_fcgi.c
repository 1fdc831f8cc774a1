/* bare_fcgi: the reference FastCGI responder for bench/all. A preforked
 * libfcgi accept loop that does nothing but answer: `?size=N` gives a
 * 200 application/json body of N bytes ('x'). What tallyd costs over it is
 * tallyd's own work; what it costs over nginx's static file is FastCGI.
 *
 *   cc -O2 -o bare_fcgi bench/bare_fcgi.c -lfcgi
 *   bare_fcgi SOCKET_PATH PROCESSES
 *
 * Runs until SIGTERM (the children die with the parent). */
#define _GNU_SOURCE
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define BARE_MAX_BODY (1 << 20)

static char bare_body[BARE_MAX_BODY];

static void bare_serve(int sock)
{
    FCGX_Request r;
    if (FCGX_InitRequest(&r, sock, 0) != 0)
        exit(1);
    while (FCGX_Accept_r(&r) >= 0) {
        const char *q = FCGX_GetParam("QUERY_STRING", r.envp);
        long n = 0;
        if (q != NULL && strncmp(q, "size=", 5) == 0)
            n = strtol(q + 5, NULL, 10);
        if (n < 0 || n > BARE_MAX_BODY)
            n = 0;
        FCGX_FPrintF(r.out, "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: %ld\r\n\r\n", n);
        FCGX_PutStr(bare_body, (int)n, r.out);
        FCGX_Finish_r(&r);
    }
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bare_fcgi SOCKET_PATH PROCESSES\n");
        return 2;
    }
    int procs = atoi(argv[2]);
    if (procs < 1 || procs > 64) {
        fprintf(stderr, "bare_fcgi: PROCESSES must be 1..64\n");
        return 2;
    }
    memset(bare_body, 'x', sizeof(bare_body));
    unlink(argv[1]);
    if (FCGX_Init() != 0)
        return 1;
    int sock = FCGX_OpenSocket(argv[1], 1024);
    if (sock < 0) {
        fprintf(stderr, "bare_fcgi: cannot listen on %s\n", argv[1]);
        return 1;
    }
    for (int i = 0; i < procs; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
            bare_serve(sock);
        }
    }
    signal(SIGTERM, SIG_DFL);
    while (wait(NULL) > 0)
        ;
    return 0;
}
