/* Unit tests of text: UTF-8 validation, folding, percent-decoding, HTML escaping. */
#include "check.h"
#include "core/text.h"

#include <string.h>

static bool utf8(const char *s)
{
    return text_is_utf8(s, strlen(s));
}

static void test_utf8(void)
{
    CHECK(utf8(""));
    CHECK(utf8("plain ascii"));
    CHECK(utf8("Épicerie Œuvre ß"));
    CHECK(utf8("\xE2\x82\xAC"));                 /* € */
    CHECK(utf8("\xF0\x9F\x98\x80"));             /* U+1F600 */
    CHECK(utf8("\xF4\x8F\xBF\xBF"));             /* U+10FFFF, the last one */
    CHECK(utf8("\xED\x9F\xBF"));                 /* U+D7FF, just below surrogates */
    CHECK(utf8("\xEE\x80\x80"));                 /* U+E000, just above */
    CHECK(text_is_utf8("a\0b", 3));              /* NUL is valid UTF-8 */
    CHECK(!utf8("\xC3"));                        /* truncated */
    CHECK(!utf8("\xE2\x82"));                    /* truncated */
    CHECK(!utf8("\xC3\x28"));                    /* bad continuation */
    CHECK(!utf8("\x80"));                        /* lone continuation */
    CHECK(!utf8("\xC0\xAF"));                    /* overlong '/' */
    CHECK(!utf8("\xC1\xBF"));                    /* overlong */
    CHECK(!utf8("\xE0\x80\xAF"));                /* overlong 3-byte */
    CHECK(!utf8("\xE0\x9F\xBF"));                /* overlong 3-byte, top */
    CHECK(!utf8("\xF0\x80\x80\xAF"));            /* overlong 4-byte */
    CHECK(!utf8("\xF0\x8F\xBF\xBF"));            /* overlong 4-byte, top */
    CHECK(!utf8("\xED\xA0\x80"));                /* U+D800 surrogate */
    CHECK(!utf8("\xED\xBF\xBF"));                /* U+DFFF surrogate */
    CHECK(!utf8("\xF4\x90\x80\x80"));            /* U+110000 */
    CHECK(!utf8("\xF5\x80\x80\x80"));
    CHECK(!utf8("\xFF"));
    CHECK(!utf8("\xFE"));
    CHECK(!utf8("ok\xE9t\xE9"));                 /* Latin-1, not UTF-8 */
    CHECK(!text_is_utf8("\xC3\xA9", 1));         /* len cuts the sequence */
}

/* Folds s into a buffer of cap bytes; returns the buffer. */
static const char *fold(const char *s, size_t cap, size_t *len_out)
{
    static char out[256];
    memset(out, 'X', sizeof(out));
    size_t n = text_fold(s, strlen(s), out, cap);
    if (len_out != NULL)
        *len_out = n;
    return out;
}

static void test_fold(void)
{
    size_t n;
    CHECK_STR(fold("Épicerie  Fine", 256, &n), "epicerie fine");
    CHECK_INT(n, 13);
    CHECK_STR(fold("CAFÉ", 256, NULL), "cafe");
    CHECK_STR(fold("Œuvre", 256, NULL), "oeuvre");
    CHECK_STR(fold("œuf", 256, NULL), "oeuf");
    CHECK_STR(fold("Æther Cæsar", 256, NULL), "aether caesar");
    CHECK_STR(fold("Straße", 256, NULL), "strasse");
    CHECK_STR(fold("àâä ÀÂÄ", 256, NULL), "aaa aaa");
    CHECK_STR(fold("éèêë ÉÈÊË", 256, NULL), "eeee eeee");
    CHECK_STR(fold("ç Ç ô ö Ô Ö", 256, NULL), "c c o o o o");
    CHECK_STR(fold("ùûü ÙÛÜ îï ÎÏ", 256, NULL), "uuu uuu ii ii");
    CHECK_STR(fold("ÿ Ÿ ñ Ñ", 256, NULL), "y y n n");
    CHECK_STR(fold("Łódź Škoda Ĳssel", 256, NULL), "lodz skoda ijssel");
    CHECK_STR(fold("Cinéma UGC", 256, NULL), "cinema ugc");
    CHECK_STR(fold("Boulangerie Pâtisserie", 256, NULL), "boulangerie patisserie");
    CHECK_STR(fold("Santé", 256, NULL), "sante");
    CHECK_STR(fold("McDonald's", 256, NULL), "mcdonald's");
    CHECK_STR(fold("  \t lead and trail \n ", 256, NULL), "lead and trail");
    CHECK_STR(fold("a\xC2\xA0" "b\xE2\x80\xAF" "c", 256, NULL), "a b c");   /* no-break spaces */
    CHECK_STR(fold("2 × 3 ÷ 1", 256, NULL), "2 × 3 ÷ 1");                    /* kept */
    CHECK_STR(fold("ΑΒΓ €5 日本", 256, NULL), "ΑΒΓ €5 日本");                 /* other UTF-8 kept */
    CHECK_STR(fold("A\xFF" "B", 256, NULL), "a\xFF" "b");                   /* invalid byte kept */
    CHECK_STR(fold("", 256, &n), "");
    CHECK_INT(n, 0);
    CHECK_STR(fold("   ", 256, &n), "");
    CHECK_INT(n, 0);

    /* truncation: never past cap, never mid-character, no trailing space */
    CHECK_STR(fold("CAFÉ", 4, &n), "caf");      CHECK_INT(n, 3);
    CHECK_STR(fold("CAFÉ", 5, &n), "cafe");     CHECK_INT(n, 4);
    CHECK_STR(fold("Œuvre", 2, &n), "");        CHECK_INT(n, 0);   /* "oe" is one unit */
    CHECK_STR(fold("Œuvre", 3, &n), "oe");      CHECK_INT(n, 2);
    CHECK_STR(fold("ab €", 5, &n), "ab");       CHECK_INT(n, 2);   /* € needs 3 + space */
    CHECK_STR(fold("ab €", 7, &n), "ab €");     CHECK_INT(n, 6);
    CHECK_STR(fold("ab cd", 4, &n), "ab");      CHECK_INT(n, 2);
    const char *buf = fold("abcdef", 4, &n);
    CHECK_STR(buf, "abc");
    CHECK(buf[4] == 'X');                       /* nothing written after the NUL */
    char one = 'X';
    CHECK_INT(text_fold("abc", 3, &one, 0), 0);
    CHECK(one == 'X');                          /* cap 0: nothing written */
    CHECK_INT(text_fold("abc", 3, &one, 1), 0);
    CHECK(one == '\0');
    /* the key is never longer than the input */
    const char *samples[] = {"ŒÆß œæ", "ÉÉÉÉ", "Ĳ", "Þorn"};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        size_t len = strlen(samples[i]);
        char out[64];
        CHECK(text_fold(samples[i], len, out, len + 1) <= len);
        CHECK(strlen(out) <= len);
    }
    CHECK_STR(fold("ŒÆß", 7, NULL), "oeaess");
}

