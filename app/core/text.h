/* text: byte-string helpers for untrusted text — strict UTF-8 validation,
 * the folded matching key of merchants and categories, URL percent-decoding
 * and HTML escaping. Pure: no allocation, no locale. Every function takes
 * (s, len) plus an output buffer and its capacity, never writes past the
 * capacity and NUL-terminates whenever out_cap > 0. */
#ifndef TALLY_TEXT_H
#define TALLY_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define TEXT_NO_FIT ((size_t)-1)   /* returned when the output does not fit */

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF, no truncated sequence. NUL bytes are valid UTF-8;
 * callers that store C strings check for them separately. */
bool text_is_utf8(const char *s, size_t len);

/* The matching key for case- and accent-insensitive matching (stored beside
 * merchant and category, and applied to query filters):
 * - ASCII letters are lowercased;
 * - letters of Latin-1 Supplement and Latin Extended-A (U+00C0..U+017F) map
 *   to their lowercase ASCII base: É -> e, ç -> c, ñ -> n; ligatures and
 *   special letters expand: Œ/œ -> oe, Æ/æ -> ae, ß -> ss, Þ/þ -> th,
 *   Ĳ/ĳ -> ij; Ø -> o, Ł -> l, Đ/Ð -> d. × and ÷ are kept;
 * - whitespace runs (ASCII space, \t \n \v \f \r, U+00A0 and U+202F, the
 *   no-break spaces of French typography) become one space; leading and
 *   trailing whitespace is dropped;
 * - every other byte sequence, valid UTF-8 or not, is copied unchanged.
 * The key is never longer than the input, so out_cap = len + 1 never
 * truncates. With a smaller out_cap the key is cut at a character boundary
 * (a ligature's expansion is never split, no trailing space is left).
 * Returns the key's length (excluding the NUL). */
size_t text_fold(const char *s, size_t len, char *out, size_t out_cap);

/* URL-decodes s (query strings, form bodies): %XX with either case of hex
 * digit becomes that byte; '+' becomes ' ' when plus_is_space. A malformed
 * escape ("%G1", "%4" at the end, "%" alone) is kept literally, as browsers
 * do. Returns the decoded length, or TEXT_NO_FIT when the output plus its
 * NUL does not fit in out_cap or when the decoded bytes contain a NUL (a C
 * string cannot carry it faithfully, so it is rejected). The output is never
 * longer than the input: out_cap = len + 1 always fits. */
size_t text_percent_decode(const char *s, size_t len, char *out, size_t out_cap, bool plus_is_space);

/* HTML-escapes & < > " ' as &amp; &lt; &gt; &quot; &#39; (safe in element
 * content and in quoted attributes). Returns the output length, or
 * TEXT_NO_FIT when it plus its NUL does not fit in out_cap (the output is
 * then an empty string if out_cap > 0). 6 * len + 1 always fits. */
size_t text_html_escape(const char *s, size_t len, char *out, size_t out_cap);

/* Lower-case hex of n bytes into out, which holds 2 * n + 1 (NUL included). */
void text_hex(const void *bytes, size_t n, char *out);

#endif
