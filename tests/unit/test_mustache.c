/* Unit tests: the mustache renderer against the official spec suite (the
 * six core files, no lambdas) plus tally's own expectations: escaping for
 * HTML attributes, compile errors naming the line, number formatting, the
 * output cap and the nesting caps.
 *
 * Spec directory: argv[1], else $MUSTACHE_SPEC_DIR, else
 * $srcdir/../shared/testdata/mustache-spec, else
 * ../shared/testdata/mustache-spec. Fewer than 100 spec tests run is a
 * failure, so a missing directory cannot pass silently. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup */
#endif
#include "check.h"
#include "core/mustache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define SPEC_PATH_BYTES 1024
#define SPEC_MIN_TESTS  100

static const char *const spec_files[] = {
    "interpolation", "sections", "inverted", "comments", "delimiters", "partials",
};

static int spec_dir_usable(const char *dir)
{
    char path[SPEC_PATH_BYTES];
    if (dir == NULL || dir[0] == '\0')
        return 0;
    int n = snprintf(path, sizeof(path), "%s/interpolation.json", dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    fclose(f);
    return 1;
}

static const char *spec_dir_find(int argc, char **argv, char *buf, size_t size)
{
    if (argc > 1)
        return argv[1];
    const char *env = getenv("MUSTACHE_SPEC_DIR");
    if (spec_dir_usable(env))
        return env;
    const char *srcdir = getenv("srcdir");
    if (srcdir != NULL) {
        int n = snprintf(buf, size, "%s/../shared/testdata/mustache-spec", srcdir);
        if (n > 0 && (size_t)n < size && spec_dir_usable(buf))
            return buf;
    }
    return "../shared/testdata/mustache-spec";
}

static struct mustache_partials *spec_partials(struct json_object *test)
{
    struct mustache_partials *partials = mustache_partials_new();
    struct json_object *table = NULL;
    struct mustache_error err;

    if (partials == NULL || !json_object_object_get_ex(test, "partials", &table))
        return partials;
    json_object_object_foreach(table, name, value) {
        if (mustache_partials_add(partials, name, json_object_get_string(value),
                                  (size_t)json_object_get_string_len(value), &err) != 0)
            fprintf(stderr, "  partial %s: %s\n", name, err.message);
    }
    return partials;
}

/* Runs one spec test; 1 if it passed. */
static int spec_run_one(const char *file, struct json_object *test)
{
    struct json_object *name = NULL, *tmpl = NULL, *data = NULL, *expected = NULL;
    struct mustache_partials *partials = NULL;
    struct mustache_template *t = NULL;
    struct mustache_error err;
    struct mustache_out out;
    int passed = 0;

    mustache_out_init(&out, 0);
    json_object_object_get_ex(test, "name", &name);
    json_object_object_get_ex(test, "template", &tmpl);
    json_object_object_get_ex(test, "data", &data);
    json_object_object_get_ex(test, "expected", &expected);
    t = mustache_compile(json_object_get_string(tmpl),
                         (size_t)json_object_get_string_len(tmpl), &err);
    if (t == NULL) {
        fprintf(stderr, "FAIL %s: %s: compile: %s\n", file, json_object_get_string(name),
                err.message);
        goto out;
    }
    partials = spec_partials(test);
    int rc = mustache_render(t, data, partials, &out);
    if (rc != MUSTACHE_OK) {
        fprintf(stderr, "FAIL %s: %s: render: %s\n", file, json_object_get_string(name),
                mustache_strerror(rc));
        goto out;
    }
    const char *want = json_object_get_string(expected);
    if (out.len != (size_t)json_object_get_string_len(expected)
        || memcmp(out.data, want, out.len) != 0) {
        fprintf(stderr, "FAIL %s: %s\n  got:  \"%s\"\n  want: \"%s\"\n", file,
                json_object_get_string(name), out.data, want);
        goto out;
    }
    passed = 1;
out:
    mustache_out_free(&out);
    mustache_partials_free(partials);
    mustache_free(t);
    return passed;
}

/* Runs one spec file; adds to *ran and returns the number that failed. */
static int spec_run_file(const char *dir, const char *file, int *ran)
{
    char path[SPEC_PATH_BYTES];
    int failed = 0, passed = 0;

    int n = snprintf(path, sizeof(path), "%s/%s.json", dir, file);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, "spec path too long: %s\n", dir);
        return 1;
    }
    struct json_object *root = json_object_from_file(path);
    struct json_object *tests = NULL;
    if (root == NULL || !json_object_object_get_ex(root, "tests", &tests)) {
        fprintf(stderr, "cannot load spec file %s\n", path);
        json_object_put(root);
        return 1;
    }
    size_t count = json_object_array_length(tests);
    for (size_t i = 0; i < count; i++) {
        if (spec_run_one(file, json_object_array_get_idx(tests, i)))
            passed++;
        else
            failed++;
    }
    printf("spec %-14s %d/%zu passed\n", file, passed, count);
    *ran += (int)count;
    json_object_put(root);
    return failed;
}

