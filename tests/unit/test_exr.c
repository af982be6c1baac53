/*
 * The EXR check (ferry/exr.h) on unnamed O_TMPFILE descriptors, as the copy
 * engine calls it before it commits a frame: real frames written by the
 * sample writer (bench/exrwrite.c) pass, in every layout it writes; every
 * truncation of them (every length from 0 to one byte short) fails with a
 * cause; the causes name the right place; not-EXR, unfinished and corrupt
 * files fail; the descriptor's offset is left alone; many threads check at
 * once; a failing read is an I/O error, not a verdict on the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exrwrite.h"
#include "ferry/common.h"
#include "ferry/exr.h"
#include "testutil.h"

#ifdef FERRY_FAULTS
#include <fiu-control.h>

#include "util/fault.h"
#endif

static char base[256];

static int setup(void **state)
{
    (void)state;
    tu_tempdir(base, sizeof(base), "exr");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_remove(base);
}

static int tmpfile_fd(void)
{
    int fd = open(base, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    return fd;
}

/* A frame written by the sample writer into a new unnamed temp. */
static int frame_fd(const exrw_opts *o)
{
    char err[256];
    int fd = tmpfile_fd();

    if (exrw_write_fd(fd, "frame", o, err, sizeof(err)) < 0) {
        print_error("sample writer: %s\n", err);
        fail();
    }
    return fd;
}

/* The whole content of fd. */
static unsigned char *slurp(int fd, size_t *len)
{
    struct stat st;
    unsigned char *b;

    assert_int_equal(fstat(fd, &st), 0);
    *len = (size_t)st.st_size;
    assert_non_null(b = malloc(*len));
    assert_int_equal(pread(fd, b, *len, 0), (ssize_t)*len);
    return b;
}

/* fd holding exactly these bytes. */
static void refill(int fd, const unsigned char *b, size_t len)
{
    assert_int_equal(ftruncate(fd, 0), 0);
    if (len)
        assert_int_equal(pwrite(fd, b, len, 0), (ssize_t)len);
}

/* The check's verdict must be FERRY_EINVAL with a cause starting with want. */
static void expect_broken(int fd, const char *want, const char *what)
{
    char *why = (char *)"unset";
    int rc = ferry_exr_check_fd(fd, what, &why);

    if (rc != FERRY_EINVAL || !why || strncmp(why, want, strlen(want))) {
        print_error("%s: rc %d, cause '%s', want '%s...'\n", what, rc, why ? why : "(null)", want);
        fail();
    }
    assert_non_null(strstr(ferry_error_last(), what));
    free(why);
}

static void expect_sound(int fd, const char *what)
{
    char *why = (char *)"unset";
    int rc = ferry_exr_check_fd(fd, what, &why);

    if (rc != FERRY_OK || why) {
        print_error("%s: rc %d, cause '%s'\n", what, rc, why ? why : "(null)");
        fail();
    }
}

static exrw_opts opts(int w, int h, bool zip, bool tiled, int parts)
{
    exrw_opts o;
    exrw_opts_init(&o);
    o.width = w;
    o.height = h;
    o.zip = zip;
    o.tiled = tiled;
    o.parts = parts;
    o.frame = 1001;
    return o;
}

static const struct {
    const char *name;
    int w, h;
    bool zip, tiled;
    int parts;
    int levels; /* tiled: 0 one level, 1 mipmap */
    bool deep;
} layouts[] = {
    {"scanlines", 64, 36, false, false, 1, 0, false},
    {"zip", 64, 36, true, false, 1, 0, false},
    {"tiled", 64, 36, false, true, 1, 0, false},
    {"tiled zip", 100, 70, true, true, 1, 0, false},
    {"multi-part", 64, 36, false, false, 3, 0, false},
    {"multi-part tiled", 40, 40, true, true, 2, 0, false},
    {"one pixel", 1, 1, false, false, 1, 0, false},
    {"wide", 493, 275, false, false, 1, 0, false},
    {"mipmap", 70, 40, false, true, 1, 1, false},
    {"multi-part mipmap", 33, 65, true, true, 2, 1, false},
    {"deep scanlines", 64, 36, false, false, 1, 0, true},
    {"deep tiled", 70, 40, false, true, 1, 0, true},
    {"multi-part deep mipmap", 33, 65, false, true, 2, 1, true},
};

