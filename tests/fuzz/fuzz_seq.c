/*
 * Fuzz target: frame sets and sequence patterns. Whatever is accepted must
 * format to text that parses back to the same frames, and no input may
 * crash, hang (frames are never expanded), or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/seq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
