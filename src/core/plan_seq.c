/*
 * core/plan_seq.c: sequence sources in a plan (docs/sequences.md).
 *
 * A source that names no file but reads as a pattern is a sequence:
 * "/shots/sh010/comp.####.exr" stands for the frames of that pattern in
 * /shots/sh010. Its frames land directly in the destination directory, named
 * by the destination pattern (the source's, with --pad's digits), numbered
 * by --renumber from its START in the order of the frames asked for (or
 * shifted, with --keep-step). Without --frames, the frames asked for are every
 * frame on disk, and the gaps between the first and the last are missing
 * (unless the frames on disk are stepped on purpose: 1001-1100x2).
 *
 * Frames are found by one read of the directory and matched against the
 * pattern; only the frames planned are stat'ed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plan.h"
#include "core/roots_priv.h"
#include "util/array.h"
#include "util/error.h"
#include "util/str.h"

/* At most this many frames asked for: sets are ranges, but finding the
 * missing frames walks them (a million frames is 11 hours at 24 fps). */
#define MAX_FRAMES_ASKED 1000000

typedef struct {
    int64_t frame;
    char *name;
} frame_file;

/* A source pattern as a directory and a pattern of names in it. */
typedef struct {
    char *dir;
    ferry_pattern names;
} seq_source;

static void seq_source_release(seq_source *s)
{
    free(s->dir);
    ferry_pattern_release(&s->names);
}

static int seq_source_parse(const char *src, seq_source *out)
{
    ferry_pattern p;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = ferry_pattern_parse(src, &p)))
        return rc;
    char *slash = strrchr(p.head, '/');
    if (slash) {
        out->dir = slash == p.head ? strdup("/") : strndup(p.head, (size_t)(slash - p.head));
        out->names.head = strdup(slash + 1);
    } else {
        out->dir = strdup(".");
        out->names.head = strdup(p.head);
    }
    out->names.tail = p.tail;
    out->names.pad = p.pad;
    p.tail = NULL;
    ferry_pattern_release(&p);
    if (!out->dir || !out->names.head) {
        seq_source_release(out);
        return ferry__error(FERRY_ENOMEM, "out of memory");
    }
    return FERRY_OK;
}

bool ferry__is_seq_source(const char *src)
{
    struct stat st;
    seq_source s;

    if (lstat(src, &st) == 0 || errno != ENOENT)
        return false;
    if (seq_source_parse(src, &s) != FERRY_OK)
        return false;
    seq_source_release(&s);
    return true;
}

static int cmp_frame(const void *a, const void *b)
{
    const frame_file *x = a, *y = b;
    return (x->frame > y->frame) - (x->frame < y->frame);
}

static void frames_free(frame_file *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* The frames of s on disk, sorted by number, and their set; -errno when the
 * directory cannot be read. One frame per number: the first name wins. */
static int scan_frames(const seq_source *s, const ferry_roots *roots, frame_file **out, size_t *n,
                       ferry_frameset *have)
{
    char **names = NULL;
    size_t nn = 0, cap = 0, k = 0;
    frame_file *v = NULL;
    int fd, err;

    *out = NULL;
    *n = 0;
    ferry_frameset_init(have);
    if ((fd = ferry__open_in(roots, s->dir, O_RDONLY | O_DIRECTORY, 0)) < 0)
        return -errno;
    if ((err = ferry__read_names(fd, &names, &nn)))
        return err;
    for (size_t i = 0; i < nn; i++) {
        int64_t f;
        if (!ferry_pattern_match(&s->names, names[i], &f))
            continue;
        if (ferry__grow(&v, &cap, k + 1, sizeof(*v), 64)) {
            err = -ENOMEM;
            break;
        }
        v[k].frame = f;
        v[k++].name = names[i];
        names[i] = NULL;
    }
    ferry__names_free(names, nn);
    if (err) {
        frames_free(v, k);
        return err;
    }
    if (k > 1)
        qsort(v, k, sizeof(*v), cmp_frame);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u > 0 && v[u - 1].frame == v[i].frame) {
            free(v[i].name);
            continue;
        }
        v[u++] = v[i];
        if (ferry_frameset_add(have, v[i].frame))
            err = -ENOMEM;
    }
    if (err) {
        frames_free(v, u);
        ferry_frameset_release(have);
        return err;
    }
    *out = v;
    *n = u;
    return 0;
}

/* Frames asked for and not on disk; without a set asked for, the gaps. */
static int missing_frames(const ferry_frameset *want, const ferry_frameset *have,
                          ferry_frameset *out)
{
    if (want)
        return ferry_frameset_missing(want, have, out);
    ferry_seq s = {.frames = *have};
    return ferry_seq_missing(&s, out);
}

