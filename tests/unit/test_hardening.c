/* Unit tests of the hardening checks: jsonx_scan (what json-c would
 * silently change in a request body). */
#include "../../app/core/jsonx.h"
#include "../../app/core/config.h"
#include "../../app/core/parse.h"
#include "../../app/core/sha256.h"
#include "../../app/core/text.h"
#include "check.h"

#include <json-c/json.h>

static int scan(const char *text, struct jsonx_problem *p)
{
    return jsonx_scan(text, strlen(text), p);
}

/* Every case is also parsed by json-c first, as the body reader does. */
static void expect(const char *text, enum err e, const char *field)
{
    struct jsonx_problem p;
    struct json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
    CHECK(o != NULL && json_tokener_get_error(tok) == json_tokener_success);
    json_object_put(o);
    json_tokener_free(tok);
    int rc = scan(text, &p);
    CHECK_INT(rc, e == ERR_NONE ? 0 : -1);
    CHECK_INT(p.err, e);
    if (field != NULL)
        CHECK_STR(p.field, field);
    if (rc != 0 && (int)p.err != (int)e)
        fprintf(stderr, "  in %s\n", text);
}

static void test_clean(void)
{
    expect("{}", ERR_NONE, NULL);
    expect("[]", ERR_NONE, NULL);
    expect("\"x\"", ERR_NONE, NULL);
    expect("{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":1},{\"a\":2}]}", ERR_NONE, NULL);
    expect("{\"a\":\"\\u00e9\\ud83d\\ude00 caf\xc3\xa9 \\n\\t\\\\\\\"\"}", ERR_NONE, NULL);
    expect("{\"A\":1,\"a\":1,\"a \":1,\"\":2}", ERR_NONE, NULL);   /* keys differ */
    expect("{\"\\u0001\":\"\\u001f\\u007f\"}", ERR_NONE, NULL);     /* controls: the handlers decide */
    expect("[\"\\ufffd\", \"\\uffef\"]", ERR_NONE, NULL);
}

static void test_nul(void)
{
    expect("{\"external_id\":\"bank\\u0000-A\"}", ERR_UNPROCESSABLE, "external_id");
    expect("[{\"merchant\":\"ok\"},{\"merchant\":\"a\\u0000b\"}]", ERR_UNPROCESSABLE, "[1].merchant");
    expect("{\"a\":{\"b\":[1,\"x\",\"\\u0000\"]}}", ERR_UNPROCESSABLE, "a.b[2]");
    expect("{\"ke\\u0000y\":1}", ERR_UNPROCESSABLE, "ke");
    expect("\"\\u0000\"", ERR_UNPROCESSABLE, "body");
}

static void test_surrogates_and_nonchars(void)
{
    expect("{\"m\":\"\\ud800\"}", ERR_UNPROCESSABLE, "m");
    expect("{\"m\":\"\\ud800x\"}", ERR_UNPROCESSABLE, "m");
    expect("{\"m\":\"\\udc00\\ud800\"}", ERR_UNPROCESSABLE, "m");
    expect("{\"m\":\"\\ud800\\u0041\"}", ERR_UNPROCESSABLE, "m");
    expect("{\"m\":\"\\uDBFF\\uDFFF\"}", ERR_UNPROCESSABLE, "m");   /* U+10FFFF: a noncharacter */
    expect("{\"m\":\"\\uD83D\\uDE00\"}", ERR_NONE, NULL);
    expect("{\"m\":\"\\ufdd0\"}", ERR_UNPROCESSABLE, "m");
    expect("{\"m\":\"\\uFFFE\"}", ERR_UNPROCESSABLE, "m");
    expect("{\"m\":\"\xef\xbf\xbf\"}", ERR_UNPROCESSABLE, "m");       /* raw U+FFFF */
    expect("{\"m\":\"\xef\xb7\xaf\"}", ERR_UNPROCESSABLE, "m");       /* raw U+FDEF */
    expect("{\"m\":\"\xef\xb7\xb0\"}", ERR_NONE, NULL);              /* raw U+FDF0 */
}

/* json-c takes these even with JSON_TOKENER_STRICT: the scan refuses them. */
static void test_json_c_leniency(void)
{
    expect("{'a':1}", ERR_BAD_REQUEST, "body");
    expect("{\"a\":1,'b':2}", ERR_BAD_REQUEST, NULL);
    struct jsonx_problem p;          /* json-c refuses these itself; the scan too, if it ever got them */
    CHECK_INT(scan("['x']", &p), -1);
    CHECK_INT(scan("{\"a\":'x'}", &p), -1);
    CHECK_INT(scan("}", &p), -1);            /* not JSON at all: refused, never read out of bounds */
    CHECK_INT(scan("]]]", &p), -1);
    CHECK_INT(scan("{,", &p), -1);
}

