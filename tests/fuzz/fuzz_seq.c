/*
 * Fuzz target: frame sets and sequence patterns. Whatever is accepted must
 * format to text that parses back to the same frames, hold each frame once
 * (its count is its number of frames; checked by listing the small ones),
 * and no input may crash, hang (the parser never expands frames), or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/seq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Every frame once: listed, sorted, no two equal (sets of up to 100,000 frames). */
static void check_distinct(const ferry_frameset *fs)
{
    uint64_t n = ferry_frameset_count(fs), k = 0;
    int64_t *v;

    if (n > 100000 || !(v = malloc((n ? n : 1) * sizeof(*v))))
        return;
    for (size_t i = 0; i < fs->n; i++)
        for (int64_t f = fs->r[i].start; k < n && f <= fs->r[i].end; f += fs->r[i].step)
            v[k++] = f;
    if (k != n)
        abort();
    qsort(v, n, sizeof(*v), cmp64);
    for (uint64_t i = 1; i < n; i++)
        if (v[i] == v[i - 1])
            abort(); /* a frame twice: the count would be wrong */
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    ferry_frameset fs, again;
    ferry_pattern p;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (ferry_frameset_parse(s, &fs) == FERRY_OK) {
        char *text = ferry_frameset_format(&fs);
        if (!text || ferry_frameset_parse(text, &again) != FERRY_OK)
            abort(); /* what we print, we read back */
        if (ferry_frameset_count(&again) != ferry_frameset_count(&fs))
            abort();
        check_distinct(&fs);
        ferry_frameset_release(&again);
        free(text);
        ferry_frameset_release(&fs);
    }
    if (ferry_pattern_parse(s, &p) == FERRY_OK) {
        char *a = ferry_pattern_format(&p, '#'), *b = ferry_pattern_frame(&p, 1001);
        int64_t f;
        if (b && p.pad < 19 && !ferry_pattern_match(&p, b, &f))
            abort(); /* the name of a frame matches its pattern */
        free(a);
        free(b);
        ferry_pattern_release(&p);
    }
    free(s);
    return 0;
}
