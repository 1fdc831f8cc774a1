/* text: UTF-8 validation, folded matching keys, percent-decoding and HTML
 * escaping. See text.h for the exact contracts. Invariant of every writer
 * here: it checks the room left before writing, so out[0..out_cap) is the
 * only memory touched, and the result is NUL-terminated when out_cap > 0. */
#include "text.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at the start of s (at most avail
 * bytes), or 0 if it is not one. The ranges are RFC 3629's table. */
static size_t text_utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;           /* allowed range of the 2nd byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;                            /* no overlongs */
        else if (c == 0xED)
            hi = 0x9F;                            /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;                            /* no overlongs */
        else if (c == 0xF4)
            hi = 0x8F;                            /* nothing above U+10FFFF */
    } else
        return 0;                                 /* continuation, C0, C1, F5..FF */
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

bool text_is_utf8(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = text_utf8_seq_len(u + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* ASCII base of U+00C0..U+017F, lowercased; NULL keeps the character. */
static const char *const text_fold_latin[0x180 - 0xC0] = {
    /* U+00C0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00D0 */ "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
    /* U+00E0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00F0 */ "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y",
    /* U+0100 */ "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    /* U+0110 */ "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    /* U+0120 */ "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    /* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    /* U+0140 */ "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    /* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    /* U+0160 */ "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    /* U+0170 */ "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};

/* Whitespace for folding: ASCII, U+00A0 (C2 A0), U+202F (E2 80 AF). Returns
 * the byte length of the whitespace character at s, or 0. */
static size_t text_space_len(const unsigned char *s, size_t avail)
{
    if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
        return 1;
    if (avail >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
        return 2;
    if (avail >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0xAF)
        return 3;
    return 0;
}

/* The folded form of the character at s: sets *piece and *piece_len to what to
 * emit and returns how many input bytes it consumes. */
static size_t text_fold_char(const unsigned char *s, size_t avail, char *lower,
                             const char **piece, size_t *piece_len)
{
    size_t n = text_utf8_seq_len(s, avail);
    if (n == 0)
        n = 1;                                    /* invalid byte: copied as is */
    *piece = (const char *)s;
    *piece_len = n;
    if (n == 1 && s[0] >= 'A' && s[0] <= 'Z') {
        *lower = (char)(s[0] - 'A' + 'a');
        *piece = lower;
    } else if (n == 2) {
        unsigned cp = ((unsigned)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        if (cp >= 0xC0 && cp < 0x180 && text_fold_latin[cp - 0xC0] != NULL) {
            *piece = text_fold_latin[cp - 0xC0];
            *piece_len = strlen(*piece);
        }
    }
    return n;
}

size_t text_fold(const char *s, size_t len, char *out, size_t out_cap)
{
    if (out_cap == 0)
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t room = out_cap - 1;                    /* bytes available before the NUL */
    size_t used = 0;
    size_t i = 0;
    bool pending_space = false;
    while (i < len) {
        size_t sp = text_space_len(u + i, len - i);
        if (sp > 0) {
            pending_space = used > 0;             /* leading spaces are dropped */
            i += sp;
            continue;
        }
        char lower;
        const char *piece;
        size_t piece_len;
        size_t consumed = text_fold_char(u + i, len - i, &lower, &piece, &piece_len);
        size_t need = piece_len + (pending_space ? 1 : 0);
        if (need > room - used)
            break;                                /* truncate at a character boundary */
        if (pending_space)
            out[used++] = ' ';
        memcpy(out + used, piece, piece_len);
        used += piece_len;
        pending_space = false;
        i += consumed;
    }
    out[used] = '\0';
    return used;
}

/* Value of a hex digit, or -1. */
static int text_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t text_percent_decode(const char *s, size_t len, char *out, size_t out_cap, bool plus_is_space)
{
    size_t used = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%' && len - i >= 3) {
            int hi = text_hex_value(s[i + 1]);
            int lo = text_hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (char)(hi * 16 + lo);
                i += 2;
            }
        } else if (c == '+' && plus_is_space)
            c = ' ';
        if (c == '\0' || used + 1 >= out_cap) {
            if (out_cap > 0)
                out[0] = '\0';
            return TEXT_NO_FIT;
        }
        out[used++] = c;
    }
    if (out_cap == 0)
        return TEXT_NO_FIT;
    out[used] = '\0';
    return used;
}

/* The entity for an HTML-special byte, or NULL. */
static const char *text_html_entity(char c)
{
    switch (c) {
    case '&':  return "&amp;";
    case '<':  return "&lt;";
    case '>':  return "&gt;";
    case '"':  return "&quot;";
    case '\'': return "&#39;";
    default:   return NULL;
    }
}

size_t text_html_escape(const char *s, size_t len, char *out, size_t out_cap)
{
    size_t used = 0;
    for (size_t i = 0; i < len; i++) {
        const char *entity = text_html_entity(s[i]);
        size_t n = entity != NULL ? strlen(entity) : 1;
        if (out_cap == 0 || n > out_cap - 1 - used) {
            if (out_cap > 0)
                out[0] = '\0';
            return TEXT_NO_FIT;
        }
        if (entity != NULL)
            memcpy(out + used, entity, n);
        else
            out[used] = s[i];
        used += n;
    }
    if (out_cap == 0)
        return TEXT_NO_FIT;
    out[used] = '\0';
    return used;
}

void text_hex(const void *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = bytes;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}
