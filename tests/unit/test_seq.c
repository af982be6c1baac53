/* Frame sets, patterns and grouping, table-driven, with the ambiguous cases. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ferry/common.h"
#include "ferry/seq.h"

static void test_frameset_parse(void **state)
{
    static const struct {
        const char *in, *canon;
        uint64_t count;
    } ok[] = {
        {"1001-1100", "1001-1100", 100},
        {"1001-1100x2", "1001-1099x2", 50},
        {"1,5,10-20", "1,5,10-20", 13},
        {"10-20,1,5", "1,5,10-20", 13},
        {"-5-5", "-5-5", 11},
        {"-10--5", "-10--5", 6},
        {"1-3,4-6", "1-6", 6},
        {"1-10,5-8", "1-10", 10},
        {"7", "7", 1},
        {"1001-1010x9", "1001,1010", 2},
        {" 1 , 2 ", "1-2", 2},
        {"0-99999", "0-99999", 100000},
    };
    static const char *bad[] = {"", "a", "1-", "-", "5-1", "1-10x0", "1-10x-2", "1,,2", "1;2",
                                "1234567890123456789", "1-10y2"};
    ferry_frameset fs;
    (void)state;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(ferry_frameset_parse(ok[i].in, &fs), FERRY_OK);
        char *s = ferry_frameset_format(&fs);
        if (strcmp(s, ok[i].canon)) {
            print_error("'%s' -> '%s', want '%s'\n", ok[i].in, s, ok[i].canon);
            fail();
        }
        assert_int_equal(ferry_frameset_count(&fs), ok[i].count);
        free(s);
        ferry_frameset_release(&fs);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ferry_frameset_parse(bad[i], &fs) != FERRY_EINVAL) {
            print_error("'%s' accepted\n", bad[i]);
            fail();
        }
    }
    /* 100,000 frames in a few ranges cost a few hundred bytes. */
    assert_int_equal(ferry_frameset_parse("1-100000", &fs), FERRY_OK);
    assert_true(fs.n * sizeof(ferry_frange) < 512);
    assert_true(ferry_frameset_contains(&fs, 50000));
    assert_false(ferry_frameset_contains(&fs, 100001));
    ferry_frameset_release(&fs);
}

static void test_frameset_add_and_missing(void **state)
{
    ferry_frameset have, want, miss;
    char *s;
    (void)state;

    ferry_frameset_init(&have);
    for (int f = 1001; f <= 1100; f++)
        if (f != 1042 && f != 1043 && f != 1077)
            ferry_frameset_add(&have, f);
    s = ferry_frameset_format(&have);
    assert_string_equal(s, "1001-1041,1044-1076,1078-1100");
    free(s);
    assert_int_equal(ferry_frameset_count(&have), 97);
    ferry_frameset_parse("1001-1100", &want);
    ferry_frameset_missing(&want, &have, &miss);
    s = ferry_frameset_format(&miss);
    assert_string_equal(s, "1042-1043,1077");
    free(s);
    ferry_frameset_release(&have);
    ferry_frameset_release(&want);
    ferry_frameset_release(&miss);
    /* every other frame */
    ferry_frameset_init(&have);
    for (int f = 1; f <= 9; f += 2)
        ferry_frameset_add(&have, f);
    s = ferry_frameset_format(&have);
    assert_string_equal(s, "1-9x2");
    free(s);
    ferry_frameset_release(&have);
}

/* Missing frames of a sequence at its step; frames given as a set, added one
 * by one in order as a directory scan adds them. */
