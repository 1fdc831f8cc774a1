#define _GNU_SOURCE
/* Unit tests: arena, config parsing and overrides, the error table,
 * request query-string decoding and path ids. */
#include "check.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/errors.h"
#include "core/request.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <unistd.h>
#include <stdint.h>

static void test_arena(void)
{
    struct arena a;
    arena_init(&a);
    char *s = arena_strndup(&a, "hello", 5);
    CHECK_STR(s, "hello");
    char *big = arena_alloc(&a, LIMIT_ARENA_CHUNK_BYTES * 3);
    CHECK(big != NULL);
    memset(big, 1, LIMIT_ARENA_CHUNK_BYTES * 3);
    CHECK(arena_alloc(&a, (size_t)LIMIT_ARENA_TOTAL_BYTES + 1) == NULL);
    CHECK_STR(arena_sprintf(&a, "%d-%s", 7, "x"), "7-x");
    CHECK(((uintptr_t)arena_alloc(&a, 3) & 15) == 0);
    arena_reset(&a);
    CHECK(a.total_bytes <= (size_t)LIMIT_ARENA_CHUNK_BYTES * 3);
    CHECK(arena_alloc(&a, 10) != NULL);
    arena_free(&a);
    CHECK(a.head == NULL);
}

static void test_config(void)
{
    struct config cfg;
    char err[256];
    config_defaults(&cfg);
    CHECK_INT(cfg.body_limit_bytes, 1024 * 1024);
    CHECK_INT(config_set(&cfg, "workers", "8", err, sizeof(err)), 0);
    CHECK_INT(cfg.workers, 8);
    CHECK_INT(config_set(&cfg, "workers", "-1", err, sizeof(err)), -1);
    CHECK(strstr(err, "workers") != NULL);
    CHECK_INT(config_set(&cfg, "workers", "3x", err, sizeof(err)), -1);
    CHECK_INT(config_set(&cfg, "nope", "1", err, sizeof(err)), -1);
    CHECK(strstr(err, "unknown") != NULL);
    CHECK_INT(config_set(&cfg, "listen", "/tmp/x.sock", err, sizeof(err)), 0);
    CHECK_STR(cfg.listen, "/tmp/x.sock");

    char path[] = "/tmp/tally-config-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "# comment\n  workers = 5 \nmemcached_servers=127.0.0.1:1,127.0.0.1:2\n\nlog_level = debug\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    setenv("TALLY_WORKERS", "6", 1);
    config_defaults(&cfg);
    CHECK_INT(config_load(&cfg, path, err, sizeof(err)), 0);
    CHECK_INT(cfg.workers, 6);                    /* environment wins over the file */
    CHECK_STR(cfg.memcached_servers, "127.0.0.1:1,127.0.0.1:2");
    CHECK_STR(cfg.log_level, "debug");
    unsetenv("TALLY_WORKERS");

    FILE *f = fopen(path, "w");
    fputs("workers 5\n", f);
    fclose(f);
    config_defaults(&cfg);
    CHECK_INT(config_load(&cfg, path, err, sizeof(err)), -1);
    CHECK(strstr(err, ":1:") != NULL);
    unlink(path);
    CHECK_INT(config_load(&cfg, "/nonexistent/tally.conf", err, sizeof(err)), -1);
}

static void test_errors(void)
{
    CHECK_INT(err_lookup(ERR_UNPROCESSABLE)->status, 422);
    CHECK_STR(err_lookup(ERR_UNPROCESSABLE)->code, "invalid_argument");
    CHECK_INT(err_lookup(ERR_BAD_REQUEST)->status, 400);
    CHECK_STR(err_lookup(ERR_UNAVAILABLE)->code, "unavailable");
    CHECK_INT(err_lookup(ERR_PAYLOAD_TOO_LARGE)->status, 413);
    CHECK_INT(err_lookup((enum err)999)->status, 500);
    for (int e = ERR_BAD_REQUEST; e < ERR__COUNT; e++) {
        CHECK(err_lookup((enum err)e)->code != NULL);
        CHECK(err_lookup((enum err)e)->status >= 400);
    }
    CHECK_STR(err_status_reason(201), "Created");
    CHECK_STR(err_status_reason(503), "Service Unavailable");
}

static void test_query(void)
{
    struct arena a;
    arena_init(&a);
    char *env[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/api/v1/users/12",
                   "QUERY_STRING=category=Caf%C3%A9&q=a+b%26c&empty=&flag&limit=10",
                   "HTTP_X_REQUEST_ID=abc-123", NULL};
    struct request req;
    request_init(&req, NULL, &a, env);
    CHECK_STR(req.path, "/api/v1/users/12");
    CHECK_STR(req.request_id, "abc-123");
    CHECK_INT(request_parse_query(&req), ERR_NONE);
    CHECK_STR(request_query(&req, "category"), "Café");
    CHECK_STR(request_query(&req, "q"), "a b&c");
    CHECK_STR(request_query(&req, "empty"), "");
    CHECK_STR(request_query(&req, "flag"), "");
    CHECK(request_query(&req, "missing") == NULL);

    char *env2[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/x?y=1", "QUERY_STRING=bad=%00",
                    "HTTP_X_REQUEST_ID=has space", NULL};
    request_init(&req, NULL, &a, env2);
    CHECK_STR(req.path, "/x");
    CHECK_INT(strlen(req.request_id), 24);        /* generated: the given one is not plain */
    CHECK_INT(request_parse_query(&req), ERR_BAD_REQUEST);

    char *env3[] = {"QUERY_STRING=a=1&a=2&b=%zz", NULL};
    request_init(&req, NULL, &a, env3);
    CHECK_INT(request_parse_query(&req), ERR_NONE);
    CHECK_STR(request_query(&req, "a"), "1");
    CHECK_STR(request_query(&req, "b"), "%zz");

    /* Path ids must be positive integers. */
    const char *ids[] = {"12", "abc", "0", "-3", "99999999999999999999", "1e3"};
    const int ok[] = {1, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        request_init(&req, NULL, &a, env);
        req.match.param_count = 1;
        req.match.params[0].name = "id";
        req.match.params[0].name_len = 2;
        req.match.params[0].value = ids[i];
        req.match.params[0].value_len = strlen(ids[i]);
        int64_t id = 0;
        enum err e = request_path_id(&req, "id", &id);
        CHECK_INT(e == ERR_NONE, ok[i]);
        if (!ok[i])
            CHECK_STR(req.error_field, "id");
    }
    arena_free(&a);
}

int main(void)
{
    test_arena();
    test_config();
    test_errors();
    test_query();
    CHECK_DONE();
}