static void test_spec(const char *dir)
{
    int ran = 0, failed = 0;
    for (size_t i = 0; i < sizeof(spec_files) / sizeof(spec_files[0]); i++)
        failed += spec_run_file(dir, spec_files[i], &ran);
    printf("spec total: %d tests, %d failed (dir %s)\n", ran, failed, dir);
    CHECK_INT(failed, 0);
    CHECK(ran >= SPEC_MIN_TESTS);
}

/* Renders src with data given as JSON text; returns a malloc'd string, or
 * NULL with *status set on a render error (and NULL on compile errors). */
static char *render_json(const char *src, const char *data_json, int *status)
{
    struct mustache_template *t = mustache_compile(src, strlen(src), NULL);
    struct json_object *data = data_json ? json_tokener_parse(data_json) : NULL;
    struct mustache_out out;
    char *result = NULL;

    mustache_out_init(&out, 0);
    *status = MUSTACHE_ERR_NOMEM;
    if (t == NULL)
        goto out;
    *status = mustache_render(t, data, NULL, &out);
    if (*status == MUSTACHE_OK)
        result = strdup(out.data);
out:
    mustache_out_free(&out);
    json_object_put(data);
    mustache_free(t);
    return result;
}

static void check_render(const char *src, const char *data_json, const char *want)
{
    int status;
    char *got = render_json(src, data_json, &status);
    CHECK_STR(got, want);
    free(got);
}

static void test_escaping(void)
{
    check_render("<p>{{x}}</p>", "{\"x\": \"<script>alert('x')</script>\"}",
                 "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>");
    check_render("<a title=\"{{t}}\">", "{\"t\": \"a\\\" onmouseover=\\\"x\"}",
                 "<a title=\"a&quot; onmouseover=&quot;x\">");
    check_render("{{{x}}}|{{&x}}", "{\"x\": \"<b>\"}", "<b>|<b>");

    /* A string with a NUL inside is copied whole, not cut at the NUL. */
    struct mustache_template *t = mustache_compile("[{{x}}]", 7, NULL);
    struct json_object *data = json_object_new_object();
    struct mustache_out out;
    mustache_out_init(&out, 0);
    json_object_object_add(data, "x", json_object_new_string_len("a\0<", 3));
    CHECK(t != NULL);
    if (t != NULL) {
        CHECK_INT(mustache_render(t, data, NULL, &out), MUSTACHE_OK);
        CHECK_INT(out.len, 8);
        CHECK(out.len == 8 && memcmp(out.data, "[a\0&lt;]", 8) == 0);
    }
    mustache_out_free(&out);
    json_object_put(data);
    mustache_free(t);
}

