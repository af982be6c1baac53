/*
 * core/roots.c: path confinement with openat2(RESOLVE_BENEATH); see roots.h
 * and, for a job's own file operations, roots_priv.h.
 *
 * The check is done by the kernel, not by string matching: the path is made
 * relative to a root whose name prefixes it, then opened (O_PATH) from the
 * root's descriptor with RESOLVE_BENEATH, which fails with EXDEV when any
 * step, "..", or symlink target would leave the root. A check says where a
 * path led when it was made; a job confined by its roots resolves each path
 * that way again at every call, so that what changes meanwhile cannot lead
 * it out either.
 */
#define _GNU_SOURCE
#include "ferry/roots.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/roots_priv.h"
#include "util/array.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

typedef struct {
    char *path; /* canonical (realpath), no trailing slash except "/" */
    int fd;
} root;

struct ferry_roots {
    root *v;
    size_t n;
};

int ferry_roots_new(ferry_roots **out, const char *const *dirs, size_t n)
{
    ferry_roots *r = calloc(1, sizeof(*r));

    if (!r || !(r->v = calloc(n ? n : 1, sizeof(root)))) {
        free(r);
        return ferry__error(FERRY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char *canon = realpath(dirs[i], NULL);
        int fd = canon ? open(canon, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
        if (fd < 0) {
            int err = errno;
            free(canon);
            ferry_roots_free(r);
            return ferry__error_os(FERRY_EINVAL, err, "root '%s'", dirs[i]);
        }
        r->v[r->n].path = canon;
        r->v[r->n].fd = fd;
        r->n++;
    }
    *out = r;
    return FERRY_OK;
}

void ferry_roots_free(ferry_roots *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        close(r->v[i].fd);
    }
    free(r->v);
    free(r);
}

size_t ferry_roots_count(const ferry_roots *r)
{
    return r->n;
}

const char *ferry_roots_path(const ferry_roots *r, size_t i)
{
    return i < r->n ? r->v[i].path : NULL;
}

/* openat2 beneath dirfd with flags: the descriptor, or -errno (EXDEV: it
 * would leave the root). Magic links (/proc/self/fd/N, /proc/PID/root) are
 * refused too: they jump to whatever they name. */
static int open_beneath_mode(int dirfd, const char *rel, uint64_t flags, mode_t mode)
{
    struct open_how how = {.flags = flags | O_CLOEXEC,
                           .mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dirfd, *rel ? rel : ".", &how, sizeof(how));

    return fd < 0 ? -errno : fd;
}

static int open_beneath_fd(int dirfd, const char *rel, uint64_t flags)
{
    return open_beneath_mode(dirfd, rel, flags, 0);
}

static int open_beneath(int dirfd, const char *rel)
{
    int fd = open_beneath_fd(dirfd, rel, O_PATH);

    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

/* The part of path after root, or NULL when root is not a prefix of it. */
static const char *relative_to(const char *rootp, const char *path)
{
    size_t n = strlen(rootp);

    if (!strcmp(rootp, "/"))
        return path + 1;
    if (strncmp(path, rootp, n) != 0 || (path[n] != '/' && path[n] != '\0'))
        return NULL;
    return path[n] == '/' ? path + n + 1 : path + n;
}

static bool has_dotdot(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")); s += 2) {
        bool start = s == p || s[-1] == '/', end = s[2] == '\0' || s[2] == '/';
        if (start && end)
            return true;
    }
    return false;
}

/* Checks rel beneath one root; a missing tail is checked through its ancestor. */
static int check_in(const root *rt, const char *rel, bool may_be_missing)
{
    char *copy;
    int rc = open_beneath(rt->fd, rel);

    if (rc == 0)
        return FERRY_OK;
    if (rc == -EXDEV || rc == -ELOOP)
        return FERRY_EOUTSIDE;
    if (rc != -ENOENT || !may_be_missing)
        return rc == -ENOENT ? FERRY_ENOTFOUND : FERRY_EOUTSIDE;
    if (has_dotdot(rel) || !(copy = strdup(rel)))
        return FERRY_EOUTSIDE;
    /* Walk up until something exists; it must be beneath the root too. */
    for (;;) {
        char *slash = strrchr(copy, '/');
        if (!slash) {
            rc = open_beneath(rt->fd, "");
            break;
        }
        *slash = '\0';
        rc = open_beneath(rt->fd, copy);
        if (rc != -ENOENT)
            break;
    }
    free(copy);
    return rc == 0 ? FERRY_OK : FERRY_EOUTSIDE;
}

int ferry_roots_check(const ferry_roots *r, const char *path, bool may_be_missing)
{
    int best = FERRY_EOUTSIDE;

    if (!path || path[0] != '/')
        return ferry__error(FERRY_EINVAL, "'%s' is not an absolute path", path ? path : "");
    for (size_t i = 0; i < r->n; i++) {
        const char *rel = relative_to(r->v[i].path, path);
        if (!rel)
            continue;
        int rc = check_in(&r->v[i], rel, may_be_missing);
        if (rc == FERRY_OK)
            return FERRY_OK;
        if (rc == FERRY_ENOTFOUND)
            best = rc;
    }
    if (best == FERRY_ENOTFOUND)
        return ferry__error(FERRY_ENOTFOUND, "'%s' does not exist", path);
    return ferry__error(FERRY_EOUTSIDE, "'%s' is outside the allowed roots", path);
}

static int dirent_cmp(const void *a, const void *b)
{
    const ferry_dirent *x = a, *y = b;

    if ((x->type == 'd') != (y->type == 'd'))
        return x->type == 'd' ? -1 : 1;
    return strcmp(x->name, y->name);
}

void ferry_dirents_free(ferry_dirent *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].name);
    free(v);
}

