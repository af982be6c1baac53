/*
 * core/dirs.c: making a job's copied directories, and what is in their way.
 *
 * Each copied directory is made in its parent, opened below the destination
 * the user named without following any symlink (ferry__open_below): a link
 * already in the destination tree is never followed out of it, whatever it
 * points to. What sits at a directory's name and is not a directory (a
 * symlink, a file) is a conflict, settled by --on-conflict as for files:
 * fail (cp: "cannot overwrite non-directory"), skip (left as it is, and the
 * directory's contents with it), overwrite (replaced by a directory, as
 * rsync does), rename (the copy is made as "name (1)"). A directory that
 * cannot be made gets a result of its own, failed with the cause, even when
 * it holds nothing; what is beneath it carries that cause, not reported
 * again for each directory below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/events_priv.h"
#include "core/job_priv.h"
#include "core/roots_priv.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/str.h"

int ferry__dir_open(ferry_job *job, const ferry__dir *d, int flags)
{
    return ferry__open_below(job->spec.roots, d->path, d->base_len, flags);
}

int ferry__dir_open_parent(ferry_job *job, const ferry__dir *d, char **name)
{
    char *dir = ferry__path_dir(d->path);
    int fd = -1;

    *name = ferry__path_base(d->path);
    if (!dir || !*name) {
        errno = ENOMEM;
    } else {
        size_t n = strlen(dir);
        fd = ferry__open_below(job->spec.roots, dir, d->base_len < n ? d->base_len : n,
                               O_PATH | O_DIRECTORY);
    }
    free(dir);
    if (fd < 0) {
        int err = errno;
        free(*name);
        *name = NULL;
        errno = err;
    }
    return fd;
}

/* A directory's own result: path is its source, dest where it goes. */
static void publish_dir(ferry_job *job, const ferry__dir *d, int result, const char *msg)
{
    ferry_event ev = {.type = FERRY_EVENT_FILE, .job_id = job->id, .result = result};

    atomic_fetch_add(result == FERRY_FILE_FAILED ? &job->files_failed : &job->files_skipped, 1);
    ev.path = d->src;
    ev.dest = d->path;
    ev.message = (char *)msg;
    ev.time_ns = ferry__wall_ns();
    ferry__bus_publish(job->bus, &ev);
}

static void dir_failed(ferry_job *job, ferry__dir *d, char *msg)
{
    d->error = msg ? msg : strdup("out of memory");
    if (!d->error) {
        ferry__job_fail(job, "out of memory");
        return;
    }
    publish_dir(job, d, FERRY_FILE_FAILED, d->error);
}

static void dir_failed_os(ferry_job *job, ferry__dir *d, const char *op, int err)
{
    dir_failed(job, d,
               ferry__strfmt("%s '%s': %s", op, d->path, ferry__strerror_in(job->spec.roots, err)));
    if (err == ENOSPC || err == EDQUOT) /* a full disk stops the job: what is complete is kept */
        ferry__job_stop(job, d->error ? d->error : "destination full");
}

/* The copy of directory i is made as alt instead: it and the paths below it. */
static int rename_dir(ferry_job *job, size_t i, const char *alt)
{
    ferry__dir *d = &job->plan.dirs[i];
    char *old = d->path, *dir = ferry__path_dir(old);
    char *path = dir ? ferry__path_join(dir, alt) : NULL;
    size_t n = strlen(old);

    free(dir);
    if (!path)
        return -ENOMEM;
    for (size_t j = i + 1; j < job->plan.ndirs; j++) {
        ferry__dir *c = &job->plan.dirs[j];
        if (strncmp(c->path, old, n) || c->path[n] != '/')
            continue;
        char *p = ferry__strfmt("%s%s", path, c->path + n);
        if (!p) {
            free(path);
            return -ENOMEM;
        }
        free(c->path);
        c->path = p;
    }
    d->path = path;
    free(old);
    return 0;
}

