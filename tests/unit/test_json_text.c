/*
 * The daemon's hand-written JSON text (src/daemon/json_text.c): the same
 * bytes as jansson writes for the same strings and messages, strings that
 * are not UTF-8 as null, and never more than the room it asks for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json_text.h"

/* What jansson writes for the n bytes at s: a string, or null where it
 * refuses them. A new string. */
static char *jansson_quote(const char *s, size_t n)
{
    json_t *v = s ? json_stringn(s, n) : NULL;
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("null");

    json_decref(v);
    assert_non_null(text);
    return text;
}

/* Checks json_quote against jansson for the n bytes at s, writing into a
 * buffer of exactly the room asked for (ASan sees any byte past it). */
static void same_as_jansson(const char *s, size_t n)
{
    size_t room = JSON_QUOTE_MAX(n) < 4 ? 4 : JSON_QUOTE_MAX(n);
    char *out = malloc(room), *want = jansson_quote(s, n);
    size_t len;

    assert_non_null(out);
    len = json_quote(out, s, n);
    assert_true(len <= room);
    if (len != strlen(want) || memcmp(out, want, len)) {
        print_error("%zu bytes: wrote %.*s, jansson %s\n", n, (int)len, out, want);
        fail();
    }
    free(out);
    free(want);
}

static void quote(const char *s, const char *want)
{
    char out[256];
    size_t len = json_quote(out, s, s ? strlen(s) : 0);

    assert_true(len < sizeof(out));
    out[len] = '\0';
    assert_string_equal(out, want);
    if (s)
        same_as_jansson(s, strlen(s));
}

static void test_known_strings(void **state)
{
    (void)state;
    quote("", "\"\"");
    quote("/shots/sh010/plate.1001.exr", "\"/shots/sh010/plate.1001.exr\"");
    quote("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
    quote("new\nline\ttab\rcr\bbs\fff", "\"new\\nline\\ttab\\rcr\\bbs\\fff\"");
    quote("\x01\x1f\x7f", "\"\\u0001\\u001F\x7f\"");
    quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e",
          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\"");
    quote(NULL, "null");
    quote("\xff\xfe..", "null");                       /* not UTF-8 at all */
    quote("ok\xc3", "null");                           /* cut short */
    quote("\xc0\x80", "null");                         /* overlong NUL */
    quote("\xe0\x80\xaf", "null");                     /* overlong slash */
    quote("\xed\xa0\x80", "null");                     /* a surrogate */
    quote("\xf4\x90\x80\x80", "null");                 /* past U+10FFFF */
    quote("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF itself */
    same_as_jansson("a\0b", 3);                        /* a NUL inside, as json_stringn takes it */
}

/* Bytes that make the escaping and the UTF-8 check work: plain, special,
 * control, DEL, whole sequences of every length, and pieces of them. */
static size_t random_bytes(char *s, size_t max, unsigned *seed)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "/",
                                         ".",
                                         " ",
                                         "\"",
                                         "\\",
                                         "\n",
                                         "\t",
                                         "\x01",
                                         "\x1f",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9d\x84\x9e",
                                         "\xf4\x8f\xbf\xbf",
                                         "\xed\x9f\xbf",
                                         "\xee\x80\x80",
                                         "\xc3",
                                         "\xe2\x82",
                                         "\x80",
                                         "\xbf",
                                         "\xc1\xbf",
                                         "\xe0\x9f\xbf",
                                         "\xf0\x8f\xbf\xbf",
                                         "\xed\xbf\xbf",
                                         "\xf5\x80\x80\x80",
                                         "\xff",
                                         "\0"};
    size_t n = 0, want = (size_t)rand_r(seed) % 12;

    for (size_t i = 0; i < want; i++) {
        const char *p = pieces[(size_t)rand_r(seed) % (sizeof(pieces) / sizeof(*pieces))];
        size_t k = *p ? strlen(p) : 1;
        if (n + k > max)
            break;
        memcpy(s + n, p, k);
        n += k;
    }
    return n;
}

static void test_random_strings(void **state)
{
    unsigned seed = 20261201;
    char s[64];
    (void)state;

    for (int i = 0; i < 200000; i++)
        same_as_jansson(s, random_bytes(s, sizeof(s), &seed));
}

/* A NUL-terminated random string, or NULL now and then. */
static const char *random_field(char *s, size_t max, unsigned *seed)
{
    size_t n;

    if (rand_r(seed) % 8 == 0)
        return NULL;
    n = random_bytes(s, max - 1, seed);
    s[n] = '\0';
    return s;
}

static json_t *string_or_null(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

static void test_file_messages(void **state)
{
    unsigned seed = 1001;
    char f[5][64];
    (void)state;

    for (int i = 0; i < 20000; i++) {
        json_file_result r = {random_field(f[0], sizeof(f[0]), &seed),
                              random_field(f[1], sizeof(f[1]), &seed),
                              random_field(f[2], sizeof(f[2]), &seed),
                              random_field(f[3], sizeof(f[3]), &seed),
                              random_field(f[4], sizeof(f[4]), &seed),
                              (uint64_t)rand_r(&seed) * (i % 3 ? 1u : 0x10001u) %
                                  (i % 5 ? ~0u : 1u)};
        if (i == 1)
            r.bytes = (uint64_t)INT64_MAX; /* the largest size a file can have */
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("file"));
        json_object_set_new(o, "job_id", string_or_null(r.job_id));
        json_object_set_new(o, "path", string_or_null(r.path));
        json_object_set_new(o, "dest", string_or_null(r.dest));
        json_object_set_new(o, "state", string_or_null(r.state));
        json_object_set_new(o, "error", string_or_null(r.error));
        json_object_set_new(o, "bytes", json_integer((json_int_t)r.bytes));
        char *want = json_dumps(o, JSON_COMPACT);
        size_t room = json_file_message_max(&r);
        char *out = malloc(room);
        assert_non_null(want);
        assert_non_null(out);
        size_t len = json_file_message(out, &r);
        assert_true(len <= room);
        if (len != strlen(want) || memcmp(out, want, len)) {
            print_error("wrote %.*s\njansson %s\n", (int)len, out, want);
            fail();
        }
        free(out);
        free(want);
        json_decref(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_strings),
        cmocka_unit_test(test_random_strings),
        cmocka_unit_test(test_file_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
