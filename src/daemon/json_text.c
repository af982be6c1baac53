/* daemon/json_text.c: JSON text written by hand (json_text.h). */
#include "json_text.h"

#include <string.h>

/* The length of the valid UTF-8 sequence of 2 to 4 bytes at p, or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    size_t k = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
    uint32_t cp;

    if (p[0] < 0xc2 || p[0] > 0xf4 || (size_t)(end - p) < k)
        return 0;
    cp = p[0] & (0x7fu >> k);
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

/* The letter of each control byte's short escape, where JSON has one. */
static const char short_escape[0x20] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};

size_t json_quote(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    char *o = out;

    if (!s)
        goto null;
    *o++ = '"';
    while (p < end) {
        unsigned char c = *p;
        size_t k;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            *o++ = (char)c;
            p++;
            continue;
        }
        if (c >= 0x80) {
            if (!(k = utf8_seq(p, end)))
                goto null;
            memcpy(o, p, k);
            o += k;
            p += k;
            continue;
        }
        *o++ = '\\';
        if (c == '"' || c == '\\') {
            *o++ = (char)c;
        } else if (short_escape[c]) {
            *o++ = short_escape[c];
        } else {
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
        p++;
    }
    *o++ = '"';
    return (size_t)(o - out);
null:
    memcpy(out, "null", 4);
    return 4;
}

static size_t quoted_max(const char *s)
{
    return s ? JSON_QUOTE_MAX(strlen(s)) : 4;
}

size_t json_file_message_max(const json_file_result *r)
{
    return sizeof("{\"type\":\"file\",\"job_id\":,\"path\":,\"dest\":,\"state\":,\"error\":,"
                  "\"bytes\":}") +
           quoted_max(r->job_id) + quoted_max(r->path) + quoted_max(r->dest) +
           quoted_max(r->state) + quoted_max(r->error) + 20;
}

/* Appends the literal text lit, then s quoted. */
static char *field(char *o, const char *lit, size_t litlen, const char *s)
{
    memcpy(o, lit, litlen);
    o += litlen;
    return o + json_quote(o, s, s ? strlen(s) : 0);
}
#define FIELD(o, lit, s) field(o, lit, sizeof(lit) - 1, s)

size_t json_file_message(char *out, const json_file_result *r)
{
    char digits[20], *o = out;
    size_t nd = 0;
    uint64_t b = r->bytes;

    o = FIELD(o, "{\"type\":\"file\",\"job_id\":", r->job_id);
    o = FIELD(o, ",\"path\":", r->path);
    o = FIELD(o, ",\"dest\":", r->dest);
    o = FIELD(o, ",\"state\":", r->state);
    o = FIELD(o, ",\"error\":", r->error);
    memcpy(o, ",\"bytes\":", 9);
    o += 9;
    do {
        digits[nd++] = (char)('0' + b % 10);
        b /= 10;
    } while (b);
    while (nd)
        *o++ = digits[--nd];
    *o++ = '}';
    return (size_t)(o - out);
}
