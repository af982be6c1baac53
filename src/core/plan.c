/*
 * core/plan.c: the walk that turns sources into a plan; see plan.h.
 *
 * Placement follows cp -r: with several sources, or a destination that is an
 * existing directory, each source lands in it under its own name; otherwise
 * the single source is copied to the destination name. Symlinks are copied as
 * symlinks, never followed, at every level (cp -r does the same).
 */
#define _GNU_SOURCE
#include "core/plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/roots_priv.h"
#include "util/error.h"
#include "util/array.h"
#include "util/fs.h"
#include "util/str.h"

void ferry__meta_of_stat(ferry__meta *m, const struct stat *st)
{
    m->dev = st->st_dev;
    m->ino = st->st_ino;
    m->mode = st->st_mode;
    m->uid = st->st_uid;
    m->gid = st->st_gid;
    m->size = (uint64_t)st->st_size;
    m->atime = st->st_atim;
    m->mtime = st->st_mtim;
    m->ctime = st->st_ctim;
}

void ferry__plan_init(ferry__plan *plan)
{
    memset(plan, 0, sizeof(*plan));
}

void ferry__plan_release(ferry__plan *plan)
{
    for (size_t i = 0; i < plan->nentries; i++) {
        free(plan->entries[i].src);
        free(plan->entries[i].name);
    }
    for (size_t i = 0; i < plan->ndirs; i++) {
        free(plan->dirs[i].path);
        free(plan->dirs[i].error);
        free(plan->dirs[i].skipped);
        free(plan->dirs[i].src);
    }
    for (size_t i = 0; i < plan->nseqs; i++) {
        ferry_frameset_release(&plan->seqs[i].planned);
        ferry_frameset_release(&plan->seqs[i].missing);
    }
    free(plan->entries);
    free(plan->dirs);
    free(plan->seqs);
    ferry__plan_init(plan);
}

/* Adds a directory; path ownership passes to the plan. */
int ferry__plan_add_dir(ferry__plan *plan, char *path, const struct stat *st, uint32_t *idx)
{
    if (ferry__grow(&plan->dirs, &plan->dirs_cap, plan->ndirs + 1, sizeof(ferry__dir), 64)) {
        free(path);
        return FERRY_ENOMEM;
    }
    ferry__dir *d = &plan->dirs[plan->ndirs];
    memset(d, 0, sizeof(*d));
    d->path = path;
    d->parent = FERRY__NO_DIR;
    d->base_len = (uint32_t)strlen(path); /* a destination parent: as given */
    if (st) {
        d->copy_meta = true;
        ferry__meta_of_stat(&d->meta, st);
    }
    *idx = (uint32_t)plan->ndirs++;
    return 0;
}

/* Adds an entry; src/name ownership passes to the plan. */
int ferry__plan_add_entry(ferry__plan *plan, char *src, char *name, uint32_t dir,
                          const struct stat *st)
{
    if (!src || !name ||
        ferry__grow(&plan->entries, &plan->entries_cap, plan->nentries + 1, sizeof(ferry__entry),
                    64)) {
        free(src);
        free(name);
        return FERRY_ENOMEM;
    }
    ferry__entry *e = &plan->entries[plan->nentries++];
    e->src = src;
    e->name = name;
    e->dir = dir;
    e->seq = e->seq_pos = 0;
    ferry__meta_of_stat(&e->meta, st);
    if (S_ISREG(st->st_mode)) {
        e->kind = FERRY__FILE;
        plan->bytes_total += (uint64_t)st->st_size;
    } else if (S_ISLNK(st->st_mode)) {
        e->kind = FERRY__SYMLINK;
    } else {
        e->kind = FERRY__SPECIAL;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ferry__names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int ferry__read_names(int fd, char ***out, size_t *n)
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    char **names = NULL;
    size_t cap = 0;

    *n = 0;
    if (!d)
        return -errno;
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (ferry__grow(&names, &cap, *n + 1, sizeof(char *), 64) ||
            !(names[*n] = strdup(de->d_name))) {
            closedir(d);
            while (*n)
                free(names[--*n]);
            free(names);
            return -ENOMEM;
        }
        (*n)++;
    }
    int err = errno;
    closedir(d);
    if (err) {
        while (*n)
            free(names[--*n]);
        free(names);
        return -err;
    }
    if (*n > 1)
        qsort(names, *n, sizeof(char *), cmp_names); /* an empty directory has no array */
    *out = names;
    return 0;
}