/* Something that is not a directory sits where directory i goes. */
static bool settle(ferry_job *job, size_t i, int pfd, const char *name, const struct stat *st)
{
    ferry__dir *d = &job->plan.dirs[i];
    char target[PATH_MAX], *what;
    ssize_t n = -1;

    if (S_ISLNK(st->st_mode) && (n = readlinkat(pfd, name, target, sizeof(target) - 1)) >= 0)
        target[n] = '\0';
    what = !S_ISLNK(st->st_mode) ? strdup("not a directory")
           : n >= 0              ? ferry__strfmt("a symlink to '%s', not followed", target)
                                 : strdup("a symlink, not followed");
    switch (job->spec.on_conflict) {
    case FERRY_CONFLICT_SKIP:
        d->skipped = ferry__strfmt("destination '%s' is %s: left as it is", d->path,
                                   what ? what : "not a directory");
        if (!d->skipped)
            ferry__job_fail(job, "out of memory");
        else
            publish_dir(job, d, FERRY_FILE_SKIPPED, d->skipped);
        break;
    case FERRY_CONFLICT_OVERWRITE:
        /* As rsync: the link (or file) goes, a directory takes its name. */
        if (FERRY_SYS("unlink", unlinkat(pfd, name, 0)) < 0 ||
            FERRY_SYS("mkdir", mkdirat(pfd, name, 0700)) < 0)
            dir_failed_os(job, d, "replace with a directory", errno);
        else
            d->created = true;
        break;
    case FERRY_CONFLICT_RENAME:
        for (unsigned k = 1; k < 10000 && !d->created && !d->error; k++) {
            char *alt = ferry__strfmt("%s (%u)", name, k);
            if (!alt || FERRY_SYS("mkdir", mkdirat(pfd, alt, 0700)) == 0) {
                int rc = alt ? rename_dir(job, i, alt) : -ENOMEM;
                if (rc)
                    dir_failed_os(job, d, "create directory", -rc);
                else
                    d->created = true;
            } else if (errno != EEXIST) {
                dir_failed_os(job, d, "create directory", errno);
            }
            free(alt);
        }
        if (!d->created && !d->error)
            dir_failed_os(job, d, "find a free name beside", EEXIST);
        break;
    default:
        dir_failed(job, d,
                   ferry__strfmt("cannot overwrite non-directory '%s' with directory '%s' "
                                 "(%s%ssee --on-conflict)",
                                 d->path, d->src, S_ISLNK(st->st_mode) && what ? what : "",
                                 S_ISLNK(st->st_mode) && what ? "; " : ""));
    }
    free(what);
    return d->created;
}

bool ferry__make_dir(ferry_job *job, size_t i, bool *existed)
{
    ferry__dir *d = &job->plan.dirs[i];
    const ferry__dir *up = d->parent != FERRY__NO_DIR ? &job->plan.dirs[d->parent] : NULL;
    struct stat st;
    char *name;
    bool ok = false;
    int pfd;

    *existed = false;
    if (up && (up->error || up->skipped)) {
        /* Reported once, at the directory in the way; beneath it, its cause. */
        char **why = up->error ? &d->error : &d->skipped;
        if (!(*why = strdup(up->error ? up->error : up->skipped)))
            ferry__job_fail(job, "out of memory");
        return false;
    }
    if (!d->path[d->base_len]) {
        /* The destination itself, as given (SRC/.): followed, as cp does. */
        int fd = ferry__dir_open(job, d, O_PATH | O_DIRECTORY);
        if (fd >= 0) {
            close(fd);
            *existed = true;
            return true;
        }
    }
    if ((pfd = ferry__dir_open_parent(job, d, &name)) < 0) {
        dir_failed_os(job, d, "create directory", errno);
        return false;
    }
    if (FERRY_SYS("mkdir", mkdirat(pfd, name, 0700)) == 0) {
        d->created = ok = true;
    } else if (errno != EEXIST) {
        dir_failed_os(job, d, "create directory", errno);
    } else if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        dir_failed_os(job, d, "stat", errno);
    } else if (S_ISDIR(st.st_mode)) {
        *existed = ok = true;
    } else {
        ok = settle(job, i, pfd, name, &st);
    }
    close(pfd);
    free(name);
    return ok;
}
