/* Fuzz target: sizes and rates ("50M", "1.5G", "400MB/s"), and conflict policies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/job.h"
#include "ferry/size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), buf[32];
    uint64_t v;
    ferry_conflict c;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (ferry_size_parse(s, &v) == FERRY_OK)
        ferry_size_format(v, buf, sizeof(buf));
    ferry_conflict_parse(s, &c);
    free(s);
    return 0;
}
