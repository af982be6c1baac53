/*
 * Fuzz target: the JSON text the daemon writes by hand (src/daemon/
 * json_text.c), against jansson. The input's bytes as one string, and split
 * in five as the strings of a "file" message: the bytes written must be
 * jansson's for the same string or message (null where jansson refuses a
 * string that is not UTF-8), and never more than the room asked for.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const char *got, size_t len, size_t room, char *want)
{
    if (!want || len > room || len != strlen(want) || memcmp(got, want, len))
        abort();
    free(want);
}

static json_t *string_or_null(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

static void message(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *f[5] = {NULL}, *at = copy;
    json_file_result r;
    json_t *o;

    if (!copy)
        return;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* Fields end at NUL bytes; a field that starts with 0x01 is absent. */
    for (int i = 0; i < 5 && at <= copy + size; i++) {
        f[i] = *at == 1 ? NULL : at;
        at += strlen(at) + 1;
    }
    r = (json_file_result){f[0], f[1], f[2], f[3], f[4], size * 0x9e3779b97f4a7c15u >> 1};
    o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:I}", "type", "file", "job_id", string_or_null(r.job_id),
                  "path", string_or_null(r.path), "dest", string_or_null(r.dest), "state",
                  string_or_null(r.state), "error", string_or_null(r.error), "bytes",
                  (json_int_t)r.bytes);
    size_t room = json_file_message_max(&r);
    char *out = malloc(room);
    if (o && out)
        same(out, json_file_message(out, &r), room, json_dumps(o, JSON_COMPACT));
    free(out);
    json_decref(o);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t room = JSON_QUOTE_MAX(size) < 4 ? 4 : JSON_QUOTE_MAX(size);
    char *out = malloc(room);
    json_t *v = json_stringn((const char *)data, size);

    if (out)
        same(out, json_quote(out, (const char *)data, size), room,
             v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("null"));
    free(out);
    json_decref(v);
    message(data, size);
    return 0;
}
