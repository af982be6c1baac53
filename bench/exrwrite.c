/*
 * bench/exrwrite.c: one sample EXR frame through OpenEXRCore's encoder; see
 * exrwrite.h.
 *
 * The picture is planar halfs: a horizontal red ramp, a vertical green ramp
 * and a blue bar whose column moves with the frame number, so a flipbook of
 * the frames visibly plays. Every chunk is encoded by the library (its
 * default pack and compress routines) and written with our pwrite callback.
 */
#define _GNU_SOURCE
#include "exrwrite.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openexr.h>

#define TILE 32

typedef struct {
    int fd;
    char *err;
    size_t errlen;
} writer;

void exrw_opts_init(exrw_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->width = 64;
    o->height = 36;
    o->channels = 3;
    o->parts = 1;
}

static int64_t write_cb(exr_const_context_t ctxt, void *ud, const void *buf, uint64_t sz,
                        uint64_t off, exr_stream_error_func_ptr_t error_cb)
{
    writer *w = ud;
    uint64_t done = 0;

    (void)ctxt;
    (void)error_cb;
    while (done < sz) {
        ssize_t n = pwrite(w->fd, (const char *)buf + done, sz - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(w->err, w->errlen, "write: %s", strerror(n < 0 ? errno : EIO));
            return -1;
        }
        done += (uint64_t)n;
    }
    return (int64_t)done;
}

/* OpenEXRCore prints to stderr unless given a handler: keep its first word. */
static void error_cb(exr_const_context_t ctxt, exr_result_t code, const char *msg)
{
    void *ud = NULL;
    writer *w;

    if (!ctxt || exr_get_user_data(ctxt, &ud) != EXR_ERR_SUCCESS || !(w = ud) || w->err[0])
        return;
    snprintf(w->err, w->errlen, "%s", msg ? msg : exr_get_default_error_message(code));
}

/* A float in [0, 1] as an IEEE half (no subnormals, no rounding: samples only). */
static uint16_t to_half(float f)
{
    union {
        float f;
        uint32_t u;
    } v = {f};
    int32_t e = (int32_t)((v.u >> 23) & 0xff) - 127 + 15;

    if (f <= 0.0f || e <= 0)
        return 0;
    if (e >= 31)
        return 0x7c00;
    return (uint16_t)((uint32_t)e << 10 | (v.u & 0x7fffff) >> 13);
}

/* Planar pictures, one plane of width x height halfs per channel. */
static uint16_t *draw(const exrw_opts *o)
{
    size_t n = (size_t)o->width * (size_t)o->height;
    uint16_t *px = malloc(n * (size_t)o->channels * sizeof(uint16_t));
    int64_t bar = o->frame % o->width;

    if (!px)
        return NULL;
    if (bar < 0)
        bar += o->width;
    for (int y = 0; y < o->height; y++) {
        for (int x = 0; x < o->width; x++) {
            float v[4] = {(float)x / (float)o->width, (float)y / (float)o->height,
                          x == bar ? 1.0f : 0.1f, 1.0f};
            for (int c = 0; c < o->channels; c++)
                px[(size_t)c * n + (size_t)y * (size_t)o->width + (size_t)x] = to_half(v[c]);
        }
    }
    return px;
}

/* Header of one part: required attributes, channels, tiles, the frame number. */
static exr_result_t define_part(exr_context_t ctx, const exrw_opts *o, int i)
{
    static const char *names[] = {"R", "G", "B", "A"};
    char name[32];
    int idx;
    exr_result_t r;

    snprintf(name, sizeof(name), "part%d", i);
    exr_storage_t st = o->tiled ? (o->deep ? EXR_STORAGE_DEEP_TILED : EXR_STORAGE_TILED)
                                : (o->deep ? EXR_STORAGE_DEEP_SCANLINE : EXR_STORAGE_SCANLINE);
    r = exr_add_part(ctx, o->parts > 1 ? name : NULL, st, &idx);
    if (!r)
        r = exr_initialize_required_attr_simple(ctx, idx, o->width, o->height,
                                                o->zip && !o->deep ? EXR_COMPRESSION_ZIP
                                                                   : EXR_COMPRESSION_NONE);
    for (int c = 0; !r && c < o->channels; c++)
        r = exr_add_channel(ctx, idx, names[c], EXR_PIXEL_HALF, EXR_PERCEPTUALLY_LOGARITHMIC, 1, 1);
    if (!r && o->tiled)
        r = exr_set_tile_descriptor(ctx, idx, TILE, TILE,
                                    o->levels ? EXR_TILE_MIPMAP_LEVELS : EXR_TILE_ONE_LEVEL,
                                    EXR_TILE_ROUND_DOWN);
    if (!r)
        r = exr_attr_set_int(ctx, idx, "ferryFrame", (int32_t)o->frame);
    return r;
}

/* Encodes and writes one chunk whose pixels start at (cinfo->start_x, start_y). */
static exr_result_t write_chunk(exr_context_t ctx, int part, const exrw_opts *o, const uint16_t *px,
                                exr_chunk_info_t *ci, exr_encode_pipeline_t *enc, bool *started)
{
    size_t plane = (size_t)o->width * (size_t)o->height;
    exr_result_t r;

    if (!*started) {
        r = exr_encoding_initialize(ctx, part, ci, enc);
        if (r)
            return r;
    } else if ((r = exr_encoding_update(ctx, part, ci, enc))) {
        return r;
    }
    for (int c = 0; c < enc->channel_count; c++) {
        /* The file keeps channels sorted by name (B, G, R): find each one's plane. */
        const char *at = strchr("RGBA", enc->channels[c].channel_name[0]);
        size_t k = at ? (size_t)(at - "RGBA") : 0;
        const uint16_t *p =
            px + k * plane + (size_t)ci->start_y * (size_t)o->width + (size_t)ci->start_x;
        enc->channels[c].encode_from_ptr = (const uint8_t *)p;
        enc->channels[c].user_pixel_stride = 2;
        enc->channels[c].user_line_stride = o->width * 2;
    }
    if (!*started) {
        if ((r = exr_encoding_choose_default_routines(ctx, part, enc)))
            return r;
        *started = true;
    }
    return exr_encoding_run(ctx, part, enc);
}