/* The frame options of layouts[i]. */
static exrw_opts layout_opts(size_t i)
{
    exrw_opts o =
        opts(layouts[i].w, layouts[i].h, layouts[i].zip, layouts[i].tiled, layouts[i].parts);
    o.levels = layouts[i].levels;
    o.deep = layouts[i].deep;
    return o;
}

static void test_sound_frames_pass(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        exrw_opts o = layout_opts(i);
        int fd = frame_fd(&o);
        expect_sound(fd, layouts[i].name);
        assert_int_equal(ferry_exr_check_fd(fd, NULL, NULL), FERRY_OK);
        assert_int_equal(close(fd), 0);
    }
}

/* Every length short of the whole file is caught, in every layout. */
static void test_every_truncation_fails(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        exrw_opts o = layout_opts(i);
        int fd = frame_fd(&o);
        size_t len, step;
        unsigned char *b = slurp(fd, &len);

        /* Every byte for the small frames; the wide one in steps, and its last bytes. */
        step = len > 100000 ? 997 : 1;
        for (size_t cut = 0; cut < len; cut = cut + step < len - 64 ? cut + step : cut + 1) {
            char what[64];
            snprintf(what, sizeof(what), "%s cut at %zu", layouts[i].name, cut);
            refill(fd, b, cut);
            expect_broken(fd, cut ? "truncated: " : "empty file", what);
        }
        refill(fd, b, len);
        expect_sound(fd, layouts[i].name);
        free(b);
        assert_int_equal(close(fd), 0);
    }
}

/*
 * The causes name the place: a 64x36 RGB-half frame without compression is
 * the header, a table of 36 offsets, then 36 chunks of 8 + 64 * 6 bytes.
 */
static void test_causes_name_the_place(void **state)
{
    exrw_opts o = opts(64, 36, false, false, 1);
    int fd = frame_fd(&o);
    size_t len, chunks = 36 * (8 + 64 * 6), table, header_end;
    unsigned char *b = slurp(fd, &len);
    char want[160];
    (void)state;

    table = len - chunks;
    header_end = table - 36 * 8;

    refill(fd, b, header_end - 10);
    expect_broken(fd, "truncated: the header", "mid-header");

    refill(fd, b, header_end + 100);
    snprintf(want, sizeof(want), "truncated: the chunk table ends at byte %zu, file has %zu bytes",
             table, header_end + 100);
    expect_broken(fd, want, "mid-table");

    refill(fd, b, len - 100);
    snprintf(want, sizeof(want), "truncated: chunk 36 of 36 ends at byte %zu, file has %zu bytes",
             len, len - 100);
    expect_broken(fd, want, "mid-last-chunk");

    refill(fd, b, table + 392 * 11);
    snprintf(want, sizeof(want), "truncated: chunk 12 of 36 starts at byte %zu, file has %zu bytes",
             table + 392 * 11, table + 392 * 11);
    expect_broken(fd, want, "at a chunk's start");

    refill(fd, b, table + 392 * 11 + 3);
    snprintf(want, sizeof(want), "truncated: chunk 12 of 36 starts at byte %zu", table + 392 * 11);
    expect_broken(fd, want, "inside a chunk header");

    /* A writer that died before writing the table leaves it zero. */
    memset(b + header_end, 0, 36 * 8);
    refill(fd, b, len);
    expect_broken(fd, "incomplete: the chunk table has no offset for chunk 1 of 36", "zero table");
    free(b);
    assert_int_equal(close(fd), 0);
}

static void test_multipart_cause_names_the_part(void **state)
{
    exrw_opts o = opts(64, 36, false, false, 2);
    int fd = frame_fd(&o);
    size_t len;
    unsigned char *b = slurp(fd, &len);
    (void)state;

    refill(fd, b, len - 1);
    expect_broken(fd, "truncated: chunk 36 of 36 of part 'part1' ends at byte", "multi-part");
    free(b);
    assert_int_equal(close(fd), 0);
}

