/* util/array.h: growing a heap array by doubling, the one way libferry does it. */
#ifndef FERRY_UTIL_ARRAY_H
#define FERRY_UTIL_ARRAY_H

#include <stddef.h>

/*
 * Makes room for `need` elements of `elem` bytes in the array *arrp (a
 * pointer to the array pointer) whose capacity is *cap, doubling from
 * `first`. Returns 0, or FERRY_ENOMEM with the array untouched.
 */
int ferry__grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t first);

#endif