static void test_values(void)
{
    check_render("{{i}} {{d}} {{b}} {{n}} {{s}}",
                 "{\"i\": -42, \"d\": 1.21, \"b\": false, \"n\": null, \"s\": \"\"}",
                 "-42 1.21 false  ");
    check_render("{{big}}", "{\"big\": 18446744073709551615}", "18446744073709551615");
    check_render("{{#e}}empty string is truthy{{/e}}{{#z}}, 0 too{{/z}}",
                 "{\"e\": \"\", \"z\": 0}", "empty string is truthy, 0 too");
    check_render("{{#o}}{{k}}{{/o}}{{^a}}none{{/a}}", "{\"o\": {\"k\": 1}, \"a\": []}", "1none");
    check_render("{{o}}", "{\"o\": {\"k\": [1, 2]}}", "{&quot;k&quot;:[1,2]}");
    check_render("{{.}}", NULL, "");

    /* Doubles built in C: shortest round-trip text; money keeps its text. */
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "one", json_object_new_double(1.0));
    json_object_object_add(data, "tenth", json_object_new_double(0.1));
    json_object_object_add(data, "third", json_object_new_double(1.0 / 3.0));
    json_object_object_add(data, "money", json_object_new_double_s(42.5, "42.50"));
    const char *src = "{{one}} {{tenth}} {{third}} {{money}}";
    struct mustache_template *t = mustache_compile(src, strlen(src), NULL);
    struct mustache_out out;
    mustache_out_init(&out, 0);
    CHECK(t != NULL);
    if (t != NULL) {
        CHECK_INT(mustache_render(t, data, NULL, &out), MUSTACHE_OK);
        CHECK_STR(out.data, "1 0.1 0.3333333333333333 42.50");
        /* Compiled once, rendered again: appends. */
        CHECK_INT(mustache_render(t, data, NULL, &out), MUSTACHE_OK);
        CHECK_INT(out.len, 2 * strlen("1 0.1 0.3333333333333333 42.50"));
    }
    mustache_out_free(&out);
    mustache_free(t);
    json_object_put(data);
}

static void check_compile_error(const char *src, int want_line, const char *want_part)
{
    struct mustache_error err;
    struct mustache_template *t = mustache_compile(src, strlen(src), &err);
    CHECK(t == NULL);
    mustache_free(t);
    if (t != NULL)
        return;
    CHECK_INT(err.line, want_line);
    if (strstr(err.message, want_part) == NULL)
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.message, want_part);
    CHECK(strstr(err.message, want_part) != NULL);
}

