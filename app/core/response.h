/* response: what a handler produces: a status, extra headers and a body
 * (JSON from a json-c value, or raw bytes such as HTML or text). The worker
 * serialises it to the FastCGI stream in one write. Errors are rendered here
 * and only here, from the errors table. */
#ifndef TALLY_RESPONSE_H
#define TALLY_RESPONSE_H

#include <stddef.h>

#include "errors.h"
#include "limits.h"

struct json_object;
struct request;

struct response_header {
    const char *name;
    const char *value;
};

/* A streamed body: fn writes exactly len bytes through write(wud, …),
 * chunk by chunk, after the headers have gone (Content-Length: len). It
 * returns 0, or -1 when it could not: the body then ends short of its
 * Content-Length and the connection is cut, so the client never mistakes
 * a partial body for a whole one. */
typedef int (*response_write_fn)(void *wud, const char *data, size_t len);
typedef int (*response_stream_fn)(void *ud, response_write_fn write, void *wud);

struct response {
    int status;
    const char *content_type;
    struct response_header headers[LIMIT_HEADERS_OUT];
    int header_count;
    struct json_object *json;     /* owned; serialised at the end */
    const char *body;             /* used when json is NULL; arena, static or owned */
    char *owned_body;             /* malloc'd body freed by response_free */
    size_t body_len;
    response_stream_fn stream;    /* set by response_stream: body_len bytes written by it */
    void *stream_ud;
    void (*stream_free)(void *ud);   /* run by response_free, streamed or not */
};

void response_init(struct response *res);
void response_free(struct response *res);
/* Takes ownership of obj. */
int response_json(struct response *res, int status, struct json_object *obj);
void response_body(struct response *res, int status, const char *content_type, const char *body, size_t len);
/* Like response_body, taking ownership of a malloc'd body. */
void response_body_owned(struct response *res, int status, const char *content_type, char *body, size_t len);
/* A body of len bytes written later by fn (see response_stream_fn);
 * release (may be NULL) frees ud when the response is freed. */
void response_stream(struct response *res, int status, const char *content_type, size_t len, response_stream_fn fn,
                     void *ud, void (*release)(void *ud));
int response_header(struct response *res, const char *name, const char *value);
/* Replaces whatever the response held with the API error body for e, using
 * the detail in req (field, message, extra). */
void response_error(struct response *res, struct request *req, enum err e);
/* Serialises status line, headers and body (only the headers of a
 * streamed response). Returns a malloc'd buffer. */
char *response_serialize(struct response *res, const char *request_id, size_t *out_len);

#endif
