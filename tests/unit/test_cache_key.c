/* Unit tests: cache key building (namespacing, hashing of long or unsafe keys). */
#include "check.h"
#include "cache/cache.h"

int main(void)
{
    char out[LIMIT_CACHE_KEY_BYTES + 1], out2[LIMIT_CACHE_KEY_BYTES + 1];
    size_t n = cache_key_build("metrics", "u:1:monthly_total:2026-10", 25, out);
    CHECK_STR(out, "tally:metrics:u:1:monthly_total:2026-10");
    CHECK_INT(n, strlen(out));
    /* The registry: health is index 0, names get the next index once. */
    static struct cache_shared sh;
    CHECK_INT(cache_ns_register(&sh, "auth"), 1);
    CHECK_INT(cache_ns_register(&sh, "users"), 2);
    CHECK_INT(cache_ns_register(&sh, "auth"), 1);
    CHECK_INT(cache_ns_register(&sh, "Bad Name"), -1);
    CHECK_INT(cache_ns_register(&sh, ""), -1);
    CHECK_INT(cache_ns_count(&sh), 3);
    CHECK_STR(cache_ns_name(&sh, 0), "health");
    CHECK_STR(cache_ns_name(&sh, 1), "auth");
    CHECK_STR(cache_ns_name(&sh, 99), "unknown");
    CHECK_INT(cache_ns_parse(&sh, "users"), 2);
    CHECK_INT(cache_ns_parse(&sh, "nope"), CACHE_NS_NONE);
    char many[16];
    for (int i = cache_ns_count(&sh); i < CACHE_NS_MAX; i++) {
        snprintf(many, sizeof(many), "n%d", i);
        CHECK_INT(cache_ns_register(&sh, many), i);
    }
    CHECK_INT(cache_ns_register(&sh, "one_too_many"), -1);

    /* "tally:users:" is 12 bytes: a 238-byte key gives exactly 250 and stays verbatim. */
    char key[400];
    memset(key, 'k', sizeof(key));
    n = cache_key_build("users", key, 238, out);
    CHECK_INT(n, 250);
    CHECK(out[12] == 'k');
    n = cache_key_build("users", key, 239, out);
    CHECK_INT(n, 12 + 1 + 64);
    CHECK(out[12] == '#');
    CHECK_INT(strlen(out), n);

    /* Long keys with a common 300-byte prefix hash differently, and stably. */
    key[350] = 'x';
    cache_key_build("users", key, 400, out);
    key[350] = 'y';
    cache_key_build("users", key, 400, out2);
    CHECK(strcmp(out, out2) != 0);
    cache_key_build("users", key, 400, out);
    CHECK_STR(out, out2);

    /* Bytes the ASCII protocol forbids force hashing. */
    n = cache_key_build("auth", "has space", 9, out);
    CHECK(out[11] == '#');
    CHECK_INT(n, 11 + 1 + 64);
    cache_key_build("auth", "tab\there", 8, out);
    CHECK(out[11] == '#');
    cache_key_build("auth", "nl\n", 3, out);
    CHECK(out[11] == '#');
    cache_key_build("auth", "caf\xc3\xa9", 5, out);   /* UTF-8 bytes are fine */
    CHECK_STR(out, "tally:auth:caf\xc3\xa9");
    /* Only hashed keys start with '#': a caller's "#..." key is hashed too,
     * so it cannot equal the hashed form of another key. */
    char forged[1 + 64 + 1] = "#";
    cache_key_build("auth", "has space", 9, out2);
    memcpy(forged + 1, out2 + 12, 64);
    forged[65] = '\0';
    n = cache_key_build("auth", forged, 65, out);
    CHECK_INT(n, 11 + 1 + 64);
    CHECK(strcmp(out, out2) != 0);
    cache_key_build("auth", "#", 1, out);
    CHECK(out[11] == '#' && strlen(out) == 11 + 1 + 64);
    cache_key_build("auth", "a#b", 3, out);         /* '#' elsewhere is fine */
    CHECK_STR(out, "tally:auth:a#b");
    /* Empty key, DEL byte, fixed hashed length for every namespace. */
    n = cache_key_build("health", "", 0, out);
    CHECK_STR(out, "tally:health:");
    CHECK_INT(n, 13);
    cache_key_build("auth", "del\x7f", 4, out);
    CHECK(out[11] == '#');
    for (int ns = 0; ns < cache_ns_count(&sh); ns++) {
        n = cache_key_build(cache_ns_name(&sh, ns), key, 400, out);
        CHECK_INT(n, 6 + strlen(cache_ns_name(&sh, ns)) + 1 + 1 + 64);
        CHECK(n <= LIMIT_CACHE_KEY_BYTES);
    }
    /* Namespaces separate equal keys. */
    cache_key_build("auth", "k", 1, out);
    cache_key_build("users", "k", 1, out2);
    CHECK(strcmp(out, out2) != 0);
    CHECK_DONE();
}
