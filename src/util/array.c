/* util/array.c: see array.h. */
#include "util/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"

int ferry__grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t first)
{
    void **arr = arrp;
    size_t ncap = *cap ? *cap : (first ? first : 1);
    void *p;

    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return FERRY_ENOMEM;
        ncap *= 2;
    }
    if (!(p = realloc(*arr, ncap * elem)))
        return FERRY_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}
