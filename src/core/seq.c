/*
 * core/seq.c: frame sets, patterns and grouping; see ferry/seq.h and
 * docs/sequences.md for the rules and the ambiguous cases.
 */
#define _GNU_SOURCE
#include "ferry/seq.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/error.h"
#include "util/array.h"
#include "util/str.h"

#define MAX_DIGITS 18 /* frames fit an int64_t with room to add a step */

/* --- frame sets ---------------------------------------------------------------- */

void ferry_frameset_init(ferry_frameset *fs)
{
    fs->r = NULL;
    fs->n = fs->cap = 0;
}

void ferry_frameset_release(ferry_frameset *fs)
{
    free(fs->r);
    ferry_frameset_init(fs);
}

static int push(ferry_frameset *fs, int64_t start, int64_t end, int64_t step)
{
    if (ferry__grow(&fs->r, &fs->cap, fs->n + 1, sizeof(*fs->r), 4))
        return ferry__error(FERRY_ENOMEM, "out of memory");
    fs->r[fs->n++] = (ferry_frange){start, end, step};
    return FERRY_OK;
}

int ferry_frameset_add(ferry_frameset *fs, int64_t f)
{
    ferry_frange *last = fs->n ? &fs->r[fs->n - 1] : NULL;

    if (last && f > last->end) {
        if (last->start == last->end) { /* a single frame becomes a run of two */
            last->step = f - last->start;
            last->end = f;
            return FERRY_OK;
        }
        if (f == last->end + last->step) {
            last->end = f;
            return FERRY_OK;
        }
        if (f == last->end + 1 && last->end - last->start == last->step) {
            /* A pair made of two lone frames (11,13) followed by the next
             * frame (14): 11 stays alone and 13-14 starts a run, as the set
             * would be written by hand (1-9,11,13-20, not 1-9,11-13x2,14-20). */
            int64_t end = last->end;
            last->end = last->start;
            last->step = 1;
            return push(fs, end, f, 1);
        }
    }
    if (last && f <= last->end && ferry_frameset_contains(fs, f))
        return FERRY_OK;
    return push(fs, f, f, 1);
}

/* Reads an optionally negative integer of at most MAX_DIGITS digits. */
static const char *read_int(const char *p, int64_t *out)
{
    bool neg = false;
    int64_t v = 0;
    int digits = 0;

    if (*p == '-') {
        neg = true;
        p++;
    }
    while (isdigit((unsigned char)*p)) {
        if (++digits > MAX_DIGITS)
            return NULL;
        v = v * 10 + (*p++ - '0');
    }
    if (!digits)
        return NULL;
    *out = neg ? -v : v;
    return p;
}

/* A range of consecutive frames (a single frame is one). */
static bool is_run(const ferry_frange *r)
{
    return r->step == 1 || r->start == r->end;
}

/* By first frame; at the same one, runs first, then the longer. */
static int range_cmp(const void *a, const void *b)
{
    const ferry_frange *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (is_run(x) != is_run(y))
        return is_run(x) ? -1 : 1;
    return x->end > y->end ? -1 : x->end < y->end;
}

/* Extended Euclid over __int128: g = gcd(a, b) = a*x + b*y. */
static __int128 egcd(__int128 a, __int128 b, __int128 *x, __int128 *y)
{
    __int128 x1, y1, g;

    if (b == 0) {
        *x = 1;
        *y = 0;
        return a;
    }
    g = egcd(b, a % b, &x1, &y1);
    *x = y1;
    *y = x1 - (a / b) * y1;
    return g;
}

/* Whether ranges a and b share a frame (*f: the first one): the frames
 * common to both progressions are one progression (Chinese remainders),
 * whose first frame inside both spans is looked for. */
static bool share_frame(const ferry_frange *a, const ferry_frange *b, int64_t *f)
{
    int64_t lo = a->start > b->start ? a->start : b->start;
    int64_t hi = a->end < b->end ? a->end : b->end;
    __int128 x, y, g, l, x0, d = (__int128)b->start - a->start;

    if (lo > hi)
        return false;
    g = egcd(a->step, b->step, &x, &y);
    if (d % g != 0)
        return false;
    l = (__int128)a->step / g * b->step;
    /* x0 = a.start + a.step * (d/g * x mod b.step/g) */
    __int128 m = (__int128)b->step / g, t = (d / g % m) * (x % m) % m;
    if (t < 0)
        t += m;
    x0 = a->start + (__int128)a->step * t;
    if (x0 < lo)
        x0 += ((lo - x0) + l - 1) / l * l;
    else
        x0 -= (x0 - lo) / l * l;
    if (x0 > hi)
        return false;
    *f = (int64_t)x0;
    return true;
}

