/* usergen: see usergen.h. */
#define _GNU_SOURCE
#include "usergen.h"
#include "../core/log.h"
#include "../core/text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t usergen_token_key(char out[32], int64_t user_id)
{
    return (size_t)snprintf(out, 32, "g:%" PRId64, user_id);
}

/* Stores a fresh token; false = cache unusable. */
static bool usergen_replace(struct cache *c, const char *ns, int64_t user_id, char token[USERGEN_TOKEN_BYTES])
{
    unsigned char raw[(USERGEN_TOKEN_BYTES - 1) / 2];
    char key[32];
    size_t klen = usergen_token_key(key, user_id);
    arc4random_buf(raw, sizeof(raw));
    text_hex(raw, sizeof(raw), token);
    return cache_set(c, ns, key, klen, token, strlen(token), 0) == CACHE_OK;
}

struct usergen_found {
    char token[USERGEN_TOKEN_BYTES];         /* "" until found */
    char *value;
    size_t value_len;
};

static void usergen_hit(void *arg, size_t index, const char *value, size_t value_len)
{
    struct usergen_found *f = arg;
    if (index == 0) {
        if (value_len > 0 && value_len < USERGEN_TOKEN_BYTES) {
            memcpy(f->token, value, value_len);
            f->token[value_len] = '\0';
        }
    } else if (f->value == NULL && (f->value = malloc(value_len + 1)) != NULL) {
        memcpy(f->value, value, value_len);
        f->value[value_len] = '\0';
        f->value_len = value_len;
    }
}

int usergen_lookup(struct cache *c, const char *ns, int64_t user_id, const char *key, size_t key_len,
                   char token[USERGEN_TOKEN_BYTES], char **value, size_t *value_len)
{
    *value = NULL;
    if (c == NULL || !cache_enabled(c))
        return -1;
    char tkey[32];
    const char *keys[2] = {tkey, key};
    size_t lens[2] = {usergen_token_key(tkey, user_id), key_len};
    struct usergen_found f = {.token = ""};
    if (cache_mget(c, ns, keys, lens, 2, usergen_hit, &f) < 0) {
        free(f.value);
        return -1;
    }
    if (f.token[0] == '\0') {
        free(f.value);
        return usergen_replace(c, ns, user_id, token) ? 0 : -1;
    }
    memcpy(token, f.token, sizeof(f.token));
    size_t tlen = strlen(token);
    if (f.value != NULL && f.value_len > tlen && memcmp(f.value, token, tlen) == 0 && f.value[tlen] == '\n') {
        *value_len = f.value_len - tlen - 1;
        memmove(f.value, f.value + tlen + 1, *value_len);
        f.value[*value_len] = '\0';
        *value = f.value;
        return 1;
    }
    free(f.value);
    return 0;
}

void usergen_put(struct cache *c, const char *ns, const char *key, size_t key_len, const char *token,
                 const char *value, size_t value_len, unsigned ttl_s)
{
    size_t tlen = strlen(token);
    char *v = malloc(tlen + 1 + value_len);
    if (v == NULL)
        return;
    memcpy(v, token, tlen);
    v[tlen] = '\n';
    memcpy(v + tlen + 1, value, value_len);
    cache_set(c, ns, key, key_len, v, tlen + 1 + value_len, ttl_s);
    free(v);
}

void usergen_bump(struct cache *c, const char *ns, int64_t user_id)
{
    if (c == NULL || !cache_enabled(c))
        return;
    char key[32], token[USERGEN_TOKEN_BYTES];
    size_t klen = usergen_token_key(key, user_id);
    if (usergen_replace(c, ns, user_id, token))
        return;
    /* Unreachable memcached: deleting the token is the second chance (a
     * missing token also orphans the entries); if that fails too,
     * cache_delete orphans the whole namespace. */
    if (cache_delete(c, ns, key, klen) != CACHE_OK)
        log_warn("usergen: %s generation of user %" PRId64 " not bumped", ns, user_id);
}
