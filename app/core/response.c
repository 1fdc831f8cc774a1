/* response: see response.h. */
#define _GNU_SOURCE
#include "response.h"
#include "request.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void response_init(struct response *res)
{
    memset(res, 0, sizeof(*res));
    res->status = 200;
}

void response_free(struct response *res)
{
    if (res->json != NULL)
        json_object_put(res->json);
    res->json = NULL;
    if (res->stream_free != NULL)
        res->stream_free(res->stream_ud);
    res->stream_free = NULL;
    res->stream = NULL;
    res->stream_ud = NULL;
    free(res->owned_body);
    res->owned_body = NULL;
}

int response_json(struct response *res, int status, struct json_object *obj)
{
    response_free(res);
    res->status = status;
    res->content_type = "application/json";
    res->json = obj;
    return ERR_NONE;
}

void response_body(struct response *res, int status, const char *content_type, const char *body, size_t len)
{
    response_free(res);
    res->status = status;
    res->content_type = content_type;
    res->body = body;
    res->body_len = len;
}

void response_body_owned(struct response *res, int status, const char *content_type, char *body, size_t len)
{
    response_body(res, status, content_type, body, len);
    res->owned_body = body;
}

void response_stream(struct response *res, int status, const char *content_type, size_t len, response_stream_fn fn,
                     void *ud, void (*release)(void *ud))
{
    response_body(res, status, content_type, NULL, len);
    res->stream = fn;
    res->stream_ud = ud;
    res->stream_free = release;
}

int response_header(struct response *res, const char *name, const char *value)
{
    if (res->header_count >= LIMIT_HEADERS_OUT)
        return -1;
    res->headers[res->header_count].name = name;
    res->headers[res->header_count].value = value;
    res->header_count++;
    return 0;
}

void response_error(struct response *res, struct request *req, enum err e)
{
    const struct err_entry *entry = err_lookup(e);
    struct json_object *error = json_object_new_object();
    json_object_object_add(error, "code", json_object_new_string(entry->code));
    const char *message = req->error_message[0] ? req->error_message : entry->default_message;
    json_object_object_add(error, "message", json_object_new_string(message));
    if (req->error_field != NULL)
        json_object_object_add(error, "field", json_object_new_string(req->error_field));
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "error", error);
    if (req->error_extra != NULL) {
        json_object_object_foreach(req->error_extra, key, val)
            json_object_object_add(root, key, json_object_get(val));
    }
    int keep = res->header_count;
    response_json(res, entry->status, root);
    res->header_count = keep;
}

char *response_serialize(struct response *res, const char *request_id, size_t *out_len)
{
    const char *body = res->body;
    size_t body_len = res->body_len;
    if (res->json != NULL) {
        body = json_object_to_json_string_ext(res->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        body_len = strlen(body);
    }
    if (body == NULL && res->stream == NULL)
        body_len = 0;
    size_t head_cap = 256 + strlen(request_id);
    for (int i = 0; i < res->header_count; i++)
        head_cap += strlen(res->headers[i].name) + strlen(res->headers[i].value) + 4;
    char *out = malloc(head_cap + (res->stream ? 0 : body_len) + 1);
    if (out == NULL)
        return NULL;
    int n = snprintf(out, head_cap, "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n",
                     res->status, err_status_reason(res->status),
                     res->content_type ? res->content_type : "application/json", body_len, request_id);
    size_t pos = (size_t)n;
    for (int i = 0; i < res->header_count; i++)
        pos += (size_t)snprintf(out + pos, head_cap - pos, "%s: %s\r\n", res->headers[i].name,
                                res->headers[i].value);
    pos += (size_t)snprintf(out + pos, head_cap - pos, "\r\n");
    if (res->stream == NULL && body_len > 0) {
        memcpy(out + pos, body, body_len);
        pos += body_len;
    }
    out[pos] = '\0';
    *out_len = pos;
    return out;
}