int ferry_roots_list(const ferry_roots *r, const char *path, size_t max, ferry_dirent **out,
                     size_t *n, bool *truncated)
{
    int rc = ferry_roots_check(r, path, false), fd = -1;
    ferry_dirent *v = NULL;
    size_t cap = 0;
    DIR *d;
    struct dirent *de;

    *out = NULL;
    *n = 0;
    *truncated = false;
    if (rc)
        return rc;
    for (size_t i = 0; i < r->n && fd < 0; i++) {
        const char *rel = relative_to(r->v[i].path, path);
        if (rel)
            fd = open_beneath_fd(r->v[i].fd, rel, O_RDONLY | O_DIRECTORY);
    }
    if (fd < 0)
        return ferry__error_os(FERRY_EOS, -fd, "list '%s'", path);
    if (!(d = fdopendir(fd))) {
        close(fd);
        return ferry__error_os(FERRY_EOS, errno, "list '%s'", path);
    }
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        if (*n == max) {
            *truncated = true;
            break;
        }
        if (ferry__grow(&v, &cap, *n + 1, sizeof(*v), 64))
            break;
        ferry_dirent *e = &v[*n];
        if (!(e->name = strdup(de->d_name)))
            break;
        e->type = 'o';
        e->size = 0;
        e->mtime = 0;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            e->type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l' : 'o';
            e->size = (uint64_t)st.st_size;
            e->mtime = (int64_t)st.st_mtim.tv_sec;
        }
        (*n)++;
    }
    closedir(d);
    if (v)
        qsort(v, *n, sizeof(*v), dirent_cmp);
    *out = v;
    return FERRY_OK;
}

/* --- a job's file operations beneath the roots (roots_priv.h) ------------ */

/* The root holding path and the part of path beneath it; NULL when none. */
static const root *holder(const ferry_roots *r, const char *path, const char **rel)
{
    for (size_t i = 0; path && path[0] == '/' && i < r->n; i++)
        if ((*rel = relative_to(r->v[i].path, path)))
            return &r->v[i];
    return NULL;
}

/* -1 with errno = -rc, as a system call fails; or rc. */
static int as_syscall(int rc)
{
    if (rc >= 0)
        return rc;
    errno = -rc;
    return -1;
}

int ferry__open_in(const ferry_roots *r, const char *path, int flags, mode_t mode)
{
    const root *rt;
    const char *rel;

    if (!r)
        return open(path, flags | O_CLOEXEC, mode);
    if (!(rt = holder(r, path, &rel)))
        return as_syscall(-EXDEV);
    return as_syscall(open_beneath_mode(rt->fd, rel, (uint64_t)flags, mode));
}

/*
 * The parent directory of path, opened beneath its root (O_PATH), and its
 * last component in *name: for the *at calls that act on a name and never
 * follow it. A root itself has no parent here: -EXDEV, except for lstat.
 */