typedef struct {
    ferry__plan *plan;
    ferry_cancel *cancel;
    ferry__walk_fail_fn fail;
    void *arg;
} walker;

static void walk_fail(walker *w, const char *path, const char *op, int err)
{
    char *msg = ferry__strfmt("%s '%s': %s", op, path, ferry__strerror_in(w->plan->roots, err));
    w->fail(w->arg, path, msg ? msg : "out of memory");
    free(msg);
}

/* A copied directory: dst below the destination's first base_len bytes, in
 * directory parent of the plan. */
static int walk_dir(walker *w, const char *src, char *dst, const struct stat *st, uint32_t parent,
                    uint32_t base_len)
{
    uint32_t di;
    char **names = NULL;
    size_t n = 0;
    int rc = 0, fd, dfd = -1;

    if (ferry_cancel_is_set(w->cancel)) {
        free(dst);
        return FERRY_ECANCELLED;
    }
    if ((rc = ferry__plan_add_dir(w->plan, dst, st, &di)))
        return rc;
    w->plan->dirs[di].parent = parent;
    w->plan->dirs[di].base_len = base_len;
    if (!(w->plan->dirs[di].src = strdup(src)))
        return FERRY_ENOMEM;
    /* Children are looked at through this descriptor, not by path again: a
     * directory swapped meanwhile cannot send the walk elsewhere. */
    fd = ferry__open_in(w->plan->roots, src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    if (fd < 0 || (dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        walk_fail(w, src, "open directory", errno);
        if (fd >= 0)
            close(fd);
        return 0;
    }
    int err = ferry__read_names(fd, &names, &n); /* closes fd */
    if (err) {
        walk_fail(w, src, "read directory", -err);
        close(dfd);
        return err == -ENOMEM ? FERRY_ENOMEM : 0;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        char *child = ferry__path_join(src, names[i]);
        struct stat cst;
        if (!child) {
            rc = FERRY_ENOMEM;
            break;
        }
        if (fstatat(dfd, names[i], &cst, AT_SYMLINK_NOFOLLOW) < 0) {
            walk_fail(w, child, "stat", errno);
            free(child);
            continue;
        }
        if (S_ISDIR(cst.st_mode)) {
            char *cdst = ferry__path_join(w->plan->dirs[di].path, names[i]);
            rc = cdst ? walk_dir(w, child, cdst, &cst, di, base_len) : FERRY_ENOMEM;
            free(child);
        } else {
            rc = ferry__plan_add_entry(w->plan, child, strdup(names[i]), di, &cst);
        }
    }
    ferry__names_free(names, n);
    close(dfd);
    return rc;
}

int ferry__plan_parent(ferry__plan *plan, const char *dest_dir, uint32_t *idx)
{
    if (plan->ndirs > 0 && !plan->dirs[plan->ndirs - 1].copy_meta &&
        !strcmp(plan->dirs[plan->ndirs - 1].path, dest_dir)) {
        *idx = (uint32_t)plan->ndirs - 1;
        return FERRY_OK;
    }
    char *p = strdup(dest_dir);
    return p ? ferry__plan_add_dir(plan, p, NULL, idx) : FERRY_ENOMEM;
}

/* An earlier target that is the same file (device and inode) going to the same
 * place: index + 1, or 0. cp copies it once and warns. */
static size_t same_as_earlier(const ferry__target *targets, const struct stat *seen, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!targets[j].seq && seen[j].st_ino == seen[i].st_ino &&
            seen[j].st_dev == seen[i].st_dev && seen[j].st_nlink != 0 &&
            !strcmp(targets[j].dest_dir, targets[i].dest_dir) &&
            !strcmp(targets[j].dest_name, targets[i].dest_name))
            return j + 1;
    return 0;
}

static int walk_target(walker *w, const ferry__target *targets, struct stat *seen, size_t i,
                       ferry__walk_fail_fn skip)
{
    ferry__plan *plan = w->plan;
    const ferry__target *t = &targets[i];
    struct stat st;
    uint32_t di;
    size_t dup;
    int rc;

    if (ferry_cancel_is_set(w->cancel))
        return FERRY_ECANCELLED;
    if (t->seq)
        return ferry__seq_walk(plan, t, (uint32_t)i, w->cancel, w->fail, w->arg);
    if (ferry__lstat_in(plan->roots, t->src, &st) < 0) {
        walk_fail(w, t->src, "stat", errno);
        return FERRY_OK;
    }
    seen[i] = st;
    if ((dup = same_as_earlier(targets, seen, i))) {
        char *msg = ferry__strfmt("specified more than once (the same file as '%s'): copied once",
                                  targets[dup - 1].src);
        skip(w->arg, t->src, msg ? msg : "specified more than once");
        free(msg);
        return FERRY_OK;
    }
    if (S_ISDIR(st.st_mode)) {
        /* dest_name ".": SRC/. copied into dest itself, which is as given.
         * dest_dir ".": it joins as nothing, all of dst is below it. */
        bool self = !strcmp(t->dest_name, ".");
        char *dst = self ? strdup(t->dest_dir) : ferry__path_join(t->dest_dir, t->dest_name);
        uint32_t base = self || strcmp(t->dest_dir, ".") ? (uint32_t)strlen(t->dest_dir) : 0;
        return dst ? walk_dir(w, t->src, dst, &st, FERRY__NO_DIR, base) : FERRY_ENOMEM;
    }
    if ((rc = ferry__plan_parent(plan, t->dest_dir, &di)))
        return rc;
    return ferry__plan_add_entry(plan, strdup(t->src), strdup(t->dest_name), di, &st);
}

int ferry__plan_walk(ferry__plan *plan, const ferry__target *targets, size_t ntargets,
                     ferry_cancel *cancel, ferry__walk_fail_fn fail, ferry__walk_fail_fn skip,
                     void *arg)
{
    walker w = {plan, cancel, fail, arg};
    struct stat *seen = calloc(ntargets ? ntargets : 1, sizeof(*seen)); /* st_nlink 0: none */
    int rc = FERRY_OK;

    if (!seen)
        return FERRY_ENOMEM;
    for (size_t i = 0; i < ntargets && !rc; i++)
        rc = walk_target(&w, targets, seen, i, skip);
    free(seen);
    return rc;
}

void ferry__targets_free(ferry__target *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++) {
        free(t[i].src);
        free(t[i].dest_dir);
        free(t[i].dest_name);
        free(t[i].frames);
    }
    free(t);
}

