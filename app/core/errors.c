/* errors: the status/code table. See errors.h. */
#include "errors.h"

#include <stddef.h>

static const struct err_entry err_table[ERR__COUNT] = {
    [ERR_NONE]                   = {200, "OK", NULL, NULL},
    [ERR_BAD_REQUEST]            = {400, "Bad Request", "invalid_argument", "invalid request"},
    [ERR_UNPROCESSABLE]          = {422, "Unprocessable Content", "invalid_argument", "invalid value"},
    [ERR_UNAUTHENTICATED]        = {401, "Unauthorized", "unauthenticated", "missing or invalid bearer token"},
    [ERR_FORBIDDEN]              = {403, "Forbidden", "forbidden", "this token cannot access this resource"},
    [ERR_NOT_FOUND]              = {404, "Not Found", "not_found", "not found"},
    [ERR_METHOD_NOT_ALLOWED]     = {405, "Method Not Allowed", "method_not_allowed", "method not allowed"},
    [ERR_CONFLICT]               = {409, "Conflict", "conflict", "conflict"},
    [ERR_GONE]                   = {410, "Gone", "gone", "this content is no longer kept"},
    [ERR_PAYLOAD_TOO_LARGE]      = {413, "Payload Too Large", "payload_too_large", "request body too large"},
    [ERR_UNSUPPORTED_MEDIA_TYPE] = {415, "Unsupported Media Type", "unsupported_media_type", "unsupported content type"},
    [ERR_RATE_LIMITED]           = {429, "Too Many Requests", "rate_limited", "too many requests"},
    [ERR_INTERNAL]               = {500, "Internal Server Error", "internal", "internal error"},
    [ERR_UNAVAILABLE]            = {503, "Service Unavailable", "unavailable", "a backing service is unavailable"},
};

const struct err_entry *err_lookup(enum err e)
{
    if ((int)e < 0 || e >= ERR__COUNT)
        e = ERR_INTERNAL;
    return &err_table[e];
}

const char *err_status_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    default: break;
    }
    for (int i = 0; i < ERR__COUNT; i++)
        if (err_table[i].status == status)
            return err_table[i].reason;
    return "Unknown";
}
