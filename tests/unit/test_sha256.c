/* Unit tests: SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include "check.h"
#include "core/sha256.h"

int main(void)
{
    char hex[65];
    sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m448, strlen(m448), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    sha256_hex(m896, strlen(m896), hex);
    CHECK_STR(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

    /* One million 'a', fed in uneven pieces. */
    struct sha256_ctx c;
    char chunk[1000];
    memset(chunk, 'a', sizeof(chunk));
    sha256_init(&c);
    size_t left = 1000000, step = 1;
    while (left > 0) {
        size_t n = step < left ? step : left;
        if (n > sizeof(chunk))
            n = sizeof(chunk);
        sha256_update(&c, chunk, n);
        left -= n;
        step = step * 3 % 997 + 1;
    }
    uint8_t d[32];
    sha256_final(&c, d);
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = hx[d[i] >> 4];
        hex[2 * i + 1] = hx[d[i] & 15];
    }
    hex[64] = '\0';
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    /* Split updates at every boundary around the 55/56/64-byte padding edges. */
    char msg[130];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (char)('A' + i % 26);
    for (size_t len = 50; len <= 130; len++) {
        char whole[65], split[65];
        sha256_hex(msg, len, whole);
        sha256_init(&c);
        sha256_update(&c, msg, len / 3);
        sha256_update(&c, msg + len / 3, len - len / 3);
        sha256_final(&c, d);
        for (int i = 0; i < 32; i++) {
            split[2 * i] = hx[d[i] >> 4];
            split[2 * i + 1] = hx[d[i] & 15];
        }
        split[64] = '\0';
        CHECK_STR(split, whole);
    }
    CHECK_DONE();
}
