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
    ferry__meta meta;
} ferry__entry;

typedef struct {
    char *path;        /* full destination path */
    ferry__meta meta;  /* the source directory's, when copy_meta */
    bool copy_meta;    /* a copied directory (mode and times applied at the end);
                        * false for the destination parent that already existed */
    bool created;      /* this job made it (rmdir'ed again if left empty by a cancel) */
    char *error;       /* why it could not be made; its entries fail with this */
} ferry__dir;

/* One source and where it lands: dir/name. */
typedef struct {
    char *src;
    char *dest_dir;
    char *dest_name;
} ferry__target;

typedef struct {
    ferry__entry *entries;
    size_t nentries, entries_cap;
    ferry__dir *dirs;
    size_t ndirs, dirs_cap;
    uint64_t bytes_total;
} ferry__plan;

/* Called for each source path the walk cannot read; path and msg are borrowed. */
typedef void (*ferry__walk_fail_fn)(void *arg, const char *path, const char *msg);

void ferry__plan_init(ferry__plan *plan);
void ferry__plan_release(ferry__plan *plan);

/*
 * Walks the targets into the plan, in name order within each directory.
 * Unreadable paths go to fail() and the walk goes on. Returns FERRY_OK,
 * FERRY_ECANCELLED or FERRY_ENOMEM.
 */
int ferry__plan_walk(ferry__plan *plan, const ferry__target *targets, size_t ntargets,
                     ferry_cancel *cancel, ferry__walk_fail_fn fail, void *arg);

/*
 * Resolves where each source goes (cp -r rules unless dest_is_dir) and
 * refuses, with a message, what cannot work at all: a destination whose
 * parent is missing, several sources into a non-directory, a directory into
 * itself. *out is an array of n targets owned by the caller.
 */
int ferry__plan_targets(const char *const *sources, size_t nsources, const char *dest,
                        bool dest_is_dir, ferry__target **out, size_t *n);

void ferry__targets_free(ferry__target *t, size_t n);

void ferry__meta_of_stat(ferry__meta *m, const struct stat *st);

#endif