/*
 * Sorts the ranges, merges the runs that touch or overlap, drops a single
 * frame already in another range, and refuses any other frame given twice:
 * the set holds each frame once, so its count is the number of frames.
 */
static int normalise(ferry_frameset *fs, const char *text)
{
    size_t out = 0;

    qsort(fs->r, fs->n, sizeof(*fs->r), range_cmp);
    for (size_t i = 0; i < fs->n; i++) {
        ferry_frange *prev = out ? &fs->r[out - 1] : NULL, cur = fs->r[i], add = cur;
        bool merge = prev && is_run(prev) && is_run(&cur) && cur.start <= prev->end + 1;
        bool dup = false;
        int64_t f;
        if (merge) {
            if (cur.end <= prev->end)
                continue; /* nothing new */
            add = (ferry_frange){prev->end + 1, cur.end, 1};
        }
        /* The frames it adds, against every range kept (prev cannot hold them). */
        for (size_t k = 0; k + (merge ? 1 : 0) < out && !dup; k++)
            dup = fs->r[k].end >= add.start && share_frame(&fs->r[k], &add, &f);
        if (dup && cur.start == cur.end)
            continue;
        if (dup)
            return ferry__error(FERRY_EINVAL, "invalid frame set '%s': frame %" PRId64
                                " is given twice", text, f);
        if (merge) {
            prev->step = 1;
            prev->end = cur.end;
        } else {
            fs->r[out++] = cur;
        }
    }
    fs->n = out;
    return FERRY_OK;
}

int ferry_frameset_parse(const char *s, ferry_frameset *out)
{
    const char *p = s;

    ferry_frameset_init(out);
    if (!s || !*s)
        return ferry__error(FERRY_EINVAL, "empty frame set");
    for (;;) {
        int64_t a, b, step = 1;
        while (*p == ' ')
            p++;
        if (!(p = read_int(p, &a)))
            goto bad;
        b = a;
        if (*p == '-') {
            if (!(p = read_int(p + 1, &b)) || b < a)
                goto bad;
            if (*p == 'x' || *p == ':') {
                if (!(p = read_int(p + 1, &step)) || step < 1)
                    goto bad;
            }
        }
        b = a + (b - a) / step * step;
        if (b == a)
            step = 1;
        if (push(out, a, b, step))
            return FERRY_ENOMEM;
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (*p++ != ',')
            goto bad;
    }
    if (normalise(out, s) != FERRY_OK) {
        ferry_frameset_release(out);
        return FERRY_EINVAL;
    }
    return FERRY_OK;
bad:
    ferry_frameset_release(out);
    return ferry__error(FERRY_EINVAL,
                        "invalid frame set '%s': expected frames like 1001-1100, 1001-1100x2 or "
                        "1,5,10-20",
                        s);
}

char *ferry_frameset_format(const ferry_frameset *fs)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    for (size_t i = 0; i < fs->n; i++) {
        const ferry_frange *r = &fs->r[i];
        if (i)
            fputc(',', f);
        if (r->start == r->end)
            fprintf(f, "%" PRId64, r->start);
        else if (r->step == 1)
            fprintf(f, "%" PRId64 "-%" PRId64, r->start, r->end);
        else if (r->end - r->start == r->step) /* two frames read better as a list */
            fprintf(f, "%" PRId64 ",%" PRId64, r->start, r->end);
        else
            fprintf(f, "%" PRId64 "-%" PRId64 "x%" PRId64, r->start, r->end, r->step);
    }
    fclose(f);
    return buf;
}

uint64_t ferry_frameset_count(const ferry_frameset *fs)
{
    uint64_t n = 0;

    for (size_t i = 0; i < fs->n; i++)
        n += (uint64_t)((fs->r[i].end - fs->r[i].start) / fs->r[i].step) + 1;
    return n;
}

bool ferry_frameset_contains(const ferry_frameset *fs, int64_t f)
{
    for (size_t i = 0; i < fs->n; i++) {
        const ferry_frange *r = &fs->r[i];
        if (f >= r->start && f <= r->end && (f - r->start) % r->step == 0)
            return true;
    }
    return false;
}

