/*
 * core/exr.c: the structural check of an OpenEXR file; see ferry/exr.h.
 *
 * OpenEXRCore parses and validates the header (attributes, parts, chunk
 * counts) through our read callback. The chunk tables and chunk headers are
 * then read here rather than through exr_read_*_chunk_info: on a broken file
 * those fail with a code but no byte positions, and by default they try to
 * rebuild a broken table instead of reporting it. Where the tables start is
 * found by walking the header's attributes (name, type, size, value) as the
 * file layout defines them; the walk must agree with OpenEXRCore on the
 * number of parts.
 *
 * Reads: one window of up to 64 KiB at offset 0 holds the magic number, the
 * header and usually the chunk tables; OpenEXRCore's header reads are served
 * from it. Each chunk header outside it costs one pread of 8 to 44 bytes
 * (~0.6 us with the file in the page cache). No pixel data is read.
 *
 * Thread safety: all state lives in one exr_src per call, each call has its
 * own OpenEXRCore context, and the error handler writes into that exr_src.
 */
#define _GNU_SOURCE
#include "ferry/exr.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openexr.h>

#include "ferry/common.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"

#define WINDOW      (64 * 1024)
#define TABLE_BLOCK 1024 /* chunk table entries read at once */
/*
 * Chunk headers less than GROUP_GAP apart are read together, up to
 * GROUP_MAX bytes: one pread costs about as much as copying 5 KiB from the
 * page cache, so frames of one scanline a chunk (uncompressed 800 KB frames:
 * 275 chunks of 3 KB) need a tenth of the calls; chunks farther apart cost
 * one small pread each.
 */
#define GROUP_GAP (8 * 1024)
#define GROUP_MAX (64 * 1024)

/* The version field's flags (OpenEXR file layout, "Version Field"). */
#define FLAG_MULTIPART 0x1000u

/* A name or type name is at most 255 bytes and its NUL. */
#define NAME_MAX_BYTES 256

static const unsigned char magic[4] = {0x76, 0x2f, 0x31, 0x01};

typedef struct {
    int fd;
    const char *name;
    int64_t size;       /* fstat at the start; every bound is checked against it */
    unsigned char *win; /* the file's bytes [0, wlen) */
    size_t wlen;
    unsigned char *grp; /* the file's bytes [grp_off, grp_off + grp_len): chunk headers */
    uint64_t grp_off;
    size_t grp_len;
    int read_errno;    /* errno of a failed pread (not EOF) */
    char lib_msg[256]; /* OpenEXRCore's last message */
} exr_src;

