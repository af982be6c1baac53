/*
 * cli/quote.c: names shown quoted as GNU ls does on a terminal; see quote.h.
 *
 * The output is built in a dynamic buffer (a name is at most PATH_MAX but a
 * message is not bounded by us); each escaped byte takes at most 4 bytes and
 * each quote change 3, so 8 times the input plus a little always fits.
 */
#define _GNU_SOURCE
#include "quote.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slots[QUOTE_SLOTS];
static unsigned next_slot;

/* A fresh buffer of n bytes in the ring; frees the one it replaces. */
static char *slot(size_t n)
{
    char **s = &slots[next_slot++ % QUOTE_SLOTS];

    free(*s);
    *s = malloc(n);
    if (!*s) {
        fputs("ferry: out of memory\n", stderr);
        exit(1);
    }
    return *s;
}

/*
 * The length of the printable UTF-8 character at s (1 to 4), or 0 if the
 * byte at s must be escaped: a control (C0, DEL, C1), or not the start of
 * a well-formed sequence (overlong forms, surrogates and values past
 * U+10FFFF are not well formed).
 */
static size_t printable_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;

    if (c < 0x20 || c == 0x7F)
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0; /* overlong */
    else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    else if (c == 0xF0)
        lo = 0x90; /* overlong */
    else if (c == 0xF4)
        hi = 0x8F; /* past U+10FFFF */
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    if (c == 0xC2 && s[1] < 0xA0)
        return 0; /* C1 control, U+0080-U+009F */
    return n;
}

/* The escape of byte c as $'...' writes it: \n, \r, ... or \ooo. */
static char *put_escape(char *o, unsigned char c)
{
    static const char letters[] = "abtnvfr"; /* 7 to 13 */

    *o++ = '\\';
    if (c >= 7 && c <= 13) {
        *o++ = letters[c - 7];
    } else {
        *o++ = (char)('0' + (c >> 6));
        *o++ = (char)('0' + ((c >> 3) & 7));
        *o++ = (char)('0' + (c & 7));
    }
    return o;
}

/* Characters a shell takes as themselves anywhere in a word. */
static bool shell_safe(unsigned char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    if (c >= 0x80)
        return true; /* printable non-ASCII, checked by the caller */
    if (!first && (c == '#' || c == '~'))
        return true;
    return strchr("%+,-./:@_", c) != NULL;
}

static bool needs_quotes(const unsigned char *s)
{
    if (!*s)
        return true;
    for (size_t i = 0; s[i];) {
        size_t n = printable_len(s + i);
        if (!n || !shell_safe(s[i], i == 0))
            return true;
        i += n;
    }
    return false;
}

/* Writes s quoted to o; returns the end. Needs 8 * strlen(s) + 3 bytes. */
static char *put_quoted(char *o, const unsigned char *s)
{
    enum { NONE, PLAIN, DOLLAR } open = NONE;

    if (!*s) {
        *o++ = '\'';
        *o++ = '\'';
    }
    for (size_t i = 0; s[i];) {
        size_t n = printable_len(s + i);
        if (!n || s[i] == '\'') {
            if (open == PLAIN)
                *o++ = '\'';
            if (s[i] == '\'') {
                if (open == DOLLAR)
                    *o++ = '\'';
                *o++ = '\\';
                *o++ = '\'';
                open = NONE;
                i++;
                continue;
            }
            if (open != DOLLAR) {
                *o++ = '$';
                *o++ = '\'';
            }
            open = DOLLAR;
            o = put_escape(o, s[i++]);
            continue;
        }
        if (open == DOLLAR)
            *o++ = '\'';
        if (open != PLAIN)
            *o++ = '\'';
        open = PLAIN;
        memcpy(o, s + i, n);
        o += n;
        i += n;
    }
    if (open != NONE)
        *o++ = '\'';
    return o;
}

static const char *quote(const char *s, bool always)
{
    char *out, *end;

    if (!s)
        s = "";
    if (!always && !needs_quotes((const unsigned char *)s))
        return s;
    out = slot(strlen(s) * 8 + 3);
    end = put_quoted(out, (const unsigned char *)s);
    *end = '\0';
    return out;
}

const char *cli_quote(const char *s)
{
    return quote(s, false);
}

const char *cli_quote_always(const char *s)
{
    return quote(s, true);
}

/* At p, "'" + path + "'"? Returns its length, or 0. */
static size_t quoted_at(const char *p, const char *path)
{
    size_t n;

    if (!path || !*path || p[0] != '\'')
        return 0;
    n = strlen(path);
    return !strncmp(p + 1, path, n) && p[n + 1] == '\'' ? n + 2 : 0;
}

const char *cli_message(const char *msg, const char *path, const char *path2)
{
    size_t len, cap;
    char *out, *o;

    if (!msg)
        return "";
    len = strlen(msg);
    /* each byte escaped: 4; a known path quoted: 8 per byte + 3 */
    cap = len * 8 + 4;
    o = out = slot(cap);
    for (size_t i = 0; msg[i];) {
        const char *paths[2] = {path, path2};
        size_t q = 0;
        for (int k = 0; k < 2 && !q; k++)
            if ((q = quoted_at(msg + i, paths[k])))
                o = put_quoted(o, (const unsigned char *)paths[k]);
        if (q) {
            i += q;
            continue;
        }
        size_t n = printable_len((const unsigned char *)msg + i);
        if (!n) {
            o = put_escape(o, (unsigned char)msg[i++]);
            continue;
        }
        memcpy(o, msg + i, n);
        o += n;
        i += n;
    }
    *o = '\0';
    return out;
}
