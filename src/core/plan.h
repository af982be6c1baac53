/*
 * core/plan.h: what a job will do, built by the walk before any byte moves.
 *
 * Sources expand into entries (files, symlinks, special files), each placed
 * in one of the plan's destination directories under its final name. The
 * plan is immutable once the walk ends, so workers read it without locks.
 */
#ifndef FERRY_CORE_PLAN_H
#define FERRY_CORE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "ferry/cancel.h"
#include "ferry/job.h"
#include "ferry/seq.h"

typedef enum { FERRY__FILE = 1, FERRY__SYMLINK, FERRY__SPECIAL } ferry__kind;

/* What a scan saw of a source; compared again after the copy. */
typedef struct {
    dev_t dev;
    ino_t ino;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    uint64_t size;
    struct timespec atime, mtime, ctime;
} ferry__meta;

typedef struct {
    char *src;     /* full source path */
    char *name;    /* final name inside dirs[dir] */
    uint32_t dir;  /* index in plan.dirs */
    ferry__kind kind;
    uint32_t seq;      /* 1 + index in plan.seqs for a frame of a sequence source, else 0 */
    uint32_t seq_pos;  /* its place among that sequence's planned frames */
    ferry__meta meta;
} ferry__entry;

typedef struct {
    char *path;        /* full destination path */
    ferry__meta meta;  /* the source directory's, when copy_meta */
    bool copy_meta;    /* a copied directory (mode and times applied at the end);
                        * false for the destination parent that already existed */
    bool created;      /* this job made it (rmdir'ed again if left empty by a cancel) */
    char *error;       /* why it could not be made; its entries fail with this */
    char *skipped;     /* why it is left as it is (--on-conflict skip); its entries too */
    char *src;         /* the source directory, when copy_meta */
    uint32_t parent;   /* the copied directory it is made in; FERRY__NO_DIR: none */
    uint32_t base_len; /* path[0, base_len) is the destination as given, resolved as cp
                        * does (symlinks followed); below it no symlink is ever followed
                        * (ferry__open_below), so a link in the destination tree cannot
                        * lead the copy out of it */
} ferry__dir;

#define FERRY__NO_DIR UINT32_MAX

/*
 * One source and where it lands: dir/name. A sequence source has patterns
 * for src ("/shots/sh010/comp.####.exr", as given) and dest_name (printf
 * notation, "comp.%04d.exr"): each frame f lands as dest_name(f + shift), or,
 * when consecutive, as dest_name(shift + the rank of f among frames).
 */
typedef struct {
    char *src;
    char *dest_dir;
    char *dest_name;
    bool seq;
    char *frames;   /* the frames asked for, canonical; NULL: every frame on disk */
    int64_t shift;  /* --renumber --keep-step: added to every frame number; consecutive:
                     * the number of the first frame asked for */
    bool consecutive; /* --renumber: frames are numbered shift, +1, +2... in the order of
                       * frames (always set then: what was asked, or found on disk) */
} ferry__target;

/* A sequence source as planned. */
typedef struct {
    uint32_t target;          /* index in the targets */
    ferry_frameset planned;   /* frames found on disk and asked for, in plan order */
    ferry_frameset missing;   /* frames asked for and not on disk */
    uint64_t n;               /* count of planned */
} ferry__seqplan;

typedef struct {
    ferry__entry *entries;
    size_t nentries, entries_cap;
    ferry__dir *dirs;
    size_t ndirs, dirs_cap;
    ferry__seqplan *seqs;
    size_t nseqs, seqs_cap;
    uint64_t bytes_total;
    const ferry_roots *roots; /* the walk reads beneath these (core/roots_priv.h); NULL: none */
} ferry__plan;

/* Called for each source path the walk cannot read; path and msg are borrowed. */
typedef void (*ferry__walk_fail_fn)(void *arg, const char *path, const char *msg);

void ferry__plan_init(ferry__plan *plan);
void ferry__plan_release(ferry__plan *plan);

/*
 * Walks the targets into the plan, in name order within each directory.
 * Unreadable paths go to fail() and the walk goes on; a source that is the
 * same file (device, inode) as an earlier one going to the same place is
 * walked once, the repeat going to skip(). Returns FERRY_OK,
 * FERRY_ECANCELLED or FERRY_ENOMEM.
 */
int ferry__plan_walk(ferry__plan *plan, const ferry__target *targets, size_t ntargets,
                     ferry_cancel *cancel, ferry__walk_fail_fn fail, ferry__walk_fail_fn skip,
                     void *arg);

/*
 * Resolves where each of spec's sources goes (cp -r rules unless dest_is_dir;
 * sequence sources always land in dest, made if missing) and refuses, with a
 * message, what cannot work at all: a destination whose parent is missing,
 * several sources into a non-directory, a directory into itself, sequence
 * options without a sequence, missing frames under require_complete. *out is
 * an array of n targets owned by the caller.
 */
int ferry__plan_targets(const ferry_job_spec *spec, ferry__target **out, size_t *n);

/* plan.c, for plan_seq.c */
int ferry__plan_add_dir(ferry__plan *plan, char *path, const struct stat *st, uint32_t *idx);
int ferry__plan_add_entry(ferry__plan *plan, char *src, char *name, uint32_t dir,
                          const struct stat *st);
/* The directory's entry for a file source landing in dest_dir (shared by
 * consecutive sources into the same parent). */
int ferry__plan_parent(ferry__plan *plan, const char *dest_dir, uint32_t *idx);
/* The names of an open directory, sorted; closes fd; *out owned by the caller. */
int ferry__read_names(int fd, char ***out, size_t *n);
void ferry__names_free(char **names, size_t n);

/* plan_seq.c: sequence sources */

/* True when src names no file but reads as a sequence pattern. */
bool ferry__is_seq_source(const char *src);
/* Fills t for the sequence source src landing in dest (see ferry__plan_targets). */
int ferry__seq_target(ferry__target *t, const char *src, const char *dest,
                      const ferry_job_spec *spec);
/* Adds the frames of target ti (t->seq) to the plan; failures go to fail(). */
int ferry__seq_walk(ferry__plan *plan, const ferry__target *t, uint32_t ti, ferry_cancel *cancel,
                    ferry__walk_fail_fn fail, void *arg);

void ferry__targets_free(ferry__target *t, size_t n);

void ferry__meta_of_stat(ferry__meta *m, const struct stat *st);

#endif