/* Ranges sorted by start, each beginning after the previous one's end: what
 * frames added in increasing order make, and what a binary search needs. */
static bool is_ordered(const ferry_frameset *fs)
{
    for (size_t i = 1; i < fs->n; i++)
        if (fs->r[i].start <= fs->r[i - 1].end)
            return false;
    return true;
}

/* ferry_frameset_contains for an ordered set: O(log n) instead of O(n). */
static bool contains_ordered(const ferry_frameset *fs, int64_t f)
{
    size_t lo = 0, hi = fs->n; /* find the last range that starts at or before f */

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fs->r[mid].start <= f)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    const ferry_frange *r = &fs->r[lo - 1];
    return f <= r->end && (f - r->start) % r->step == 0;
}

/* Every frame of want is looked up in have: a directory of 100,000 frames with
 * thousands of gaps has thousands of ranges, so the lookup is a binary search
 * whenever have is ordered (it always is when read from a directory). */
int ferry_frameset_missing(const ferry_frameset *want, const ferry_frameset *have,
                           ferry_frameset *out)
{
    bool ordered = is_ordered(have);

    ferry_frameset_init(out);
    for (size_t i = 0; i < want->n; i++) {
        const ferry_frange *r = &want->r[i];
        for (int64_t f = r->start; f <= r->end; f += r->step) {
            bool has = ordered ? contains_ordered(have, f) : ferry_frameset_contains(have, f);
            if (!has && ferry_frameset_add(out, f))
                return FERRY_ENOMEM;
        }
    }
    return FERRY_OK;
}

/* --- patterns -------------------------------------------------------------------- */

void ferry_pattern_release(ferry_pattern *p)
{
    free(p->head);
    free(p->tail);
    p->head = p->tail = NULL;
}

/* The padding written in the digits [p, end): at most 99 (over MAX_DIGITS,
 * refused by the caller); atoi would overflow on "$F2201208808". */
static int read_pad(const char *p, const char *end)
{
    int v = 0;

    for (; p < end; p++)
        v = v >= 10 ? 99 : v * 10 + (*p - '0');
    return v;
}

/* Finds the frame token in s: [*b, *e) and its padding; false when none. */
static bool find_token(const char *s, const char **b, const char **e, int *pad)
{
    const char *base = strrchr(s, '/');
    base = base ? base + 1 : s;
    for (const char *p = s + strlen(s); p-- > base;) {
        if (*p == '#' || *p == '@') {
            const char *q = p;
            while (q > base && q[-1] == *p)
                q--;
            int k = (int)(p - q + 1);
            *b = q;
            *e = p + 1;
            /* '@' is one digit each; '#' too, except that a lone '#' is four
             * (fileseq's habit), so pad 1 is written '@'. */
            *pad = *p == '@' ? k : (k == 1 ? 4 : k);
            return true;
        }
        if (*p == 'd' && p > base) {
            const char *q = p - 1;
            while (q > base && isdigit((unsigned char)*q))
                q--;
            if (*q == '%') {
                *b = q;
                *e = p + 1;
                *pad = read_pad(q + 1, p);
                return true;
            }
        }
        if (*p == 'F' && p > base && p[-1] == '$') {
            const char *q = p + 1;
            while (isdigit((unsigned char)*q))
                q++;
            *b = p - 1;
            *e = q;
            *pad = read_pad(p + 1, q);
            return true;
        }
    }
    return false;
}

int ferry_pattern_parse(const char *s, ferry_pattern *out)
{
    const char *b, *e;
    int pad;

    out->head = out->tail = NULL;
    if (!s || !find_token(s, &b, &e, &pad))
        return ferry__error(FERRY_EINVAL,
                            "'%s' is not a sequence pattern: expected a frame such as ####, @@@@, "
                            "%%04d or $F4",
                            s ? s : "");
    if (pad > MAX_DIGITS)
        return ferry__error(FERRY_EINVAL, "'%s': padding over %d digits", s, MAX_DIGITS);
    out->head = strndup(s, (size_t)(b - s));
    out->tail = strdup(e);
    out->pad = pad;
    if (!out->head || !out->tail) {
        ferry_pattern_release(out);
        return ferry__error(FERRY_ENOMEM, "out of memory");
    }
    return FERRY_OK;
}

