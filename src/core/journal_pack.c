/* core/journal_pack.c: packed per-file results; see journal_pack.h. */
#include "core/journal_pack.h"

#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "util/array.h"

enum { HAS_DEST = 1, HAS_MSG = 2 };

/* --- encoding ------------------------------------------------------------ */

void ferry__pack_init(ferry__pack *p)
{
    memset(p, 0, sizeof(*p));
}

void ferry__pack_clear(ferry__pack *p)
{
    unsigned char *data = p->data;
    size_t cap = p->cap;

    ferry__pack_init(p);
    p->data = data;
    p->cap = cap;
}

void ferry__pack_release(ferry__pack *p)
{
    free(p->data);
    ferry__pack_init(p);
}

static size_t put_varint(unsigned char *out, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

static size_t shared_len(const char *a, const char *b)
{
    size_t i = 0;

    if (!a || !b)
        return 0;
    while (a[i] && a[i] == b[i])
        i++;
    return i;
}

/* Writes "shared, len, suffix" of s (slen bytes) against prev to out; returns the bytes written. */
static size_t put_fronted(unsigned char *out, const char *s, size_t slen, const char *prev)
{
    size_t shared = shared_len(s, prev), n;

    n = put_varint(out, shared);
    n += put_varint(out + n, slen - shared);
    memcpy(out + n, s + shared, slen - shared);
    return n + slen - shared;
}

int ferry__pack_add(ferry__pack *p, const char *path, const char *dest, const char *msg,
                    uint64_t bytes, int64_t at_ms)
{
    size_t plen = strlen(path), dlen = dest ? strlen(dest) : 0, mlen = msg ? strlen(msg) : 0;
    /* the worst case: 10 bytes a varint, 8 varints, the format byte, the strings whole */
    size_t need = p->len + 1 + 8 * 10 + plen + dlen + mlen;
    int64_t delta;
    unsigned char *o;

    if (ferry__grow(&p->data, &p->cap, need, 1, 4096))
        return FERRY_ENOMEM;
    if (p->n == 0) {
        p->data[p->len++] = FERRY__PACK_FORMAT;
        p->first_at = p->prev_at = at_ms;
    }
    o = p->data + p->len;
    o += put_varint(o, (dest ? HAS_DEST : 0) | (msg ? HAS_MSG : 0));
    o += put_fronted(o, path, plen, p->prev_path);
    if (dest)
        o += put_fronted(o, dest, dlen, p->prev_dest);
    if (msg) {
        o += put_varint(o, mlen);
        memcpy(o, msg, mlen);
        o += mlen;
    }
    o += put_varint(o, bytes);
    delta = (int64_t)((uint64_t)at_ms - (uint64_t)p->prev_at); /* modulo 2^64, as read back */
    o += put_varint(o, ((uint64_t)delta << 1) ^ (uint64_t)(delta >> 63)); /* zigzag */
    p->len = (size_t)(o - p->data);
    p->n++;
    p->bytes += bytes;
    p->prev_at = at_ms;
    p->prev_path = path;
    p->prev_dest = dest;
    return FERRY_OK;
}

/* --- decoding ------------------------------------------------------------ */

void ferry__pack_reader_init(ferry__pack_reader *r, const void *blob, size_t len, int64_t at_ms)
{
    memset(r, 0, sizeof(*r));
    r->at = at_ms;
    if (!blob || len == 0) { /* SQLite gives an empty blob as NULL */
        r->state = 1;
        return;
    }
    r->p = blob;
    r->end = r->p + len;
    if (*r->p++ != FERRY__PACK_FORMAT)
        r->state = -1;
}

void ferry__pack_reader_release(ferry__pack_reader *r)
{
    free(r->path);
    free(r->dest);
    free(r->msg);
    memset(r, 0, sizeof(*r));
}

static int get_varint(ferry__pack_reader *r, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        unsigned char b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* Makes *buf hold need bytes. */
static int reserve(char **buf, size_t *cap, size_t need)
{
    return ferry__grow(buf, cap, need, 1, 256);
}

/* Reads "shared, len, suffix" onto the previous string buf[0..*len). */
static int get_fronted(ferry__pack_reader *r, char **buf, size_t *len, size_t *cap)
{
    uint64_t shared, rest;

    if (get_varint(r, &shared) || get_varint(r, &rest) || shared > *len ||
        rest > (uint64_t)(r->end - r->p) || reserve(buf, cap, shared + rest + 1))
        return -1;
    memcpy(*buf + shared, r->p, rest);
    r->p += rest;
    *len = shared + rest;
    (*buf)[*len] = '\0';
    return 0;
}

static int next_entry(ferry__pack_reader *r, ferry__pack_entry *e)
{
    uint64_t flags, mlen, bytes, zz;

    if (get_varint(r, &flags) || flags > (HAS_DEST | HAS_MSG) ||
        get_fronted(r, &r->path, &r->path_len, &r->path_cap))
        return -1;
    e->path = r->path;
    e->dest = NULL;
    e->msg = NULL;
    if (flags & HAS_DEST) {
        if (get_fronted(r, &r->dest, &r->dest_len, &r->dest_cap))
            return -1;
        e->dest = r->dest;
    } else {
        r->dest_len = 0; /* the next destination shares nothing with none */
    }
    if (flags & HAS_MSG) {
        if (get_varint(r, &mlen) || mlen > (uint64_t)(r->end - r->p) ||
            reserve(&r->msg, &r->msg_cap, mlen + 1))
            return -1;
        memcpy(r->msg, r->p, mlen);
        r->msg[mlen] = '\0';
        r->p += mlen;
        e->msg = r->msg;
    }
    if (get_varint(r, &bytes) || get_varint(r, &zz))
        return -1;
    r->at = (int64_t)((uint64_t)r->at + ((zz >> 1) ^ -(zz & 1))); /* zigzag, modulo 2^64 */
    e->bytes = bytes;
    e->at_ms = r->at;
    return 1;
}

int ferry__pack_next(ferry__pack_reader *r, ferry__pack_entry *e)
{
    if (r->state == 0 && r->p == r->end)
        r->state = 1;
    if (r->state != 0)
        return r->state > 0 ? 0 : -1;
    if (next_entry(r, e) < 0) {
        r->state = -1;
        return -1;
    }
    return 1;
}