static void test_seq_missing(void **state)
{
    static const struct {
        const char *frames, *missing;
        int64_t step;
    } cases[] = {
        {"1001-1041,1044-1076,1078-1100", "1042-1043,1077", 1},
        {"1-9,11,13-20", "10,12", 1}, /* 11 and 13 are stored as 11-13x2 */
        {"1-9,11,14-20", "10,12-13", 1},
        {"1-9,11,13,15-20", "10-14x2", 1}, /* 11, 13, 15 are stored 11-15x2 */
        {"1-5,7,9", "6,8", 1},
        {"1-99x2", "", 2},
        {"1001,1010", "", 9},
        {"1-49x2,53-99x2", "51", 2},
        {"1-3x2,7-9x2", "5", 2},
        {"1-5x2,8-10x2", "2-6x2,7,9", 1}, /* 8 is off the lattice of 1, 3, 5 */
        {"1-100", "", 1},
        {"7", "", 1},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ferry_frameset parsed, miss;
        ferry_seq s = {.frames = {0}};
        assert_int_equal(ferry_frameset_parse(cases[i].frames, &parsed), FERRY_OK);
        for (size_t k = 0; k < parsed.n; k++)
            for (int64_t f = parsed.r[k].start; f <= parsed.r[k].end; f += parsed.r[k].step)
                assert_int_equal(ferry_frameset_add(&s.frames, f), FERRY_OK);
        assert_int_equal(ferry_seq_missing(&s, &miss), FERRY_OK);
        char *got = ferry_frameset_format(&miss);
        if (strcmp(got, cases[i].missing) || ferry_seq_step(&s.frames) != cases[i].step) {
            print_error("'%s': missing '%s' at step %lld, want '%s' at step %lld\n",
                        cases[i].frames, got, (long long)ferry_seq_step(&s.frames),
                        cases[i].missing, (long long)cases[i].step);
            fail();
        }
        free(got);
        ferry_frameset_release(&miss);
        ferry_frameset_release(&s.frames);
        ferry_frameset_release(&parsed);
    }

    /* 100,000 frames with every tenth missing: 10,000 ranges, each frame
     * looked up by binary search (a linear scan would take ~10^9 steps). */
    ferry_seq s = {.frames = {0}};
    ferry_frameset miss;
    for (int64_t f = 1; f <= 100000; f++)
        if (f % 10 != 5)
            ferry_frameset_add(&s.frames, f);
    assert_int_equal(ferry_seq_missing(&s, &miss), FERRY_OK);
    assert_int_equal(ferry_frameset_count(&miss), 10000);
    assert_true(ferry_frameset_contains(&miss, 99995));
    ferry_frameset_release(&miss);
    ferry_frameset_release(&s.frames);
}

static void test_patterns(void **state)
{
    static const struct {
        const char *in, *head, *tail;
        int pad;
        const char *hash, *printf_, *frame1001;
    } ok[] = {
        {"sh010_comp.####.exr", "sh010_comp.", ".exr", 4, "sh010_comp.####.exr", "sh010_comp.%04d.exr", "sh010_comp.1001.exr"},
        {"sh010_comp.#.exr", "sh010_comp.", ".exr", 4, "sh010_comp.####.exr", "sh010_comp.%04d.exr", "sh010_comp.1001.exr"},
        {"/shots/a.@@@.dpx", "/shots/a.", ".dpx", 3, "/shots/a.###.dpx", "/shots/a.%03d.dpx", "/shots/a.1001.dpx"},
        {"a.%06d.exr", "a.", ".exr", 6, "a.######.exr", "a.%06d.exr", "a.001001.exr"},
        {"a.%d.exr", "a.", ".exr", 0, "a.@.exr", "a.%d.exr", "a.1001.exr"},
        {"a.$F4.exr", "a.", ".exr", 4, "a.####.exr", "a.%04d.exr", "a.1001.exr"},
        {"a.$F.exr", "a.", ".exr", 0, "a.@.exr", "a.%d.exr", "a.1001.exr"},
        {"v003/comp_v003.@.exr", "v003/comp_v003.", ".exr", 1, "v003/comp_v003.@.exr", "v003/comp_v003.%01d.exr", "v003/comp_v003.1001.exr"},
    };
    ferry_pattern p;
    int64_t f;
    (void)state;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(ferry_pattern_parse(ok[i].in, &p), FERRY_OK);
        assert_string_equal(p.head, ok[i].head);
        assert_string_equal(p.tail, ok[i].tail);
        assert_int_equal(p.pad, ok[i].pad);
        char *h = ferry_pattern_format(&p, '#'), *pf = ferry_pattern_format(&p, '%'),
             *fr = ferry_pattern_frame(&p, 1001);
        assert_string_equal(h, ok[i].hash);
        assert_string_equal(pf, ok[i].printf_);
        assert_string_equal(fr, ok[i].frame1001);
        free(h);
        free(pf);
        free(fr);
        ferry_pattern_release(&p);
    }
    assert_int_equal(ferry_pattern_parse("plain.exr", &p), FERRY_EINVAL);
    /* padding 3: 999 and 1000 are both frames; 0999 is not */
    ferry_pattern_parse("s.###.exr", &p);
    assert_true(ferry_pattern_match(&p, "s.999.exr", &f) && f == 999);
    assert_true(ferry_pattern_match(&p, "s.1000.exr", &f) && f == 1000);
    assert_false(ferry_pattern_match(&p, "s.0999.exr", &f));
    assert_false(ferry_pattern_match(&p, "s.99.exr", &f));
    assert_true(ferry_pattern_match(&p, "s.-005.exr", &f) && f == -5);
    char *neg = ferry_pattern_frame(&p, -5);
    assert_string_equal(neg, "s.-005.exr");
    free(neg);
    ferry_pattern_release(&p);
}

