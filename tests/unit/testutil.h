/*
 * tests/unit/testutil.h: what the unit tests share: a fresh temp directory
 * per test program, files of known content, and its removal. Header-only, so
 * each test stays one executable.
 */
#ifndef FERRY_TESTUTIL_H
#define FERRY_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

/* Makes /tmp/ferry-<name>.XXXXXX into base (at least 64 bytes). */
static inline void tu_tempdir(char *base, size_t len, const char *name)
{
    snprintf(base, len, "/tmp/ferry-%s.XXXXXX", name);
    assert_non_null(mkdtemp(base));
}

/* Removes a temp directory made by tu_tempdir: 0 or -1, as cmocka's teardown wants. */
static inline int tu_remove(const char *base)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes size bytes of a pseudo-random stream seeded by seed (0: a fixed pattern). */
static inline void tu_write_file(const char *path, size_t size, unsigned seed)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc(seed ? (int)((rand_r(&seed) >> 3) & 0xff) : (int)(i * 7 & 0xff), f);
    assert_int_equal(fclose(f), 0);
}

#endif
