/*
 * bench/exrwrite.h: writes one sample EXR frame through OpenEXRCore's
 * encoder. Used by ferry-mkexr (bench/mkexr.c) and by the unit test of the
 * EXR check, which writes into an O_TMPFILE descriptor. Not part of libferry.
 */
#ifndef FERRY_BENCH_EXRWRITE_H
#define FERRY_BENCH_EXRWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width, height; /* pixels, >= 1 */
    int channels;      /* 1-4 half channels, named from "RGBA" */
    bool zip;          /* ZIP (16 lines a chunk) instead of no compression */
    bool tiled;        /* 32x32 tiles instead of scanlines */
    int levels;        /* tiled: 0 one level, 1 mipmap levels */
    int parts;         /* 1, or more for a multi-part file of identical parts */
    bool deep;         /* deep scanlines or tiles: pixel x holds 1 + x % 3 samples
                          (no compression; zip is ignored) */
    int64_t frame;     /* drawn as a moving bar and kept in the "ferryFrame" attribute */
} exrw_opts;

/* Sensible defaults: 64x36, RGB, scanlines, no compression, one part. */
void exrw_opts_init(exrw_opts *o);

/*
 * Writes the frame into fd from offset 0 with pwrite (fd's offset is left
 * alone); name is for messages only. Returns 0, or -1 with the cause in err.
 */
int exrw_write_fd(int fd, const char *name, const exrw_opts *o, char *err, size_t errlen);

#endif
