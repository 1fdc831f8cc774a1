/* errors: the one table that maps tally's error values to an HTTP status
 * and the API's JSON error code. Handlers return an enum err; the response
 * module renders it. Nothing else decides a status for an error. */
#ifndef TALLY_ERRORS_H
#define TALLY_ERRORS_H

enum err {
    ERR_NONE = 0,
    ERR_BAD_REQUEST,            /* 400 invalid_argument: malformed request */
    ERR_UNPROCESSABLE,          /* 422 invalid_argument: well-formed, invalid values */
    ERR_UNAUTHENTICATED,        /* 401 */
    ERR_FORBIDDEN,              /* 403 */
    ERR_NOT_FOUND,              /* 404 */
    ERR_METHOD_NOT_ALLOWED,     /* 405 */
    ERR_CONFLICT,               /* 409 */
    ERR_GONE,                   /* 410: the resource existed; its content is gone */
    ERR_PAYLOAD_TOO_LARGE,      /* 413 */
    ERR_UNSUPPORTED_MEDIA_TYPE, /* 415 */
    ERR_RATE_LIMITED,           /* 429 */
    ERR_INTERNAL,               /* 500 */
    ERR_UNAVAILABLE,            /* 503: a backing store is down */
    ERR__COUNT
};

struct err_entry {
    int status;
    const char *reason;          /* HTTP reason phrase */
    const char *code;            /* API error code */
    const char *default_message;
};

const struct err_entry *err_lookup(enum err e);
const char *err_status_reason(int status);

#endif