static void test_compile_errors(void)
{
    check_compile_error("<ul>\n{{#items}}\n<li>{{name}}</li>\n</ul>\n", 2,
                        "line 2: section \"items\" is never closed");
    check_compile_error("{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}", 3,
                        "closing tag \"a\" does not match section \"b\" opened on line 2");
    check_compile_error("x\n{{/a}}", 2, "without an open section");
    check_compile_error("a\nb {{name", 2, "unclosed tag");
    check_compile_error("{{{name}}", 1, "unclosed tag");
    check_compile_error("{{}}", 1, "empty tag name");
    check_compile_error("{{a b}}", 1, "contains whitespace");
    check_compile_error("\n\n{{=<%=}}", 3, "set-delimiter");
    check_compile_error("{{=123456789 %>=}}", 1, "set-delimiter");

    char deep[MUSTACHE_SECTION_DEPTH_MAX * 8 + 16];
    size_t n = 0;
    for (int i = 0; i <= MUSTACHE_SECTION_DEPTH_MAX; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{{#a}}");
    check_compile_error(deep, 1, "nested deeper");

    /* The error struct is optional. */
    CHECK(mustache_compile("{{#a}}", 6, NULL) == NULL);
    /* Not NUL-terminated input: only len bytes are read. */
    struct mustache_template *t = mustache_compile("{{x}}{{", 5, NULL);
    CHECK(t != NULL);
    mustache_free(t);
}

static void test_output_cap(void)
{
    struct mustache_template *t = mustache_compile("{{#list}}0123456789{{/list}}", 28, NULL);
    struct json_object *data = json_tokener_parse("{\"list\": [1, 2, 3]}");
    struct mustache_out out;

    mustache_out_init(&out, 25);
    CHECK(t != NULL);
    if (t == NULL)
        goto out;
    CHECK_INT(mustache_render(t, data, NULL, &out), MUSTACHE_ERR_OUTPUT_LIMIT);
    CHECK_INT(out.len, 0);
    CHECK(out.data == NULL || out.data[0] == '\0');
    out.limit_bytes = 30;
    CHECK_INT(mustache_render(t, data, NULL, &out), MUSTACHE_OK);
    CHECK_INT(out.len, 30);
    /* A failing render after a good one leaves the earlier output intact. */
    CHECK_INT(mustache_render(t, data, NULL, &out), MUSTACHE_ERR_OUTPUT_LIMIT);
    CHECK_INT(out.len, 30);
    CHECK_INT(strlen(out.data), 30);
    mustache_out_reset(&out);
    CHECK_INT(out.len, 0);
    CHECK_STR(mustache_strerror(MUSTACHE_ERR_OUTPUT_LIMIT),
              "rendered output exceeds the size limit");
out:
    mustache_out_free(&out);
    json_object_put(data);
    mustache_free(t);
}

static void test_depth_caps(void)
{
    struct mustache_partials *partials = mustache_partials_new();
    struct mustache_template *self = mustache_compile("{{>self}}", 9, NULL);
    struct mustache_template *tree = mustache_compile("{{>node}}", 9, NULL);
    struct json_object *data = NULL, *leaf;
    struct mustache_out out;
    struct mustache_error err;

    mustache_out_init(&out, 0);
    CHECK(partials != NULL && self != NULL && tree != NULL);
    if (partials == NULL || self == NULL || tree == NULL)
        goto out;
    CHECK_INT(mustache_partials_add(partials, "self", "x{{>self}}", 10, &err), 0);
    CHECK_INT(mustache_partials_add(partials, "node", "({{#kid}}{{>node}}{{/kid}})", 27, &err), 0);
    CHECK_INT(mustache_partials_add(partials, "bad", "{{#a}}", 6, &err), -1);
    CHECK_STR(err.message, "line 1: section \"a\" is never closed");

    /* Endless self-recursion fails cleanly. */
    CHECK_INT(mustache_render(self, NULL, partials, &out), MUSTACHE_ERR_DEPTH);
    CHECK_INT(out.len, 0);

    /* Recursion driven by data: fine within the cap, an error beyond it. */
    for (int depth = 1; depth <= MUSTACHE_PARTIAL_DEPTH_MAX + 1; depth++) {
        /* The innermost kid must be false: a missing one would be found
         * further up the context stack and recurse forever. */
        leaf = json_object_new_object();
        json_object_object_add(leaf, "kid", data != NULL ? data : json_object_new_boolean(0));
        data = leaf;
        if (depth == MUSTACHE_PARTIAL_DEPTH_MAX - 1) {
            CHECK_INT(mustache_render(tree, data, partials, &out), MUSTACHE_OK);
            CHECK_INT(out.len, 2 * depth);
        }
    }
    mustache_out_reset(&out);
    CHECK_INT(mustache_render(tree, data, partials, &out), MUSTACHE_ERR_DEPTH);

    /* Replacing a partial. */
    CHECK_INT(mustache_partials_add(partials, "self", "done", 4, &err), 0);
    mustache_out_reset(&out);
    CHECK_INT(mustache_render(self, NULL, partials, &out), MUSTACHE_OK);
    CHECK_STR(out.data, "done");
out:
    json_object_put(data);
    mustache_out_free(&out);
    mustache_free(self);
    mustache_free(tree);
    mustache_partials_free(partials);
}

static void test_nested_partial_indent(void)
{
    struct mustache_partials *partials = mustache_partials_new();
    struct mustache_template *t = mustache_compile("<div>\n  {{>outer}}\n</div>\n", 26, NULL);
    struct mustache_out out;

    mustache_out_init(&out, 0);
    CHECK(partials != NULL && t != NULL);
    if (partials == NULL || t == NULL)
        goto out;
    CHECK_INT(mustache_partials_add(partials, "outer", "<ul>\n  {{>inner}}\n</ul>\n", 24, NULL), 0);
    CHECK_INT(mustache_partials_add(partials, "inner", "<li>a</li>\n<li>b</li>\n", 22, NULL), 0);
    CHECK_INT(mustache_render(t, NULL, partials, &out), MUSTACHE_OK);
    CHECK_STR(out.data, "<div>\n  <ul>\n    <li>a</li>\n    <li>b</li>\n  </ul>\n</div>\n");
out:
    mustache_out_free(&out);
    mustache_free(t);
    mustache_partials_free(partials);
}

int main(int argc, char **argv)
{
    char buf[SPEC_PATH_BYTES];
    test_spec(spec_dir_find(argc, argv, buf, sizeof(buf)));
    test_escaping();
    test_values();
    test_compile_errors();
    test_output_cap();
    test_depth_caps();
    test_nested_partial_indent();
    CHECK_DONE();
}