/*
 * The canonical form of a path that may not exist yet: realpath of its
 * deepest existing ancestor, the missing rest appended. NULL when even that
 * cannot be had (errno set).
 */
static char *real_or_planned(const char *path)
{
    char *r = realpath(path, NULL), *parent, *base, *rp, *out;

    if (r || errno != ENOENT)
        return r;
    parent = ferry__path_dir(path);
    base = ferry__path_base(path);
    rp = parent && base && strcmp(parent, path) ? real_or_planned(parent) : NULL;
    out = rp ? ferry__path_join(rp, base) : NULL;
    free(parent);
    free(base);
    free(rp);
    return out;
}

/* Refuses a directory copied to itself or beneath itself (cp: "into itself"),
 * dest_dir existing or not (a destination made for the job). */
static int check_not_into_itself(const char *src, const char *dest_dir, const char *name)
{
    char *rs = realpath(src, NULL), *rd = real_or_planned(dest_dir);
    int rc = FERRY_OK;

    if (rs && rd) {
        size_t ns = strlen(rs);
        char *target = ferry__path_join(rd, name);
        if (!target)
            rc = FERRY_ENOMEM;
        else if (!strncmp(target, rs, ns) &&
                 (target[ns] == '/' || target[ns] == '\0' || !strcmp(rs, "/")))
            rc = ferry__error(FERRY_EINVAL, "cannot copy directory '%s' into itself ('%s')", src,
                              target);
        free(target);
    }
    free(rs);
    free(rd);
    return rc;
}