static int parse_frames(const char *text, ferry_frameset *out)
{
    int rc;

    if ((rc = ferry_frameset_parse(text, out)))
        return ferry__error(rc, "--frames: %s", ferry_error_last());
    if (ferry_frameset_count(out) > MAX_FRAMES_ASKED) {
        ferry_frameset_release(out);
        return ferry__error(FERRY_EINVAL, "--frames '%s' asks for more than %d frames", text,
                            MAX_FRAMES_ASKED);
    }
    return FERRY_OK;
}

/* What --require-complete and --renumber need to know before the job starts. */
static int check_on_disk(ferry__target *t, const seq_source *s, const ferry_frameset *want,
                         const ferry_job_spec *spec)
{
    frame_file *v;
    size_t n;
    ferry_frameset have, missing;
    int err, rc = FERRY_OK;

    if ((err = scan_frames(s, spec->roots, &v, &n, &have)))
        return ferry__error_os(ferry__code_of_errno(-err), -err, "read directory '%s'", s->dir);
    frames_free(v, n);
    if (spec->renumber && spec->keep_step && !want && have.n)
        t->shift = spec->renumber_start - have.r[0].start;
    if (t->consecutive && !want && have.n) {
        /* Numbered in the frames asked for: those from the first to the last on
         * disk at their step, gaps included, so that a gap keeps its number. */
        ferry_frameset all = {0};
        ferry_frange r = {have.r[0].start, have.r[have.n - 1].end, ferry_seq_step(&have)};
        all.r = &r;
        all.n = 1;
        if (!(t->frames = ferry_frameset_format(&all)))
            rc = ferry__error(FERRY_ENOMEM, "out of memory");
    }
    if (spec->require_complete) {
        if (have.n == 0) {
            rc = ferry__error(FERRY_ENOTFOUND, "no frames of '%s' found", t->src);
        } else if ((rc = missing_frames(want, &have, &missing)) == FERRY_OK) {
            if (missing.n) {
                char *m = ferry_frameset_format(&missing);
                uint64_t k = ferry_frameset_count(&missing);
                rc = ferry__error(FERRY_EINVAL,
                                  "'%s': %" PRIu64 " frame%s missing: %s (--require-complete)",
                                  t->src, k, k == 1 ? "" : "s", m ? m : "?");
                free(m);
            }
            ferry_frameset_release(&missing);
        }
    }
    ferry_frameset_release(&have);
    return rc;
}

int ferry__seq_target(ferry__target *t, const char *src, const char *dest,
                      const ferry_job_spec *spec)
{
    seq_source s;
    ferry_frameset want;
    int rc;

    ferry_frameset_init(&want);
    if ((rc = seq_source_parse(src, &s)))
        return rc;
    ferry_pattern dp = s.names;
    if (spec->pad)
        dp.pad = spec->pad;
    t->seq = true;
    t->src = strdup(src);
    t->dest_dir = strdup(dest);
    t->dest_name = ferry_pattern_format(&dp, '%');
    if (!t->src || !t->dest_dir || !t->dest_name) {
        rc = ferry__error(FERRY_ENOMEM, "out of memory");
        goto out;
    }
    if (spec->frames) {
        if ((rc = parse_frames(spec->frames, &want)))
            goto out;
        if (!(t->frames = ferry_frameset_format(&want))) {
            rc = ferry__error(FERRY_ENOMEM, "out of memory");
            goto out;
        }
        if (spec->renumber && spec->keep_step && want.n)
            t->shift = spec->renumber_start - want.r[0].start;
    }
    if (spec->renumber && !spec->keep_step) {
        t->consecutive = true;
        t->shift = spec->renumber_start;
    }
    if (spec->require_complete || (spec->renumber && !spec->frames))
        rc = check_on_disk(t, &s, spec->frames ? &want : NULL, spec);
out:
    ferry_frameset_release(&want);
    seq_source_release(&s);
    return rc;
}

/*
 * The rank of frame f among the frames of fs (0 for its first), f being one of
 * them: ranges are in order, and so are the frames asked for, so a cursor
 * (*ri, *before: the range, and the count of frames in the ranges before it)
 * moves forward only.
 */
static uint64_t frame_rank(const ferry_frameset *fs, int64_t f, size_t *ri, uint64_t *before)
{
    if (*ri >= fs->n || f < fs->r[*ri].start)
        *ri = 0, *before = 0;
    while (*ri + 1 < fs->n && f > fs->r[*ri].end) {
        *before += (uint64_t)((fs->r[*ri].end - fs->r[*ri].start) / fs->r[*ri].step) + 1;
        (*ri)++;
    }
    return *before + (uint64_t)((f - fs->r[*ri].start) / fs->r[*ri].step);
}