char *ferry_pattern_format(const ferry_pattern *p, char style)
{
    char tok[32];
    int pad = p->pad;

    switch (style) {
    case '%':
        snprintf(tok, sizeof(tok), pad ? "%%0%dd" : "%%d", pad);
        break;
    case '$':
        snprintf(tok, sizeof(tok), pad ? "$F%d" : "$F", pad);
        break;
    default:
        if (pad <= 1 || style == '@') {
            int k = pad ? pad : 1;
            memset(tok, '@', (size_t)k);
            tok[k] = '\0';
        } else {
            memset(tok, '#', (size_t)pad);
            tok[pad] = '\0';
        }
    }
    return ferry__strfmt("%s%s%s", p->head, tok, p->tail);
}

char *ferry_pattern_frame(const ferry_pattern *p, int64_t frame)
{
    if (frame < 0)
        return ferry__strfmt("%s-%0*" PRId64 "%s", p->head, p->pad, -frame, p->tail);
    return ferry__strfmt("%s%0*" PRId64 "%s", p->head, p->pad, frame, p->tail);
}

/* Reads the digits of a frame at s (sign included); width and leading zero out. */
static const char *read_frame(const char *s, int64_t *frame, int *width, bool *lead0)
{
    const char *d = *s == '-' ? s + 1 : s, *p = read_int(s, frame);

    if (!p)
        return NULL;
    *width = (int)(p - d);
    *lead0 = *width > 1 && *d == '0';
    return p;
}

/* A frame of padding `pad` is written with exactly pad digits, or more
 * without a leading zero (pad 3: 999, 1000); pad 0 never has a leading zero. */
static bool fits(int pad, int width, bool lead0)
{
    if (pad == 0)
        return !lead0;
    return width == pad || (width > pad && !lead0);
}

bool ferry_pattern_match(const ferry_pattern *p, const char *name, int64_t *frame)
{
    size_t hn = strlen(p->head), tn = strlen(p->tail), nn = strlen(name);
    char digits[MAX_DIGITS + 2];
    size_t dn;
    int width;
    bool lead0;

    if (nn < hn + tn + 1 || strncmp(name, p->head, hn) || strcmp(name + nn - tn, p->tail))
        return false;
    /* The frame is exactly what lies between head and tail (a tail may begin
     * with a digit: "a.####5.exr"). */
    dn = nn - tn - hn;
    if (dn >= sizeof(digits))
        return false;
    memcpy(digits, name + hn, dn);
    digits[dn] = '\0';
    const char *end = read_frame(digits, frame, &width, &lead0);
    return end == digits + dn && fits(p->pad, width, lead0);
}

/* --- grouping ---------------------------------------------------------------------- */

typedef struct {
    size_t idx;     /* into names */
    const char *name;
    size_t hlen;    /* head is name[0..hlen) */
    const char *tail;
    int64_t frame;
    int width;
    bool lead0;
    int pad;        /* assigned */
} cand;

