/* opportunities_fields: the writable fields of an opportunity (name, kind,
 * bounds, default) and their validation: one JSON value, a whole body, the
 * cross-field rules. Pure (no database, no cache): opportunities.c turns
 * the checked text values into statement parameters in opf_fields order. */
#ifndef TALLY_OPPORTUNITIES_FIELDS_H
#define TALLY_OPPORTUNITIES_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include "opportunities.h"

struct json_object;

enum opf_kind { OPF_K_TEXT, OPF_K_LONGTEXT, OPF_K_EMAIL, OPF_K_ENUM, OPF_K_BOOL, OPF_K_INT, OPF_K_CURRENCY,
                OPF_K_TAGS };

enum opf_field_id { OPF_F_TITLE, OPF_F_COMPANY, OPF_F_RECRUITER, OPF_F_EMAIL, OPF_F_SOURCE, OPF_F_MESSAGE,
                    OPF_F_LOCATION, OPF_F_REMOTE, OPF_F_SALARY_MIN, OPF_F_SALARY_MAX, OPF_F_CURRENCY,
                    OPF_F_STATUS, OPF_F_TAGS, OPF_FIELDS };

struct opf_field {
    const char *name;
    enum opf_kind kind;
    int max_chars;
    bool nullable;
    bool scored;                         /* a change re-queues scoring */
    const char *const *values;           /* enums */
    const char *default_value;           /* on create; NULL = SQL NULL */
};

extern const char *const opf_sources[];    /* NULL-terminated, like the two below */
extern const char *const opf_statuses[];
extern const char *const opf_tiers[];
extern const struct opf_field opf_fields[OPF_FIELDS];

/* Text values of the fields, malloc'd; NULL = SQL NULL. */
struct opf_vals {
    char *v[OPF_FIELDS];
    bool set[OPF_FIELDS];
};

void opf_vals_free(struct opf_vals *vals);
/* Fills oe (field, printf message) and returns e. */
enum err opf_fail(struct opp_error *oe, enum err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* s is one of the NULL-terminated list. */
bool opf_in(const char *const *list, const char *s);
/* 1..max_chars characters of UTF-8 without NUL or control characters
 * (multi_line also allows \n, \r and \t), not only spaces. */
bool opf_text_ok(const char *s, size_t n, int max_chars, bool multi_line);
/* Validates one field's JSON value (NULL = JSON null) into *out (malloc'd,
 * or NULL for SQL NULL). */
enum err opf_field_value(const struct opf_field *f, struct json_object *jv, char **out, struct opp_error *oe);
/* Reads a JSON object body into vals (only the fields present are set).
 * *user_id_field: the "user_id" member (NULL if absent), allowed on create. */
enum err opf_parse_body(struct json_object *body, bool create, struct opf_vals *vals,
                        struct json_object **user_id_field, struct opp_error *oe);
/* The cross-field rules on the complete values. */
enum err opf_check_whole(const struct opf_vals *vals, struct opp_error *oe);

#endif