/*
 * One deep chunk of w x h pixels at column x0, uncompressed: the table of
 * cumulative sample counts (row by row), then each channel's samples, all
 * of them 0.5. What the samples say does not matter here, only the layout.
 * (cx, cy): the tile, or for scanlines 0 and the chunk's first line.
 */
static exr_result_t write_deep_chunk(exr_context_t ctx, int part, const exrw_opts *o, int x0, int w,
                                     int h, int cx, int cy, int level)
{
    size_t tb = (size_t)w * (size_t)h * sizeof(int32_t);
    int32_t *table = malloc(tb);
    uint16_t *data = NULL;
    int32_t n = 0;
    exr_result_t r = EXR_ERR_OUT_OF_MEMORY;

    if (!table)
        return r;
    for (int i = 0; i < w * h; i++)
        table[i] = (n += 1 + (x0 + i % w) % 3);
    size_t bytes = (size_t)n * (size_t)o->channels * sizeof(uint16_t);
    if ((data = malloc(bytes ? bytes : 1))) {
        for (size_t i = 0; i < bytes / 2; i++)
            data[i] = to_half(0.5f);
        r = o->tiled ? exr_write_deep_tile_chunk(ctx, part, cx, cy, level, level, data, bytes,
                                                 bytes, table, tb)
                     : exr_write_deep_scanline_chunk(ctx, part, cy, data, bytes, bytes, table, tb);
    }
    free(data);
    free(table);
    return r;
}

/* All chunks of one part, in table order. */
static exr_result_t write_part(exr_context_t ctx, int part, const exrw_opts *o, const uint16_t *px)
{
    exr_encode_pipeline_t enc = EXR_ENCODE_PIPELINE_INITIALIZER;
    exr_chunk_info_t ci;
    bool started = false;
    exr_result_t r = EXR_ERR_SUCCESS;

    if (o->tiled) {
        int32_t nx = 1, ny = 1;
        r = exr_get_tile_levels(ctx, part, &nx, &ny);
        /* Levels in table order; a level's pixels are the top left of
         * level 0's: what they show does not matter here. */
        for (int l = 0; !r && l < nx && l < ny; l++) {
            int32_t w = 0, h = 0;
            r = exr_get_level_sizes(ctx, part, l, l, &w, &h);
            for (int ty = 0; !r && ty * TILE < h; ty++)
                for (int tx = 0; !r && tx * TILE < w; tx++)
                    if (o->deep)
                        r = write_deep_chunk(
                            ctx, part, o, tx * TILE, w - tx * TILE < TILE ? w - tx * TILE : TILE,
                            h - ty * TILE < TILE ? h - ty * TILE : TILE, tx, ty, l);
                    else if (!(r = exr_write_tile_chunk_info(ctx, part, tx, ty, l, l, &ci)))
                        r = write_chunk(ctx, part, o, px, &ci, &enc, &started);
        }
    } else {
        int32_t lines = 1;
        r = exr_get_scanlines_per_chunk(ctx, part, &lines);
        for (int y = 0; !r && y < o->height; y += lines)
            if (o->deep)
                r = write_deep_chunk(ctx, part, o, 0, o->width,
                                     o->height - y < lines ? o->height - y : lines, 0, y, 0);
            else if (!(r = exr_write_scanline_chunk_info(ctx, part, y, &ci)))
                r = write_chunk(ctx, part, o, px, &ci, &enc, &started);
    }
    if (started)
        exr_encoding_destroy(ctx, &enc);
    return r;
}

int exrw_write_fd(int fd, const char *name, const exrw_opts *o, char *err, size_t errlen)
{
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    writer w = {.fd = fd, .err = err, .errlen = errlen};
    exr_context_t ctx = NULL;
    uint16_t *px = NULL;
    exr_result_t r;

    err[0] = '\0';
    if (o->width < 1 || o->height < 1 || o->channels < 1 || o->channels > 4 || o->parts < 1) {
        snprintf(err, errlen, "bad frame geometry");
        return -1;
    }
    if (!(px = draw(o))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    init.error_handler_fn = error_cb;
    init.user_data = &w;
    init.write_fn = write_cb;
    r = exr_start_write(&ctx, name, EXR_WRITE_FILE_DIRECTLY, &init);
    for (int i = 0; !r && i < o->parts; i++)
        r = define_part(ctx, o, i);
    if (!r)
        r = exr_write_header(ctx);
    for (int i = 0; !r && i < o->parts; i++)
        r = write_part(ctx, i, o, px);
    if (ctx) {
        /* exr_finish writes the chunk tables; it reports a failed write too. */
        exr_result_t f = exr_finish(&ctx);
        if (!r)
            r = f;
    }
    free(px);
    if (r && !err[0])
        snprintf(err, errlen, "%s", exr_get_default_error_message(r));
    return r ? -1 : 0;
}