static void test_not_exr_and_corrupt(void **state)
{
    exrw_opts o = opts(64, 36, false, false, 1);
    int fd = frame_fd(&o);
    size_t len, table;
    unsigned char *b = slurp(fd, &len), *junk = malloc(len);
    uint64_t off;
    (void)state;

    for (size_t i = 0; i < len; i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    refill(fd, junk, len);
    expect_broken(fd, "not an EXR file: bad magic number", "junk");
    refill(fd, (const unsigned char *)"v/1", 3); /* a prefix of the magic number */
    expect_broken(fd, "truncated: the header", "three bytes");

    /* A version and flags, then junk: OpenEXRCore's word on the header. */
    memcpy(junk, b, 8);
    refill(fd, junk, len);
    expect_broken(fd, "header: ", "junk header");

    /* Chunk 5's offset pointed into the header; chunk 3's line changed. */
    table = len - 36 * (8 + 64 * 6) - 36 * 8;
    memcpy(junk, b, len);
    off = 20;
    memcpy(junk + table + 4 * 8, &off, 8);
    refill(fd, junk, len);
    expect_broken(fd, "corrupt: the chunk table points chunk 5 of 36 into the header", "offset");
    memcpy(junk, b, len);
    memcpy(&off, b + table + 2 * 8, 8);
    junk[off] = 99;
    refill(fd, junk, len);
    expect_broken(fd, "corrupt: chunk 3 of 36 says it starts at line 99, expected 2", "line");
    free(junk);
    free(b);
    assert_int_equal(close(fd), 0);
}

/* Where the chunk table of a one-part frame of n chunks starts: it ends
 * where the first chunk does. */
static size_t table_of(const unsigned char *b, size_t len, size_t n)
{
    uint64_t first;

    for (size_t i = 8; i + 8 <= len; i++) {
        memcpy(&first, b + i, 8);
        if (first == i + n * 8)
            return i;
    }
    fail_msg("no table of %zu chunks", n);
    return 0;
}

/* Sets the 32-bit field at byte at of chunk k's header in a copy of b. */
static void expect_tile_broken(int fd, const unsigned char *b, size_t len, size_t table, int k,
                               size_t at, int32_t v, const char *want)
{
    unsigned char *junk = malloc(len);
    uint64_t off;

    assert_non_null(junk);
    memcpy(junk, b, len);
    memcpy(&off, b + table + 8 * (size_t)k, 8);
    memcpy(junk + off + at, &v, 4);
    refill(fd, junk, len);
    expect_broken(fd, want, "tile");
    free(junk);
}

/* Tiled frames whose chunk headers name tiles or levels they lack. */
static void test_tile_outside_the_part(void **state)
{
    exrw_opts o = opts(64, 36, false, true, 1); /* 32 x 32 tiles, one level: 2 x 2 */
    int fd = frame_fd(&o);
    size_t len, table;
    unsigned char *b = slurp(fd, &len);
    (void)state;

    table = table_of(b, len, 4);
    /* Chunk 2 is tile (1, 0) of level (0, 0). */
    expect_tile_broken(fd, b, len, table, 1, 0, 2,
                       "corrupt: chunk 2 of 4 says it is tile (2, 0) of level (0, 0), which the "
                       "part does not have");
    expect_tile_broken(fd, b, len, table, 1, 4, -1,
                       "corrupt: chunk 2 of 4 says it is tile (1, -1)");
    expect_tile_broken(fd, b, len, table, 1, 8, 1,
                       "corrupt: chunk 2 of 4 says it is tile (1, 0) of level (1, 0)");
    expect_tile_broken(fd, b, len, table, 1, 12, 5,
                       "corrupt: chunk 2 of 4 says it is tile (1, 0) of level (0, 5)");
    free(b);

    /* Mipmap levels of 64 x 36: 2 x 2 tiles, then 6 levels of one tile
     * each, (1, 1) to (6, 6); chunk 5 is level (1, 1). Only x and y
     * levels that pair exist, and level (1, 1) has one tile. */
    o.levels = 1;
    assert_int_equal(close(fd), 0);
    fd = frame_fd(&o);
    b = slurp(fd, &len);
    expect_sound(fd, "mipmap");
    table = table_of(b, len, 10);
    expect_tile_broken(fd, b, len, table, 4, 8, 0,
                       "corrupt: chunk 5 of 10 says it is tile (0, 0) of level (0, 1)");
    expect_tile_broken(fd, b, len, table, 4, 0, 1,
                       "corrupt: chunk 5 of 10 says it is tile (1, 0) of level (1, 1)");
    expect_tile_broken(fd, b, len, table, 4, 8, 7,
                       "corrupt: chunk 5 of 10 says it is tile (0, 0) of level (7, 1)");
    free(b);
    assert_int_equal(close(fd), 0);
}

static void test_offset_untouched_and_paths(void **state)
{
    exrw_opts o = opts(64, 36, true, false, 1);
    int fd = frame_fd(&o);
    char path[400], *why = (char *)"unset";
    (void)state;

    assert_int_equal(lseek(fd, 123, SEEK_SET), 123);
    expect_sound(fd, "offset");
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 123);

    snprintf(path, sizeof(path), "%s/none.exr", base);
    assert_int_equal(ferry_exr_check_path(path, &why), FERRY_ENOTFOUND);
    assert_null(why);
    assert_non_null(strstr(ferry_error_last(), "none.exr"));
    assert_int_equal(ferry_exr_check_path(base, &why), FERRY_EINVAL);
    assert_string_equal(why, "a directory, not a file");
    free(why);
    assert_int_equal(close(fd), 0);
}