/* One chunk table entry's place, for the messages. */
typedef struct {
    int part, nparts;
    const char *part_name; /* the part's name attribute, or NULL */
    int32_t index, count;
} chunk_ref;

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* pread of up to len bytes at off: the count (short only at end of file) or -1. */
static int64_t pread_all(exr_src *s, uint64_t off, void *buf, size_t len)
{
    size_t done = 0;

    if (off > (uint64_t)INT64_MAX - len)
        return 0;
    while (done < len) {
        ssize_t n = FERRY_SYS("exr_read",
                              pread(s->fd, (char *)buf + done, len - done, (off_t)(off + done)));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s->read_errno = errno;
            return -1;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

/* True when the window or the group holds the bytes [off, off + len). */
static const unsigned char *cached(const exr_src *s, uint64_t off, size_t len)
{
    if (off <= s->wlen && len <= s->wlen - off)
        return s->win + off;
    if (s->grp && off >= s->grp_off && off - s->grp_off <= s->grp_len &&
        len <= s->grp_len - (off - s->grp_off))
        return s->grp + (off - s->grp_off);
    return NULL;
}

/* As pread_all, served from the window or the group when they hold the bytes. */
static int64_t read_at(exr_src *s, uint64_t off, void *buf, size_t len)
{
    const unsigned char *p = cached(s, off, len);

    if (!p)
        return pread_all(s, off, buf, len);
    memcpy(buf, p, len);
    return (int64_t)len;
}

/*
 * Before the header of the chunk at table entry k is read: when the next
 * entries point close after it, reads all their headers at once into the
 * group buffer. Returns 0 or -1 (a failed read).
 */
static int read_group(exr_src *s, const unsigned char *table, size_t k, size_t n, size_t lb)
{
    uint64_t first = le64(table + 8 * k), last = first, size = (uint64_t)s->size;
    int64_t got;

    if (first >= size || cached(s, first, lb))
        return 0;
    for (size_t j = k + 1; j < n; j++) {
        uint64_t next = le64(table + 8 * j);
        if (next <= last || next - last > GROUP_GAP || next >= size ||
            next + lb - first > GROUP_MAX)
            break;
        last = next;
    }
    if (last == first) /* alone: read_at reads just its header */
        return 0;
    if (!s->grp && !(s->grp = malloc(GROUP_MAX)))
        return 0; /* without the group, one pread a header still works */
    s->grp_len = 0;
    if ((got = pread_all(s, first, s->grp, (size_t)(last + lb - first))) < 0)
        return -1;
    s->grp_off = first;
    s->grp_len = (size_t)got;
    return 0;
}

static int64_t exr_read_cb(exr_const_context_t ctxt, void *ud, void *buf, uint64_t sz, uint64_t off,
                           exr_stream_error_func_ptr_t error_cb)
{
    (void)ctxt;
    (void)error_cb;
    if (sz > SIZE_MAX)
        return -1;
    return read_at(ud, off, buf, (size_t)sz);
}

static int64_t exr_size_cb(exr_const_context_t ctxt, void *ud)
{
    (void)ctxt;
    return ((exr_src *)ud)->size;
}

/* OpenEXRCore prints to stderr unless given a handler: keep the message instead. */
static void exr_error_cb(exr_const_context_t ctxt, exr_result_t code, const char *msg)
{
    void *ud = NULL;
    exr_src *s;

    if (!ctxt || exr_get_user_data(ctxt, &ud) != EXR_ERR_SUCCESS || !(s = ud))
        return;
    snprintf(s->lib_msg, sizeof(s->lib_msg), "%s", msg ? msg : exr_get_default_error_message(code));
}

/* Sets *why (if wanted) and the thread's error message; returns FERRY_EINVAL. */
static int broken(exr_src *s, char **why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int broken(exr_src *s, char **why, const char *fmt, ...)
{
    char cause[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cause, sizeof(cause), fmt, ap);
    va_end(ap);
    /* Names in the cause come from the file: keep it plain ASCII (JSON, terminals). */
    for (char *c = cause; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    if (why)
        *why = strdup(cause);
    return ferry__error(FERRY_EINVAL, "check '%s': %s", s->name, cause);
}

static int read_failed(exr_src *s)
{
    return ferry__error_os(FERRY_EOS, s->read_errno, "read '%s'", s->name);
}

/* " of part 'beauty'" (or " of part 2 of 3") in a multi-part file, "" otherwise. */
static const char *in_part(const chunk_ref *r, char *buf, size_t len)
{
    if (r->nparts < 2)
        return "";
    if (r->part_name)
        snprintf(buf, len, " of part '%.64s'", r->part_name);
    else
        snprintf(buf, len, " of part %d of %d", r->part + 1, r->nparts);
    return buf;
}

/* True when n bytes hold no control character: an attribute name or type
 * (ASCII, or UTF-8 from some writers), not noise. */
static bool is_word(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return false;
    return true;
}

/*
 * Walks the header from byte 8: attributes are name\0 type\0 int32 size and
 * size bytes of value; an empty name ends a part's header; in a multi-part
 * file an empty header ends the list. *end is where the chunk tables start.
 * Returns 0; 1 when the file ends inside the header (msg may say where);
 * FERRY_EINVAL with a cause in msg when the header does not follow the
 * layout (noise where a name should be: a file cut short is only called so
 * when what it holds reads as a header); or FERRY_EOS.
 */
static int walk_header(exr_src *s, bool multipart, uint64_t *end, int *nparts, char *msg,
                       size_t msglen)
{
    unsigned char b[2 * NAME_MAX_BYTES + 4];
    uint64_t off = 8;

    *nparts = 0;
    for (;;) {
        int64_t got = read_at(s, off, b, sizeof(b));
        const unsigned char *type, *nul;
        size_t nlen, tlen, avail;
        int32_t size;

        if (got < 0)
            return FERRY_EOS;
        if (got == 0)
            return 1;
        avail = (size_t)got;
        if (b[0] == 0) { /* the end of one part's header */
            ++*nparts;
            off++;
            if (!multipart)
                break;
            if (avail < 2)
                return 1;
            if (b[1] == 0) { /* an empty header: the end of the list */
                off++;
                break;
            }
            continue;
        }
        nul = memchr(b, 0, avail < NAME_MAX_BYTES ? avail : NAME_MAX_BYTES);
        nlen = nul ? (size_t)(nul - b) : avail < NAME_MAX_BYTES ? avail : NAME_MAX_BYTES;
        if (!is_word(b, nlen))
            goto noise;
        if (!nul && avail < NAME_MAX_BYTES)
            return 1;
        if (!nul)
            goto too_long;
        type = nul + 1;
        avail -= nlen + 1;
        nul = memchr(type, 0, avail < NAME_MAX_BYTES ? avail : NAME_MAX_BYTES);
        tlen = nul ? (size_t)(nul - type) : avail < NAME_MAX_BYTES ? avail : NAME_MAX_BYTES;
        if (!is_word(type, tlen))
            goto noise;
        if (!nul && avail < NAME_MAX_BYTES)
            return 1;
        if (!nul)
            goto too_long;
        avail -= tlen + 1;
        if (avail < 4)
            return 1;
        size = (int32_t)le32(nul + 1);
        if (size < 0)
            goto noise;
        off += nlen + 1 + tlen + 1 + 4 + (uint64_t)size;
        if (off > (uint64_t)s->size) {
            /* Cut inside a value, or a size that lies: both read as a short file. */
            snprintf(msg, msglen,
                     "truncated: the header's attribute '%.*s' (%" PRId32
                     " bytes) runs past the end, file has %" PRId64 " bytes",
                     (int)(nlen < 64 ? nlen : 64), b, size, s->size);
            return 1;
        }
    }
    *end = off;
    return 0;
noise:
    snprintf(msg, msglen, "no readable attribute at byte %" PRIu64, off);
    return FERRY_EINVAL;
too_long:
    snprintf(msg, msglen, "an attribute name or type at byte %" PRIu64 " is too long", off);
    return FERRY_EINVAL;
}

static bool is_tiled(exr_storage_t st)
{
    return st == EXR_STORAGE_TILED || st == EXR_STORAGE_DEEP_TILED;
}

/* The bytes of one chunk's header: part number, coordinates, sizes. */
static size_t leader_bytes(exr_storage_t st, bool multipart)
{
    bool tiled = is_tiled(st);
    bool deep = st == EXR_STORAGE_DEEP_SCANLINE || st == EXR_STORAGE_DEEP_TILED;

    return (multipart ? 4 : 0) + (tiled ? 16 : 4) + (deep ? 24 : 4);
}

/* Levels of a tiled part, at most: sizes are 31-bit. */
#define LEVELS_MAX 32

/* What one part needs for the chunk walk. */
typedef struct {
    exr_storage_t storage;
    int32_t count;    /* chunks in its table */
    int32_t first_y;  /* scanline parts: the data window's top */
    int32_t lines;    /* scanline parts: lines per chunk */
    const char *name; /* borrowed from the context; NULL when unnamed */
    /* Tiled parts: levels across and down, and tiles across (by x level)
     * and down (by y level); mipmap levels pair x and y. */
    bool mipmap;
    int32_t levels_x, levels_y;
    int32_t tiles_x[LEVELS_MAX], tiles_y[LEVELS_MAX];
} part_info;

/* Whether the part has tile (tx, ty) at level (lx, ly). */
static bool has_tile(const part_info *p, int32_t tx, int32_t ty, int32_t lx, int32_t ly)
{
    if (lx < 0 || lx >= p->levels_x || ly < 0 || ly >= p->levels_y || (p->mipmap && lx != ly))
        return false;
    return tx >= 0 && tx < p->tiles_x[lx] && ty >= 0 && ty < p->tiles_y[ly];
}

/*
 * Checks one chunk: its table offset lies past the tables and inside the
 * file, its header names this part and a place in it (for scanlines the
 * expected first line, for tiles a tile the part has), and its data ends
 * inside the file.
 */
static int check_chunk(exr_src *s, const part_info *p, const chunk_ref *r, bool multipart,
                       uint64_t off, uint64_t tables_end, char **why)
{
    unsigned char b[44];
    size_t lb = leader_bytes(p->storage, multipart), at = 0;
    uint64_t size = (uint64_t)s->size, data;
    char pb[32];
    const char *ip = in_part(r, pb, sizeof(pb));
    int64_t got;

    if (off == 0)
        return broken(s, why,
                      "incomplete: the chunk table has no offset for chunk %" PRId32 " of %" PRId32
                      "%s (its writer did not finish)",
                      r->index + 1, r->count, ip);
    if (off >= size)
        return broken(s, why,
                      "truncated: chunk %" PRId32 " of %" PRId32 "%s starts at byte %" PRIu64
                      ", file has %" PRIu64 " bytes",
                      r->index + 1, r->count, ip, off, size);
    if (off < tables_end)
        return broken(s, why,
                      "corrupt: the chunk table points chunk %" PRId32 " of %" PRId32
                      "%s into the header (byte %" PRIu64 ")",
                      r->index + 1, r->count, ip, off);
    if ((got = read_at(s, off, b, lb)) < 0)
        return read_failed(s);
    if ((size_t)got < lb || off + lb > size)
        return broken(s, why,
                      "truncated: chunk %" PRId32 " of %" PRId32 "%s starts at byte %" PRIu64
                      " and its header runs past the end, file has %" PRIu64 " bytes",
                      r->index + 1, r->count, ip, off, size);
    if (multipart) {
        int32_t part = (int32_t)le32(b);
        if (part != r->part)
            return broken(s, why,
                          "corrupt: chunk %" PRId32 " of %" PRId32
                          "%s says it belongs to part %" PRId32,
                          r->index + 1, r->count, ip, part);
        at = 4;
    }
    if (p->storage == EXR_STORAGE_SCANLINE || p->storage == EXR_STORAGE_DEEP_SCANLINE) {
        int64_t want = (int64_t)p->first_y + (int64_t)r->index * p->lines;
        int32_t y = (int32_t)le32(b + at);
        if (y != want)
            return broken(s, why,
                          "corrupt: chunk %" PRId32 " of %" PRId32
                          "%s says it starts at line %" PRId32 ", expected %" PRId64,
                          r->index + 1, r->count, ip, y, want);
        at += 4;
    } else {
        int32_t tx = (int32_t)le32(b + at), ty = (int32_t)le32(b + at + 4);
        int32_t lx = (int32_t)le32(b + at + 8), ly = (int32_t)le32(b + at + 12);
        if (!has_tile(p, tx, ty, lx, ly))
            return broken(s, why,
                          "corrupt: chunk %" PRId32 " of %" PRId32 "%s says it is tile (%" PRId32
                          ", %" PRId32 ") of level (%" PRId32 ", %" PRId32
                          "), which the part does not have",
                          r->index + 1, r->count, ip, tx, ty, lx, ly);
        at += 16;
    }
    if (p->storage == EXR_STORAGE_DEEP_SCANLINE || p->storage == EXR_STORAGE_DEEP_TILED) {
        uint64_t table = le64(b + at), packed = le64(b + at + 8);
        if (table > size || packed > size)
            data = size + 1;
        else
            data = table + packed;
    } else {
        int32_t packed = (int32_t)le32(b + at);
        if (packed < 0)
            return broken(s, why, "corrupt: chunk %" PRId32 " of %" PRId32 "%s has a negative size",
                          r->index + 1, r->count, ip);
        data = (uint64_t)packed;
    }
    if (data > size - off - lb)
        return broken(s, why,
                      "truncated: chunk %" PRId32 " of %" PRId32 "%s ends at byte %" PRIu64
                      ", file has %" PRIu64 " bytes",
                      r->index + 1, r->count, ip, off + lb + data, size);
    return FERRY_OK;
}

/* A tiled part's levels, and how many tiles each level has across and down. */
static int read_tiles(exr_src *s, exr_context_t ctx, int i, part_info *p, char **why)
{
    uint32_t tw, th;
    exr_tile_level_mode_t mode;
    exr_tile_round_mode_t round;

    if (exr_get_tile_descriptor(ctx, i, &tw, &th, &mode, &round) != EXR_ERR_SUCCESS || !tw || !th ||
        exr_get_tile_levels(ctx, i, &p->levels_x, &p->levels_y) != EXR_ERR_SUCCESS ||
        p->levels_x < 1 || p->levels_x > LEVELS_MAX || p->levels_y < 1 || p->levels_y > LEVELS_MAX)
        return broken(s, why, "header: part %d has no tile levels", i);
    p->mipmap = mode == EXR_TILE_MIPMAP_LEVELS;
    for (int l = 0; l < p->levels_x; l++) {
        int32_t w;
        if (exr_get_level_sizes(ctx, i, l, p->mipmap ? l : 0, &w, NULL) != EXR_ERR_SUCCESS || w < 1)
            return broken(s, why, "header: part %d has no size at level %d", i, l);
        p->tiles_x[l] = (int32_t)(((uint64_t)w + tw - 1) / tw);
    }
    for (int l = 0; l < p->levels_y; l++) {
        int32_t h;
        if (exr_get_level_sizes(ctx, i, p->mipmap ? l : 0, l, NULL, &h) != EXR_ERR_SUCCESS || h < 1)
            return broken(s, why, "header: part %d has no size at level %d", i, l);
        p->tiles_y[l] = (int32_t)(((uint64_t)h + th - 1) / th);
    }
    return FERRY_OK;
}

/* Reads the parts' geometry from the parsed header. */
static int read_parts(exr_src *s, exr_context_t ctx, part_info *parts, int nparts, char **why)
{
    for (int i = 0; i < nparts; i++) {
        part_info *p = &parts[i];
        exr_attr_box2i_t dw;

        if (exr_get_storage(ctx, i, &p->storage) != EXR_ERR_SUCCESS ||
            exr_get_chunk_count(ctx, i, &p->count) != EXR_ERR_SUCCESS || p->count <= 0)
            return broken(s, why, "header: part %d has no chunk count (%s)", i,
                          s->lib_msg[0] ? s->lib_msg : "no image data");
        if (exr_get_name(ctx, i, &p->name) != EXR_ERR_SUCCESS)
            p->name = NULL;
        p->first_y = 0;
        p->lines = 1;
        if (p->storage == EXR_STORAGE_SCANLINE || p->storage == EXR_STORAGE_DEEP_SCANLINE) {
            if (exr_get_data_window(ctx, i, &dw) != EXR_ERR_SUCCESS ||
                exr_get_scanlines_per_chunk(ctx, i, &p->lines) != EXR_ERR_SUCCESS || p->lines < 1)
                return broken(s, why, "header: part %d has no data window", i);
            p->first_y = dw.min.y;
        } else if (is_tiled(p->storage)) {
            int rc = read_tiles(s, ctx, i, p, why);
            if (rc)
                return rc;
        }
    }
    return FERRY_OK;
}

/* Reads every part's chunk table, in blocks, and checks each chunk. */
static int check_chunks(exr_src *s, const part_info *parts, int nparts, bool multipart,
                        uint64_t tables_end, uint64_t at, char **why)
{
    unsigned char b[TABLE_BLOCK * 8];

    for (int i = 0; i < nparts; i++) {
        chunk_ref r = {
            .part = i, .nparts = nparts, .part_name = parts[i].name, .count = parts[i].count};
        for (int32_t c = 0; c < parts[i].count; c += TABLE_BLOCK) {
            size_t n =
                (size_t)(parts[i].count - c < TABLE_BLOCK ? parts[i].count - c : TABLE_BLOCK);
            int64_t got = read_at(s, at, b, n * 8);
            int rc;

            if (got < 0)
                return read_failed(s);
            if ((size_t)got < n * 8) /* the file shrank since it was measured */
                return broken(s, why, "truncated: the chunk table ends past the end of the file");
            for (size_t k = 0; k < n; k++) {
                r.index = c + (int32_t)k;
                if (read_group(s, b, k, n, leader_bytes(parts[i].storage, multipart)) < 0)
                    return read_failed(s);
                rc = check_chunk(s, &parts[i], &r, multipart, le64(b + 8 * k), tables_end, why);
                if (rc)
                    return rc;
            }
            at += n * 8;
        }
    }
    return FERRY_OK;
}

/* Parses the header with OpenEXRCore into *ctx; FERRY_EINVAL with its message. */
static int parse_header(exr_src *s, exr_context_t *ctx, char **why)
{
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    exr_result_t er;

    init.error_handler_fn = exr_error_cb;
    init.user_data = s;
    init.read_fn = exr_read_cb;
    init.size_fn = exr_size_cb;
    /* Never rebuild a broken chunk table: it is what we report. */
    init.flags = EXR_CONTEXT_FLAG_DISABLE_CHUNK_RECONSTRUCTION;
    *ctx = NULL;
    er = exr_start_read(ctx, s->name, &init);
    if (er == EXR_ERR_SUCCESS)
        return FERRY_OK;
    if (*ctx)
        exr_finish(ctx);
    if (s->read_errno)
        return read_failed(s);
    if (er == EXR_ERR_OUT_OF_MEMORY)
        return ferry__error(FERRY_ENOMEM, "check '%s': out of memory", s->name);
    return broken(s, why, "header: %s",
                  s->lib_msg[0] ? s->lib_msg : exr_get_default_error_message(er));
}

/* The parts' chunk tables start at header_end, one after the other. */
static int check_tables(exr_src *s, exr_context_t ctx, bool multipart, uint64_t header_end,
                        int walked_parts, char **why)
{
    part_info *parts = NULL;
    uint64_t total = 0, tables_end;
    int nparts = 0, rc;

    if (exr_get_count(ctx, &nparts) != EXR_ERR_SUCCESS || nparts < 1)
        return broken(s, why, "header: no parts");
    if (nparts != walked_parts)
        return broken(s, why, "header: %d parts by its layout, %d by its attributes", walked_parts,
                      nparts);
    if (!(parts = calloc((size_t)nparts, sizeof(*parts))))
        return ferry__error(FERRY_ENOMEM, "check '%s': out of memory", s->name);
    if ((rc = read_parts(s, ctx, parts, nparts, why)))
        goto out;
    for (int i = 0; i < nparts; i++)
        total += (uint64_t)parts[i].count;
    tables_end = header_end + 8 * total;
    if (tables_end > (uint64_t)s->size) {
        rc = broken(s, why,
                    "truncated: the chunk table ends at byte %" PRIu64 ", file has %" PRId64
                    " bytes",
                    tables_end, s->size);
        goto out;
    }
    rc = check_chunks(s, parts, nparts, multipart, tables_end, header_end, why);
out:
    free(parts);
    return rc;
}

/* The magic number, the header's end, OpenEXRCore's parse, then the chunks. */
static int check_src(exr_src *s, char **why)
{
    char msg[256] = "";
    uint64_t header_end = 0;
    exr_context_t ctx;
    bool multipart;
    int walked, nparts = 0, rc;

    if (s->wlen == 0)
        return broken(s, why, "empty file");
    if (memcmp(s->win, magic, s->wlen < 4 ? s->wlen : 4))
        return broken(s, why, "not an EXR file: bad magic number");
    if (s->wlen < 8)
        return broken(s, why, "truncated: the header is cut short, file has %zu bytes", s->wlen);
    multipart = le32(s->win + 4) & FLAG_MULTIPART;
    walked = walk_header(s, multipart, &header_end, &nparts, msg, sizeof(msg));
    if (walked == FERRY_EOS)
        return read_failed(s);
    if (walked == 1 && msg[0])
        return broken(s, why, "%s", msg);
    if (walked == 1)
        return broken(s, why, "truncated: the header is cut short, file has %" PRId64 " bytes",
                      s->size);
    /* On a header off the layout, OpenEXRCore's word comes first; ours if it has none. */
    if ((rc = parse_header(s, &ctx, why)))
        return rc;
    if (walked)
        rc = broken(s, why, "header: %s", msg);
    else
        rc = check_tables(s, ctx, multipart, header_end, nparts, why);
    exr_finish(&ctx);
    return rc;
}

int ferry_exr_check_fd(int fd, const char *name, char **why)
{
    exr_src s = {.fd = fd, .name = name ? name : "descriptor"};
    struct stat st;
    int64_t got;
    int rc;

    if (why)
        *why = NULL;
    if (fstat(fd, &st) < 0)
        return ferry__error_os(FERRY_EOS, errno, "stat '%s'", s.name);
    if (S_ISDIR(st.st_mode))
        return broken(&s, why, "a directory, not a file");
    s.size = st.st_size;
    if (s.size > 0 && !(s.win = malloc(s.size < WINDOW ? (size_t)s.size : WINDOW)))
        return ferry__error(FERRY_ENOMEM, "check '%s': out of memory", s.name);
    if (s.win) {
        if ((got = read_at(&s, 0, s.win, s.size < WINDOW ? (size_t)s.size : WINDOW)) < 0) {
            rc = read_failed(&s);
            goto out;
        }
        s.wlen = (size_t)got;
        /* A file that shrank since fstat: judge what is there. */
        if ((int64_t)s.wlen < s.size && s.wlen < WINDOW)
            s.size = (int64_t)s.wlen;
    }
    rc = check_src(&s, why);
out:
    free(s.win);
    free(s.grp);
    return rc;
}

int ferry_exr_check_path(const char *path, char **why)
{
    int fd, rc, crc;

    if (why)
        *why = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
        return ferry__error_os(ferry__code_of_errno(errno), errno, "open '%s'", path);
    rc = ferry_exr_check_fd(fd, path, why);
    if ((crc = ferry__close(fd)) < 0 && rc == FERRY_OK)
        rc = ferry__error_os(FERRY_EOS, -crc, "close '%s'", path);
    return rc;
}