static int resolve_one(ferry__target *t, const char *src, const char *dest, bool into)
{
    struct stat sst, dst;

    t->src = strdup(src);
    if (into) {
        t->dest_dir = strdup(dest);
        t->dest_name = ferry__path_base(src);
        /* "x/." (or ".", "x/./"): as cp -r, the contents of x, into dest itself. */
        if (t->dest_name && !strcmp(t->dest_name, ".") && t->src && t->dest_dir)
            return check_not_into_itself(src, t->dest_dir, ".");
    } else {
        t->dest_dir = ferry__path_dir(dest);
        t->dest_name = ferry__path_base(dest);
    }
    if (!t->src || !t->dest_dir || !t->dest_name)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    if (!strcmp(t->dest_name, "/") || !strcmp(t->dest_name, "..") || !strcmp(t->dest_name, "."))
        return ferry__error(FERRY_EINVAL, "cannot copy '%s': it has no name to copy to", src);
    if (lstat(src, &sst) < 0)
        return FERRY_OK; /* reported per file by the walk; the other sources go on */
    if (S_ISDIR(sst.st_mode))
        return check_not_into_itself(src, t->dest_dir, t->dest_name);
    char *target = ferry__path_join(t->dest_dir, t->dest_name);
    int rc = FERRY_OK;
    if (!target)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    if (lstat(target, &dst) == 0 && dst.st_dev == sst.st_dev && dst.st_ino == sst.st_ino)
        rc = ferry__error(FERRY_EINVAL, "'%s' and '%s' are the same file", src, target);
    free(target);
    return rc;
}

/* Sequence options need a sequence source to apply to. */
static int check_seq_options(const ferry_job_spec *spec, size_t nseq)
{
    const char *opt = spec->frames         ? "--frames"
                      : spec->renumber     ? "--renumber"
                      : spec->pad          ? "--pad"
                      : spec->require_complete ? "--require-complete"
                      : spec->keep_step        ? "--keep-step"
                                              : NULL;

    if (spec->keep_step && !spec->renumber)
        return ferry__error(FERRY_EINVAL, "--keep-step applies with --renumber START");
    if (spec->pad < 0 || spec->pad > 18)
        return ferry__error(FERRY_EINVAL, "invalid padding %d: expected 1 to 18 digits", spec->pad);
    if (opt && nseq == 0)
        return ferry__error(FERRY_EINVAL,
                            "%s applies to sequence sources (a pattern such as "
                            "'/shots/sh010/comp.####.exr'), and no source is one",
                            opt);
    return FERRY_OK;
}

/* dest without its trailing slashes ("/" stays); *slash: it had some. */
static char *strip_slashes(const char *dest, bool *slash)
{
    size_t n = strlen(dest);

    *slash = false;
    while (n > 1 && dest[n - 1] == '/') {
        n--;
        *slash = true;
    }
    return strndup(dest, n);
}

/*
 * Makes the missing directories of dest (mkdir -p), after every check has
 * passed; on failure removes again the levels it made, so that a refused job
 * leaves the filesystem as it was.
 */
static int make_dest(const ferry_roots *roots, const char *dest)
{
    char *top = strdup(dest), *p;
    struct stat st;
    int err;

    if (!top)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    /* top: the highest missing level */
    while ((p = strrchr(top, '/')) && p != top) {
        *p = '\0';
        if (ferry__lstat_in(roots, top, &st) == 0 || errno != ENOENT) {
            *p = '/';
            break;
        }
    }
    /* A name the filesystem cannot hold fails before any level is made. */
    err = strlen(dest) >= PATH_MAX ? -ENAMETOOLONG : 0;
    for (const char *c = dest + strlen(top) - 1; !err && (c = strchr(c, '/'));)
        if (strcspn(++c, "/") > NAME_MAX)
            err = -ENAMETOOLONG;
    if (!err)
        err = ferry__mkdir_p_in(roots, dest, 0777);
    if (err) {
        char *level = strdup(dest);
        for (size_t n = level ? strlen(level) : 0; level && n >= strlen(top); n--) {
            if (level[n] == '/' || level[n] == '\0') {
                level[n] = '\0';
                ferry__rmdir_in(roots, level); /* only an empty level made just now */
            }
        }
        free(level);
    }
    free(top);
    if (err)
        return ferry__error_os(ferry__code_of_errno(-err), -err,
                               "create destination directory '%s'", dest);
    return FERRY_OK;
}