/* Percent-decodes s with cap bytes; returns the result or "<NO FIT>". */
static const char *pdec(const char *s, size_t cap, bool plus)
{
    static char out[256];
    size_t n = text_percent_decode(s, strlen(s), out, cap, plus);
    return n == TEXT_NO_FIT ? "<NO FIT>" : out;
}

static void test_percent_decode(void)
{
    CHECK_STR(pdec("caf%C3%A9", 256, true), "café");
    CHECK_STR(pdec("caf%c3%a9", 256, true), "café");
    CHECK_STR(pdec("a+b", 256, true), "a b");
    CHECK_STR(pdec("a+b", 256, false), "a+b");
    CHECK_STR(pdec("a%2Bb", 256, true), "a+b");
    CHECK_STR(pdec("100%", 256, true), "100%");
    CHECK_STR(pdec("%4", 256, true), "%4");
    CHECK_STR(pdec("%G1x", 256, true), "%G1x");
    CHECK_STR(pdec("%%41", 256, true), "%A");
    CHECK_STR(pdec("%", 256, true), "%");
    CHECK_STR(pdec("", 256, true), "");
    CHECK_STR(pdec("a%00b", 256, true), "<NO FIT>");   /* NUL rejected */
    CHECK_STR(pdec("abc", 4, true), "abc");            /* exact fit */
    CHECK_STR(pdec("abc", 3, true), "<NO FIT>");
    CHECK_STR(pdec("%41%42%43", 4, true), "ABC");      /* output shorter than input */
    char out[4] = "XYZ";
    CHECK(text_percent_decode("a", 1, out, 0, true) == TEXT_NO_FIT);
    CHECK(out[0] == 'X');
    size_t n = text_percent_decode("x%41y", 5, out, 4, false);
    CHECK_INT(n, 3);
    CHECK_STR(out, "xAy");
}

static const char *hesc(const char *s, size_t cap)
{
    static char out[256];
    size_t n = text_html_escape(s, strlen(s), out, cap);
    return n == TEXT_NO_FIT ? "<NO FIT>" : out;
}

static void test_html_escape(void)
{
    CHECK_STR(hesc("<a href=\"x\">Tom & Jerry's</a>", 256),
              "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    CHECK_STR(hesc("Épicerie", 256), "Épicerie");
    CHECK_STR(hesc("", 256), "");
    CHECK_STR(hesc("&", 6), "&amp;");                  /* exact fit */
    CHECK_STR(hesc("&", 5), "<NO FIT>");
    CHECK_STR(hesc("ab", 2), "<NO FIT>");
    CHECK_INT(text_html_escape("a<b", 3, (char[16]){0}, 16), 6);
}

static void test_hex(void)
{
    char out[9];
    text_hex("\x00\x0f\xa5\xff", 4, out);
    CHECK_STR(out, "000fa5ff");
    text_hex("", 0, out);
    CHECK_STR(out, "");
}

int main(void)
{
    test_utf8();
    test_fold();
    test_percent_decode();
    test_html_escape();
    test_hex();
    CHECK_DONE();
}