static int open_parent(const ferry_roots *r, const char *path, char **name)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;

    *name = NULL;
    if (!slash || !slash[1] || !strcmp(slash + 1, ".") || !strcmp(slash + 1, ".."))
        return as_syscall(-EINVAL);
    if (!(dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path))) ||
        !(*name = strdup(slash + 1))) {
        free(dir);
        return as_syscall(-ENOMEM);
    }
    fd = ferry__open_in(r, dir, O_PATH | O_DIRECTORY, 0);
    free(dir);
    if (fd < 0) {
        int err = errno;
        free(*name);
        *name = NULL;
        errno = err;
    }
    return fd;
}

/* Closes what open_parent gave, keeping the errno of the call that used it. */
static ssize_t parent_done(int pfd, char *name, ssize_t rc)
{
    int err = errno;

    close(pfd);
    free(name);
    errno = err;
    return rc;
}

int ferry__lstat_in(const ferry_roots *r, const char *path, struct stat *st)
{
    const char *rel;
    const root *rt;
    char *name;
    int pfd;

    if (!r)
        return lstat(path, st);
    if ((rt = holder(r, path, &rel)) && !*rel)
        return fstat(rt->fd, st); /* a root itself (canonical: not a symlink) */
    if ((pfd = open_parent(r, path, &name)) < 0)
        return -1;
    return (int)parent_done(pfd, name, fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW));
}

int ferry__mkdir_in(const ferry_roots *r, const char *path, mode_t mode)
{
    char *name;
    int pfd;

    if (!r)
        return mkdir(path, mode);
    if ((pfd = open_parent(r, path, &name)) < 0)
        return -1;
    return (int)parent_done(pfd, name, mkdirat(pfd, name, mode));
}

int ferry__rmdir_in(const ferry_roots *r, const char *path)
{
    char *name;
    int pfd;

    if (!r)
        return rmdir(path);
    if ((pfd = open_parent(r, path, &name)) < 0)
        return -1;
    return (int)parent_done(pfd, name, unlinkat(pfd, name, AT_REMOVEDIR));
}

ssize_t ferry__readlink_in(const ferry_roots *r, const char *path, char *buf, size_t len)
{
    char *name;
    int pfd;

    if (!r)
        return readlink(path, buf, len);
    if ((pfd = open_parent(r, path, &name)) < 0)
        return -1;
    return parent_done(pfd, name, readlinkat(pfd, name, buf, len));
}

const char *ferry__strerror_in(const ferry_roots *r, int err)
{
    if (r && err == EXDEV)
        return "it leads outside the allowed roots (replaced by a symlink?)";
    return strerror(err);
}

int ferry__mkdir_p_in(const ferry_roots *r, const char *path, mode_t mode)
{
    char *copy;
    int fd, err = 0;

    if (!r)
        return ferry__mkdir_p(path, mode);
    if (!(copy = strdup(path)))
        return -ENOMEM;
    /* Each level made in its parent opened beneath the root: none can be a
     * symlink out, whatever is renamed meanwhile. */
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (ferry__mkdir_in(r, copy, mode) < 0 && errno != EEXIST && errno != EXDEV) {
            err = -errno;
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(copy);
    if (err)
        return err;
    /* Levels above a root are outside it (EXDEV above): the whole must be a
     * directory beneath it. */
    if ((fd = ferry__open_in(r, path, O_PATH | O_DIRECTORY, 0)) < 0)
        return -errno;
    close(fd);
    return 0;
}

int ferry__open_below(const ferry_roots *r, const char *path, size_t base_len, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH};
    const char *rel = path + base_len;
    int base = AT_FDCWD, fd, err;

    while (*rel == '/')
        rel++;
    if (!*rel || (base_len == 0 && (r || path[0] == '/')))
        return ferry__open_in(r, path, flags, 0);
    if (base_len > 0) {
        char *dir = strndup(path, base_len);
        if (!dir)
            return as_syscall(-ENOMEM);
        base = ferry__open_in(r, dir, O_PATH | O_DIRECTORY, 0);
        free(dir);
        if (base < 0)
            return -1;
    }
    fd = (int)syscall(SYS_openat2, base, rel, &how, sizeof(how));
    err = errno;
    if (base >= 0)
        close(base);
    errno = err;
    return fd;
}