/*
 * Where the sources go, every check done first: nothing on disk changes
 * unless all pass. A trailing slash on dest says "a directory": for a new
 * one it is dropped when dest is made for the job (dest_is_dir, sequences)
 * and when a single directory source is copied to it (cp -r); a file or
 * several sources to a "dir/" that does not exist are refused, as cp does.
 */
static int resolve_all(const ferry_job_spec *spec, const char *dest, bool into, ferry__target *t)
{
    int rc = FERRY_OK;

    for (size_t i = 0; i < spec->nsources && !rc; i++) {
        if (ferry__is_seq_source(spec->sources[i]))
            rc = ferry__seq_target(&t[i], spec->sources[i], dest, spec);
        else
            rc = resolve_one(&t[i], spec->sources[i], dest, into);
    }
    return rc;
}

static bool is_dir_path(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ferry__plan_targets(const ferry_job_spec *spec, ferry__target **out, size_t *n)
{
    const char *const *sources = spec->sources;
    size_t nsources = spec->nsources, nseq = 0;
    bool dest_is_dir = spec->dest_is_dir, slash, exists, is_dir, into;
    char *dest = NULL;
    ferry__target *t = NULL;
    struct stat st;
    int rc = FERRY_OK;

    if (nsources == 0)
        return ferry__error(FERRY_EINVAL, "no source given");
    if (!spec->dest || !*spec->dest)
        return ferry__error(FERRY_EINVAL, "no destination given");
    for (size_t i = 0; i < nsources; i++)
        nseq += ferry__is_seq_source(sources[i]);
    if ((rc = check_seq_options(spec, nseq)))
        return rc;
    if (!(dest = strip_slashes(spec->dest, &slash)))
        return ferry__error(FERRY_ENOMEM, "out of memory");
    /* The frames of a sequence land directly in dest, which is a directory. */
    dest_is_dir = dest_is_dir || nseq > 0;
    exists = stat(dest, &st) == 0;
    is_dir = exists && S_ISDIR(st.st_mode);
    if (!dest_is_dir && !exists && slash &&
        !(nsources == 1 && is_dir_path(sources[0]))) { /* as cp: "dst/" is a dir */
        rc = ferry__error(FERRY_EINVAL, "destination '%s' is not a directory (it does not exist)",
                          spec->dest);
        goto out;
    }
    if (dest_is_dir && exists && !is_dir) {
        rc = ferry__error(FERRY_EINVAL, "destination '%s' is not a directory", spec->dest);
        goto out;
    }
    into = dest_is_dir || is_dir || nsources > 1;
    if (into && !dest_is_dir && !is_dir) {
        rc = ferry__error(FERRY_EINVAL, "destination '%s' is not a directory%s", spec->dest,
                          exists ? "" : " (it does not exist)");
        goto out;
    }
    if (!into) {
        char *parent = ferry__path_dir(dest);
        if (!parent || !is_dir_path(parent))
            rc = ferry__error(FERRY_ENOTFOUND, "cannot create '%s': directory '%s' does not exist",
                              dest, parent ? parent : "?");
        free(parent);
        if (rc)
            goto out;
    }
    if (!(t = calloc(nsources, sizeof(*t)))) {
        rc = ferry__error(FERRY_ENOMEM, "out of memory");
        goto out;
    }
    if (!(rc = resolve_all(spec, dest, into, t)) && dest_is_dir && !exists)
        rc = make_dest(spec->roots, dest);
    if (rc) {
        ferry__targets_free(t, nsources);
        goto out;
    }
    *out = t;
    *n = nsources;
out:
    free(dest);
    return rc;
}