/* Plans the frames on disk that were asked for, in frame order. */
static int plan_frames(ferry__plan *plan, const ferry__target *t, const seq_source *s,
                       const frame_file *v, size_t n, const ferry_frameset *want, size_t si,
                       ferry_cancel *cancel, ferry__walk_fail_fn fail, void *arg)
{
    ferry_pattern dp;
    uint32_t di;
    size_t ri = 0;
    uint64_t before = 0;
    int rc;

    if ((rc = ferry_pattern_parse(t->dest_name, &dp)))
        return rc;
    if ((rc = ferry__plan_parent(plan, t->dest_dir, &di)))
        goto out;
    for (size_t i = 0; i < n && !rc; i++) {
        struct stat st;
        if (want && !ferry_frameset_contains(want, v[i].frame))
            continue;
        if ((i & 1023) == 0 && ferry_cancel_is_set(cancel)) {
            rc = FERRY_ECANCELLED;
            break;
        }
        char *path = ferry__path_join(s->dir, v[i].name);
        if (!path) {
            rc = FERRY_ENOMEM;
            break;
        }
        if (ferry__lstat_in(plan->roots, path, &st) < 0) {
            char *msg = ferry__strfmt("stat '%s': %s", path, strerror(errno));
            fail(arg, path, msg ? msg : "stat failed");
            free(msg);
            free(path);
            continue;
        }
        int64_t num = t->consecutive && want
                          ? t->shift + (int64_t)frame_rank(want, v[i].frame, &ri, &before)
                          : v[i].frame + t->shift;
        if ((rc = ferry__plan_add_entry(plan, path, ferry_pattern_frame(&dp, num), di, &st)))
            break;
        ferry__seqplan *sp = &plan->seqs[si];
        ferry__entry *e = &plan->entries[plan->nentries - 1];
        e->seq = (uint32_t)si + 1;
        e->seq_pos = (uint32_t)sp->n++;
        if (ferry_frameset_add(&sp->planned, v[i].frame))
            rc = FERRY_ENOMEM;
    }
out:
    ferry_pattern_release(&dp);
    return rc;
}

int ferry__seq_walk(ferry__plan *plan, const ferry__target *t, uint32_t ti, ferry_cancel *cancel,
                    ferry__walk_fail_fn fail, void *arg)
{
    seq_source s;
    ferry_frameset want, have;
    frame_file *v = NULL;
    size_t n = 0, si;
    int rc, err;

    ferry_frameset_init(&want);
    ferry_frameset_init(&have);
    if (seq_source_parse(t->src, &s)) {
        fail(arg, t->src, ferry_error_last());
        return FERRY_OK;
    }
    if (t->frames && (rc = parse_frames(t->frames, &want))) {
        fail(arg, t->src, ferry_error_last());
        rc = FERRY_OK;
        goto out;
    }
    if ((err = scan_frames(&s, plan->roots, &v, &n, &have))) {
        if (err == -ENOMEM) {
            rc = FERRY_ENOMEM;
        } else {
            char *msg = ferry__strfmt("read directory '%s': %s", s.dir, strerror(-err));
            fail(arg, t->src, msg ? msg : "cannot read directory");
            free(msg);
        }
        goto out;
    }
    if (ferry__grow(&plan->seqs, &plan->seqs_cap, plan->nseqs + 1, sizeof(*plan->seqs), 4)) {
        rc = FERRY_ENOMEM;
        goto out;
    }
    si = plan->nseqs++;
    memset(&plan->seqs[si], 0, sizeof(plan->seqs[si]));
    plan->seqs[si].target = ti;
    if ((rc = missing_frames(t->frames ? &want : NULL, &have, &plan->seqs[si].missing)))
        goto out;
    rc = plan_frames(plan, t, &s, v, n, t->frames ? &want : NULL, si, cancel, fail, arg);
    if (!rc && plan->seqs[si].n == 0) {
        char *msg = t->frames ? ferry__strfmt("no frames of '%s' on disk among %s", t->src, t->frames)
                              : ferry__strfmt("no frames of '%s' on disk", t->src);
        fail(arg, t->src, msg ? msg : "no frames on disk");
        free(msg);
    }
out:
    frames_free(v, n);
    ferry_frameset_release(&want);
    ferry_frameset_release(&have);
    seq_source_release(&s);
    return rc;
}