static void test_duplicates(void)
{
    expect("{\"a\":1,\"a\":2}", ERR_BAD_REQUEST, "a");
    expect("{\"a\":null,\"b\":1,\"a\":null}", ERR_BAD_REQUEST, "a");
    expect("{\"x\":{\"k\":1,\"j\":{},\"k\":2}}", ERR_BAD_REQUEST, "x.k");
    expect("[{\"a\":1},{\"b\":1,\"b\":1}]", ERR_BAD_REQUEST, "[1].b");
    expect("{\"\\u0061\":1,\"a\":2}", ERR_BAD_REQUEST, "a");          /* same key, spelt two ways */
    expect("{\"a\":{\"a\":1},\"b\":{\"a\":1}}", ERR_NONE, NULL);     /* one per object */
    /* many keys: sorted, not compared pairwise */
    char big[200000];
    size_t n = 0;
    big[n++] = '{';
    for (int i = 0; i < 10000; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(big + n, sizeof(big) - n, ",\"k7777\":0}");
    expect(big, ERR_BAD_REQUEST, "k7777");
}

static const char *wide(__int128 v, char out[PARSE_WIDE_CENTS_BYTES])
{
    parse_format_cents_wide(v, out);
    return out;
}

static void test_wide_cents(void)
{
    char out[PARSE_WIDE_CENTS_BYTES];
    CHECK_STR(wide(0, out), "0.00");
    CHECK_STR(wide(5, out), "0.05");
    CHECK_STR(wide(-5, out), "-0.05");
    CHECK_STR(wide(-123456, out), "-1234.56");
    /* 100 000 x 999 999 999 999.99 */
    __int128 big = parse_wide("9999999999999900000");
    CHECK_STR(wide(big, out), "99999999999999000.00");
    CHECK(big > (__int128)INT64_MAX);
    CHECK_STR(wide(parse_wide("-170141183460469231731687303715884105"), out),
              "-1701411834604692317316873037158841.05");
    CHECK(parse_wide("12a") == 0 && parse_wide("") == 0 && parse_wide("-") == 0);
    CHECK(parse_wide("999999999999999999999999999999999999999999") == 0);   /* does not fit */
    CHECK_STR(wide(parse_round_div_wide(big, 100000), out), "999999999999.99");
    CHECK_STR(wide(parse_round_div_wide(big + 50000, 100000), out), "1000000000000.00");   /* ...99.5 -> up */
    CHECK_STR(wide(parse_round_div_wide(big + 49999, 100000), out), "999999999999.99");
    CHECK_STR(wide(parse_round_div_wide(-7, 2), out), "-0.04");                          /* half away from zero */
    CHECK_STR(wide(parse_round_div_wide(7, 0), out), "0.00");
}

static void test_hmac(void)
{
    /* RFC 4231 test cases 1 and 2, and 6 (a key longer than the block) */
    uint8_t mac[32], key[131];
    char hex[65];
    memset(key, 0x0b, 20);
    sha256_hmac(key, 20, "Hi There", 8, mac);
    text_hex(mac, 32, hex);
    CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    sha256_hmac("Jefe", 4, "what do ya want for nothing?", 28, mac);
    text_hex(mac, 32, hex);
    CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, sizeof(key));
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    sha256_hmac(key, sizeof(key), m6, strlen(m6), mac);
    text_hex(mac, 32, hex);
    CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_config_edges(void)
{
    struct config cfg;
    char err[256];
    config_defaults(&cfg);
    CHECK_INT(cfg.listen_mode, 0660);       /* not world-accessible */
    CHECK_INT(cfg.now_header, 0);           /* X-Tally-Now off unless enabled */
    CHECK_STR(cfg.listen_group, "");
    CHECK_STR(cfg.csrf_secret, "");
    CHECK_INT(config_set(&cfg, "listen_mode", "0600", err, sizeof(err)), 0);
    CHECK_INT(cfg.listen_mode, 0600);
    CHECK_INT(config_set(&cfg, "listen_mode", "660", err, sizeof(err)), 0);   /* octal with or without 0 */
    CHECK_INT(cfg.listen_mode, 0660);
    CHECK_INT(config_set(&cfg, "listen_mode", "0998", err, sizeof(err)), -1);
    CHECK_INT(config_set(&cfg, "listen_mode", "01777", err, sizeof(err)), -1);
    CHECK_INT(config_set(&cfg, "now_header", "2", err, sizeof(err)), -1);
    CHECK_INT(config_set(&cfg, "now_header", "1", err, sizeof(err)), 0);
    CHECK_INT(cfg.now_header, 1);
}

int main(void)
{
    test_hmac();
    test_config_edges();
    test_wide_cents();
    test_clean();
    test_nul();
    test_surrogates_and_nonchars();
    test_duplicates();
    test_json_c_leniency();
    CHECK_DONE();
}