/* Groups names and returns "pattern range count" lines and singles, sorted. */
static char *group(const char *const *names, size_t n)
{
    ferry_seq *seqs;
    size_t ns, nsingle, *singles;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    assert_int_equal(ferry_seq_group(names, NULL, n, &seqs, &ns, &singles, &nsingle), FERRY_OK);
    for (size_t i = 0; i < ns; i++) {
        char *p = ferry_pattern_format(&seqs[i].pattern, '#'), *r = ferry_frameset_format(&seqs[i].frames);
        fprintf(f, "%s %s|", p, r);
        free(p);
        free(r);
    }
    for (size_t i = 0; i < nsingle; i++)
        fprintf(f, "[%s]", names[singles[i]]);
    fclose(f);
    ferry_seqs_free(seqs, ns);
    free(singles);
    return out;
}

static void test_grouping(void **state)
{
    static const struct {
        const char *names[8];
        const char *want;
    } cases[] = {
        /* one sequence, with a gap */
        {{"sh.1001.exr", "sh.1002.exr", "sh.1004.exr"}, "sh.####.exr 1001-1002,1004|"},
        /* two sequences side by side, and a single file */
        {{"a.0001.exr", "a.0002.exr", "b.0001.exr", "b.0002.exr", "notes.txt"},
         "a.####.exr 1-2|b.####.exr 1-2|[notes.txt]"},
        /* a version number is not a frame */
        {{"comp_v001.exr", "comp_v002.exr", "comp_v003.exr"}, "[comp_v001.exr][comp_v002.exr][comp_v003.exr]"},
        /* ...but the frame after it is */
        {{"comp_v003.1001.exr", "comp_v003.1002.exr"}, "comp_v003.####.exr 1001-1002|"},
        /* frames wider than their padding: 998, 999, 1000 are one sequence of pad 3 */
        {{"s.998.exr", "s.999.exr", "s.1000.exr"}, "s.###.exr 998-1000|"},
        /* a leading zero fixes the padding: 0999 and 1000 are pad 4 */
        {{"s.0998.exr", "s.0999.exr", "s.1000.exr"}, "s.####.exr 998-1000|"},
        /* unpadded: 1, 2, 10 */
        {{"f.1.png", "f.2.png", "f.10.png"}, "f.@.png 1-2,10|"},
        /* "1" and "01" are two files, not one frame twice */
        {{"f.1.png", "f.2.png", "f.01.png", "f.02.png"}, "f.@.png 1-2|f.##.png 1-2|"},
        /* negative frames */
        {{"n.-002.exr", "n.-001.exr", "n.000.exr", "n.001.exr"}, "n.###.exr -2-1|"},
        /* a lone frame is a single file; a frame glued to a word is not a frame */
        {{"x.1001.exr", "render1001.exr", "render1002.exr"}, "[x.1001.exr][render1001.exr][render1002.exr]"},
        /* underscore separators and no extension */
        {{"plate_0001", "plate_0002"}, "plate_#### 1-2|"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        while (n < 8 && cases[i].names[n])
            n++;
        char *got = group(cases[i].names, n);
        if (strcmp(got, cases[i].want)) {
            print_error("case %zu: got '%s', want '%s'\n", i, got, cases[i].want);
            fail();
        }
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frameset_parse),
        cmocka_unit_test(test_frameset_add_and_missing),
        cmocka_unit_test(test_seq_missing),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_grouping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
