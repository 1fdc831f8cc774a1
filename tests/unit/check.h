/* Minimal unit-test helpers: each test program runs its checks, prints one
 * line per failure and exits non-zero if any failed (automake TESTS). */
#ifndef TALLY_CHECK_H
#define TALLY_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do { \
    check_count++; \
    if (!(cond)) { \
        check_failures++; \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    } \
} while (0)

#define CHECK_STR(got, want) do { \
    const char *check_got_ = (got), *check_want_ = (want); \
    check_count++; \
    if (check_got_ == NULL || check_want_ == NULL ? check_got_ != check_want_ \
                                                  : strcmp(check_got_, check_want_) != 0) { \
        check_failures++; \
        fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
                check_got_ ? check_got_ : "(null)", check_want_ ? check_want_ : "(null)"); \
    } \
} while (0)

#define CHECK_INT(got, want) do { \
    long long check_got_ = (long long)(got), check_want_ = (long long)(want); \
    check_count++; \
    if (check_got_ != check_want_) { \
        check_failures++; \
        fprintf(stderr, "%s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #got, \
                check_got_, check_want_); \
    } \
} while (0)

#define CHECK_DONE() do { \
    printf("%d checks, %d failed\n", check_count, check_failures); \
    return check_failures ? 1 : 0; \
} while (0)

#endif
