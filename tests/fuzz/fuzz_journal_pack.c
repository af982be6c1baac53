/*
 * Fuzz target: a pack of per-file results as the journal reads it back from
 * its database (src/core/journal_pack.c), where a damaged file can put any
 * bytes. The first 8 bytes of the input are the row's time, the rest the blob.
 *
 * Properties: reading never goes past the blob and ends (entries, then the
 * end or damage); what was read, packed again, reads back the same entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/journal_pack.h"
#include "ferry/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    char *path, *dest, *msg;
    uint64_t bytes;
    int64_t at;
} entry;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ferry__pack_reader r;
    ferry__pack_entry e;
    ferry__pack p;
    entry *v = NULL;
    size_t n = 0;
    int64_t at = 0;

    if (size < 8)
        return 0;
    memcpy(&at, data, 8);
    ferry__pack_reader_init(&r, data + 8, size - 8, at);
    while (ferry__pack_next(&r, &e) == 1) {
        entry *nv = realloc(v, (n + 1) * sizeof(*v));
        if (!nv)
            abort();
        v = nv;
        v[n].path = strdup(e.path);
        v[n].dest = dup_or_null(e.dest);
        v[n].msg = dup_or_null(e.msg);
        v[n].bytes = e.bytes;
        v[n].at = e.at_ms;
        n++;
    }
    ferry__pack_reader_release(&r);

    ferry__pack_init(&p);
    for (size_t i = 0; i < n; i++)
        if (ferry__pack_add(&p, v[i].path, v[i].dest, v[i].msg, v[i].bytes, v[i].at) != FERRY_OK)
            abort();
    ferry__pack_reader_init(&r, p.data, p.len, p.first_at);
    for (size_t i = 0; i < n; i++) {
        if (ferry__pack_next(&r, &e) != 1 || strcmp(e.path, v[i].path) ||
            !same(e.dest, v[i].dest) || !same(e.msg, v[i].msg) || e.bytes != v[i].bytes ||
            e.at_ms != v[i].at)
            abort();
    }
    if (ferry__pack_next(&r, &e) != 0)
        abort();
    ferry__pack_reader_release(&r);
    ferry__pack_release(&p);
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].dest);
        free(v[i].msg);
    }
    free(v);
    return 0;
}