/* Splits a name into head, frame and tail; false when it has no frame. */
static bool split_name(const char *name, cand *c)
{
    const char *dot = strrchr(name, '.'), *d, *start;

    if (!dot || dot == name)
        dot = name + strlen(name); /* no extension: the frame ends the name */
    d = dot;
    while (d > name && isdigit((unsigned char)d[-1]))
        d--;
    if (d == dot || dot - d > MAX_DIGITS)
        return false;
    start = d;
    if (start > name + 1 && start[-1] == '-' &&
        (start[-2] == '.' || start[-2] == '_'))
        start--; /* a negative frame: "shot.-0005.exr" */
    if (start > name && start[-1] != '.' && start[-1] != '_' && start[-1] != '-')
        return false; /* "v003", "render1001": a version or part of a word */
    c->name = name;
    c->hlen = (size_t)(start - name);
    c->tail = dot;
    read_frame(start, &c->frame, &c->width, &c->lead0);
    return true;
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    size_t n = x->hlen < y->hlen ? x->hlen : y->hlen;
    int c = strncmp(x->name, y->name, n);

    if (c || x->hlen != y->hlen)
        return c ? c : (x->hlen < y->hlen ? -1 : 1);
    if ((c = strcmp(x->tail, y->tail)))
        return c;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static bool same_key(const cand *a, const cand *b)
{
    return a->hlen == b->hlen && !strncmp(a->name, b->name, a->hlen) && !strcmp(a->tail, b->tail);
}

void ferry_seqs_free(ferry_seq *seqs, size_t n)
{
    for (size_t i = 0; seqs && i < n; i++) {
        ferry_pattern_release(&seqs[i].pattern);
        ferry_frameset_release(&seqs[i].frames);
    }
    free(seqs);
}

/*
 * Padding within one head/tail group: a frame with a leading zero fixes its
 * width as the padding; a frame without one fits any padding up to its width.
 * Each candidate gets the widest fixed padding it fits, else (none fixed) the
 * narrowest width of the group; frames of different paddings are different
 * sequences ("1.exr" and "01.exr" are two files, not one frame twice).
 */
static void assign_pads(cand *g, size_t n)
{
    int fixed[8], nfixed = 0, narrow = 99;

    for (size_t i = 0; i < n; i++) {
        if (g[i].lead0) {
            bool seen = false;
            for (int k = 0; k < nfixed; k++)
                seen |= fixed[k] == g[i].width;
            if (!seen && nfixed < 8)
                fixed[nfixed++] = g[i].width;
        } else if (g[i].width < narrow) {
            narrow = g[i].width;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int best = -1;
        for (int k = 0; k < nfixed; k++)
            if (fits(fixed[k], g[i].width, g[i].lead0) && fixed[k] > best)
                best = fixed[k];
        g[i].pad = best >= 0 ? best : (narrow == 1 ? 0 : narrow);
    }
}

static int pad_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->pad != y->pad)
        return x->pad < y->pad ? -1 : 1;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static int idx_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int ferry_seq_group(const char *const *names, const uint64_t *sizes, size_t n, ferry_seq **seqs,
                    size_t *nseqs, size_t **singles, size_t *nsingles)
{
    cand *c = calloc(n ? n : 1, sizeof(*c));
    size_t nc = 0, cap_s = 0;
    int rc = FERRY_OK;

    *seqs = NULL;
    *nseqs = 0;
    *singles = calloc(n ? n : 1, sizeof(size_t));
    *nsingles = 0;
    if (!c || !*singles) {
        free(c);
        free(*singles);
        return ferry__error(FERRY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        c[nc].idx = i;
        if (split_name(names[i], &c[nc]))
            nc++;
        else
            (*singles)[(*nsingles)++] = i;
    }
    qsort(c, nc, sizeof(*c), cand_cmp);
    for (size_t i = 0; i < nc && !rc;) {
        size_t j = i + 1;
        while (j < nc && same_key(&c[i], &c[j]))
            j++;
        assign_pads(c + i, j - i);
        qsort(c + i, j - i, sizeof(*c), pad_cmp);
        for (size_t a = i; a < j && !rc;) {
            size_t b = a + 1;
            while (b < j && c[b].pad == c[a].pad)
                b++;
            if (b - a < 2) {
                (*singles)[(*nsingles)++] = c[a].idx;
            } else {
                if (ferry__grow(seqs, &cap_s, *nseqs + 1, sizeof(**seqs), 8)) {
                    rc = ferry__error(FERRY_ENOMEM, "out of memory");
                    break;
                }
                ferry_seq *s = &(*seqs)[(*nseqs)++];
                memset(s, 0, sizeof(*s));
                s->pattern.head = strndup(c[a].name, c[a].hlen);
                s->pattern.tail = strdup(c[a].tail);
                s->pattern.pad = c[a].pad;
                ferry_frameset_init(&s->frames);
                for (size_t k = a; k < b; k++) {
                    ferry_frameset_add(&s->frames, c[k].frame);
                    if (sizes)
                        s->bytes += sizes[c[k].idx];
                }
                if (!s->pattern.head || !s->pattern.tail)
                    rc = ferry__error(FERRY_ENOMEM, "out of memory");
            }
            a = b;
        }
        i = j;
    }
    free(c);
    qsort(*singles, *nsingles, sizeof(size_t), idx_cmp); /* in the order given */
    if (rc) {
        ferry_seqs_free(*seqs, *nseqs);
        free(*singles);
        *seqs = NULL;
        *singles = NULL;
        *nseqs = *nsingles = 0;
    }
    return rc;
}

/* --- scanning a directory ------------------------------------------------------------ */

void ferry_seq_listing_release(ferry_seq_listing *l)
{
    ferry_seqs_free(l->seqs, l->nseqs);
    for (size_t i = 0; i < l->nfiles; i++)
        free(l->files[i]);
    for (size_t i = 0; i < l->ndirs; i++)
        free(l->dirs[i]);
    free(l->files);
    free(l->file_bytes);
    free(l->dirs);
    memset(l, 0, sizeof(*l));
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ferry_seq_scan(const char *dir, ferry_seq_listing *out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    uint64_t *sizes = NULL;
    size_t n = 0, cap = 0, *singles = NULL, nsingles = 0;
    int rc = FERRY_OK;

    memset(out, 0, sizeof(*out));
    if (!d)
        return ferry__error_os(ferry__code_of_errno(errno), errno, "list '%s'", dir);
    out->dirs = NULL;
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* vanished meanwhile */
        if (S_ISDIR(st.st_mode)) {
            char **p = realloc(out->dirs, (out->ndirs + 1) * sizeof(char *));
            if (!p || !(p[out->ndirs] = strdup(de->d_name))) {
                if (p)
                    out->dirs = p;
                rc = FERRY_ENOMEM;
                break;
            }
            out->dirs = p;
            out->ndirs++;
            continue;
        }
        if (n == cap) {
            size_t scap = cap;
            if (ferry__grow(&names, &cap, n + 1, sizeof(char *), 256) ||
                ferry__grow(&sizes, &scap, n + 1, sizeof(uint64_t), 256)) {
                rc = FERRY_ENOMEM;
                break;
            }
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = FERRY_ENOMEM;
            break;
        }
        sizes[n++] = (uint64_t)st.st_size;
    }
    closedir(d);
    if (!rc)
        rc = ferry_seq_group((const char *const *)names, sizes, n, &out->seqs, &out->nseqs,
                             &singles, &nsingles);
    if (!rc) {
        out->files = calloc(nsingles ? nsingles : 1, sizeof(char *));
        out->file_bytes = calloc(nsingles ? nsingles : 1, sizeof(uint64_t));
        if (!out->files || !out->file_bytes)
            rc = FERRY_ENOMEM;
        for (size_t i = 0; !rc && i < nsingles; i++) {
            out->files[i] = names[singles[i]];
            out->file_bytes[i] = sizes[singles[i]];
            names[singles[i]] = NULL;
            out->nfiles++;
        }
        if (out->dirs)
            qsort(out->dirs, out->ndirs, sizeof(char *), str_cmp);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(sizes);
    free(singles);
    if (rc) {
        ferry_seq_listing_release(out);
        return ferry__error(rc, "out of memory listing '%s'", dir);
    }
    return FERRY_OK;
}

/*
 * k > 1 when every run of frames advances by k and every frame lies on
 * first + i * k (1-99x2; 1-49x2,53-99x2 with 51 missing), else 1. One run of
 * step 1 makes a step-1 sequence with gaps even when other ranges are
 * stepped: frames added in order pair lone frames into stepped ranges
 * (1-9, 11, 13, 15, 16-20 is stored 1-9,11-15x2,16-20), and 10, 12 and 14
 * are missing all the same.
 */
int64_t ferry_seq_step(const ferry_frameset *fs)
{
    int64_t k = 0;

    for (size_t i = 0; i < fs->n; i++) {
        const ferry_frange *r = &fs->r[i];
        if (r->start == r->end)
            continue;
        if (r->step == 1 || (k && r->step != k))
            return 1;
        k = r->step;
    }
    if (!k)
        return 1;
    for (size_t i = 1; i < fs->n; i++)
        if ((fs->r[i].start - fs->r[0].start) % k)
            return 1;
    return k;
}

int ferry_seq_missing(const ferry_seq *s, ferry_frameset *out)
{
    ferry_frameset all;
    int rc;

    ferry_frameset_init(out);
    if (s->frames.n <= 1)
        return FERRY_OK; /* one range: complete, or stepped on purpose */
    ferry_frameset_init(&all);
    if ((rc = push(&all, s->frames.r[0].start, s->frames.r[s->frames.n - 1].end,
                   ferry_seq_step(&s->frames))))
        return rc;
    rc = ferry_frameset_missing(&all, &s->frames, out);
    ferry_frameset_release(&all);
    return rc;
}
