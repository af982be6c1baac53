/*
 * bench/mkexr.c: `ferry-mkexr`: writes sample EXR frames, real files that
 * OpenEXR reads, for the demo (scripts/make-demo.sh), the tests and the
 * benchmarks:
 *
 *     ferry-mkexr [--size WxH | --bytes N] [--zip] [--tiled] [--parts N] PATTERN FRAMES
 *     ferry-mkexr /tmp/x/sh010.####.exr 1001-1024
 *
 * --bytes picks the resolution (16:9, RGB half, no compression) so that each
 * frame is about N bytes, for benchmarks of real-sized frames.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exrwrite.h"
#include "ferry/common.h"
#include "ferry/seq.h"
#include "ferry/size.h"

#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ferry-mkexr [--size WxH | --bytes N] [--zip] [--tiled] [--parts N]\n"
            "                   PATTERN FRAMES\n\n"
            "Writes one sample EXR frame per frame of FRAMES (\"1001-1100\", \"1,5,10-20\")\n"
            "under the names of PATTERN (\"shots/sh010.####.exr\"); the directory must exist.\n"
            "  --size WxH   resolution (default 64x36); RGB half channels\n"
            "  --bytes N    choose the resolution so that a frame is about N bytes\n"
            "               (\"800K\"; no compression)\n"
            "  --zip        ZIP compression (16 lines a chunk) instead of none\n"
            "  --tiled      32x32 tiles instead of scanlines\n"
            "  --parts N    a multi-part file of N identical parts\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ferry-mkexr: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'ferry-mkexr --help'.\n");
    return EXIT_USAGE;
}

/*
 * The 16:9 resolution whose uncompressed RGB-half frame is about `bytes`:
 * each scanline chunk holds 8 bytes of chunk header and 6 bytes a pixel,
 * and the chunk table 8 bytes a line; the header is some 350 bytes.
 */
static int size_for_bytes(uint64_t bytes, exrw_opts *o)
{
    double px = (double)bytes / 6.0;
    int w = (int)lround(sqrt(px * 16.0 / 9.0)), h;

    if (bytes < 1024 || bytes > (uint64_t)1 << 34)
        return -1;
    if (w < 16)
        w = 16;
    h = (int)lround(((double)bytes - 350.0) / (6.0 * w + 16.0));
    if (h < 1)
        h = 1;
    o->width = w;
    o->height = h;
    return 0;
}

static int parse_wxh(const char *s, exrw_opts *o)
{
    char *end;
    long w = strtol(s, &end, 10), h;

    if (end == s || (*end != 'x' && *end != 'X'))
        return -1;
    s = end + 1;
    h = strtol(s, &end, 10);
    if (end == s || *end || w < 1 || h < 1 || w > 65536 || h > 65536)
        return -1;
    o->width = (int)w;
    o->height = (int)h;
    return 0;
}

/* Writes one frame to path; 0 or -1 after a message. */
static int write_frame(const char *path, const exrw_opts *o)
{
    char err[512];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc;

    if (fd < 0) {
        fprintf(stderr, "ferry-mkexr: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    rc = exrw_write_fd(fd, path, o, err, sizeof(err));
    if (close(fd) < 0 && rc == 0) {
        snprintf(err, sizeof(err), "close: %s", strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        fprintf(stderr, "ferry-mkexr: cannot write '%s': %s\n", path, err);
    return rc;
}

/* Every frame of fs under the names of pat. */
static int write_frames(const ferry_pattern *pat, const ferry_frameset *fs, exrw_opts *o)
{
    for (size_t i = 0; i < fs->n; i++) {
        for (int64_t f = fs->r[i].start; f <= fs->r[i].end; f += fs->r[i].step) {
            char *path = ferry_pattern_frame(pat, f);
            int rc;
            if (!path) {
                fprintf(stderr, "ferry-mkexr: out of memory\n");
                return 1;
            }
            o->frame = f;
            rc = write_frame(path, o);
            free(path);
            if (rc < 0)
                return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"size", required_argument, NULL, 's'},
        {"bytes", required_argument, NULL, 'b'},
        {"zip", no_argument, NULL, 'z'},
        {"tiled", no_argument, NULL, 't'},
        {"parts", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ferry_pattern pat;
    ferry_frameset fs;
    exrw_opts o;
    uint64_t bytes = 0;
    bool sized = false;
    char *end, *dir;
    struct stat st;
    int c, rc;

    exrw_opts_init(&o);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (parse_wxh(optarg, &o) < 0)
                return usage_error("bad --size '%s' (want WxH, e.g. 1920x1080)", optarg);
            sized = true;
            break;
        case 'b':
            if (ferry_size_parse(optarg, &bytes) < 0 || size_for_bytes(bytes, &o) < 0)
                return usage_error("bad --bytes '%s' (want 1K to 16G, e.g. 800K)", optarg);
            break;
        case 'z':
            o.zip = true;
            break;
        case 't':
            o.tiled = true;
            break;
        case 'p':
            errno = 0;
            o.parts = (int)strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || o.parts < 1 || o.parts > 64)
                return usage_error("bad --parts '%s' (want 1 to 64)", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (bytes && (sized || o.zip))
        return usage_error("%s", "--bytes sets the resolution of uncompressed frames: "
                                 "not with --size or --zip");
    if (argc - optind != 2)
        return usage_error("%s", "want a PATTERN and FRAMES, e.g. shots/sh010.####.exr 1001-1024");
    if (ferry_pattern_parse(argv[optind], &pat) < 0)
        return usage_error("'%s' is not a frame pattern (e.g. sh010.####.exr)", argv[optind]);
    if (ferry_frameset_parse(argv[optind + 1], &fs) < 0) {
        ferry_pattern_release(&pat);
        return usage_error("bad frames '%s' (e.g. 1001-1100, 1,5,10-20)", argv[optind + 1]);
    }
    /* A clear word for a missing directory rather than one per frame. */
    dir = strdup(argv[optind]);
    if (dir && strrchr(dir, '/')) {
        *strrchr(dir, '/') = '\0';
        if (*dir && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
            fprintf(stderr, "ferry-mkexr: '%s' is not a directory\n", dir);
            free(dir);
            ferry_frameset_release(&fs);
            ferry_pattern_release(&pat);
            return 1;
        }
    }
    free(dir);
    rc = write_frames(&pat, &fs, &o);
    ferry_frameset_release(&fs);
    ferry_pattern_release(&pat);
    return rc;
}