/* Several workers check at once, some the same descriptor (TSan watches). */
typedef struct {
    int fd_sound, fd_broken;
    int errors;
} race;

static void *race_main(void *arg)
{
    race *r = arg;
    for (int i = 0; i < 200; i++) {
        char *why = NULL;
        if (ferry_exr_check_fd(r->fd_sound, "sound", &why) != FERRY_OK)
            r->errors++;
        free(why);
        if (ferry_exr_check_fd(r->fd_broken, "broken", &why) != FERRY_EINVAL || !why)
            r->errors++;
        free(why);
    }
    return NULL;
}

static void test_threads(void **state)
{
    exrw_opts o = opts(64, 36, false, true, 2);
    int sound = frame_fd(&o), cut = frame_fd(&o);
    pthread_t t[4];
    race r[4];
    size_t len;
    unsigned char *b = slurp(cut, &len);
    (void)state;

    refill(cut, b, len / 2);
    for (int i = 0; i < 4; i++) {
        r[i] = (race){sound, cut, 0};
        assert_int_equal(pthread_create(&t[i], NULL, race_main, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(r[i].errors, 0);
    }
    free(b);
    assert_int_equal(close(sound), 0);
    assert_int_equal(close(cut), 0);
}

#ifdef FERRY_FAULTS
/* A read that fails is FERRY_EOS with the errno text, not a broken file. */
static void test_read_error(void **state)
{
    exrw_opts o = opts(64, 36, false, false, 1);
    int fd = frame_fd(&o);
    char *why = (char *)"unset";
    (void)state;

    assert_int_equal(fiu_init(0), 0);
    assert_int_equal(fiu_enable("ferry/exr_read", 1, (void *)(intptr_t)EIO, 0), 0);
    assert_int_equal(ferry_exr_check_fd(fd, "eio", &why), FERRY_EOS);
    assert_null(why);
    assert_non_null(strstr(ferry_error_last(), "Input/output error"));
    assert_int_equal(fiu_disable("ferry/exr_read"), 0);
    expect_sound(fd, "after eio");
    assert_int_equal(close(fd), 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sound_frames_pass),
        cmocka_unit_test(test_every_truncation_fails),
        cmocka_unit_test(test_causes_name_the_place),
        cmocka_unit_test(test_multipart_cause_names_the_part),
        cmocka_unit_test(test_not_exr_and_corrupt),
        cmocka_unit_test(test_tile_outside_the_part),
        cmocka_unit_test(test_offset_untouched_and_paths),
        cmocka_unit_test(test_threads),
#ifdef FERRY_FAULTS
        cmocka_unit_test(test_read_error),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
