/*
 * tests/fuzz/fuzz_root.h: a fixed root for the fuzz targets that check paths
 * (fuzz_api_json, fuzz_url), and the oracle that says whether a path the
 * daemon accepted really lies beneath it.
 *
 * The root is always /tmp/ferry-fuzz-root, so that seeds and the fuzzer's
 * mutations can name it; it is made once per process (idempotent, so several
 * targets may share it) and holds the traps: symlinks inside (relative and
 * absolute), symlinks out ("/", "..", the sentinel directory beside the root),
 * a loop, and a file to be used as a directory.
 *
 * The oracle resolves with realpath(3), in user space, independently of the
 * kernel's RESOLVE_BENEATH that the daemon relies on.
 */
#ifndef FERRY_FUZZ_ROOT_H
#define FERRY_FUZZ_ROOT_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/roots.h"

#define FUZZ_ROOT "/tmp/ferry-fuzz-root"
#define FUZZ_OUTSIDE "/tmp/ferry-fuzz-outside"

static void fuzz_root_make(void)
{
    static const char *const dirs[] = {FUZZ_ROOT, FUZZ_ROOT "/dir", FUZZ_ROOT "/dir/sub",
                                       FUZZ_OUTSIDE};
    static const char *const links[][2] = {
        {"dir", FUZZ_ROOT "/in"},
        {FUZZ_ROOT "/dir", FUZZ_ROOT "/abs-in"},
        {"/", FUZZ_ROOT "/out"},
        {"..", FUZZ_ROOT "/up"},
        {"../../ferry-fuzz-outside", FUZZ_ROOT "/dir/sentinel"},
        {FUZZ_OUTSIDE "/secret", FUZZ_ROOT "/secret-link"},
        {"loop", FUZZ_ROOT "/loop"},
        {"../ferry-fuzz-outside/nothing", FUZZ_ROOT "/dangle-out"},
        {FUZZ_OUTSIDE "/nothing", FUZZ_ROOT "/dangle-abs"},
        {"missing", FUZZ_ROOT "/dangle-in"},
    };
    int fd;

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
            abort();
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
            abort();
    if ((fd = open(FUZZ_ROOT "/dir/file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0)
        close(fd);
    if ((fd = open(FUZZ_OUTSIDE "/secret", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0)
        close(fd);
}

/* The roots object of the fuzz root, made on first use and kept. */
static const ferry_roots *fuzz_roots(void)
{
    static ferry_roots *roots;
    const char *dirs[] = {FUZZ_ROOT};

    if (!roots) {
        fuzz_root_make();
        if (ferry_roots_new(&roots, dirs, 1) != 0)
            abort();
    }
    return roots;
}

static bool fuzz_under_root(const char *real)
{
    size_t n = strlen(FUZZ_ROOT);
    return !strncmp(real, FUZZ_ROOT, n) && (real[n] == '\0' || real[n] == '/');
}

static bool fuzz_has_dotdot(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")); s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
            return true;
    return false;
}

/*
 * Aborts when path, which the daemon accepted, resolves outside the root.
 * A path that does not exist (may_be_missing) is judged by its deepest
 * existing ancestor: its missing part may hold no "..", and a dangling
 * symlink at the boundary is followed (by name) as the kernel would.
 */
static void fuzz_assert_beneath_at(const char *path, bool may_be_missing, int depth)
{
    char *copy = strdup(path), *real = NULL;
    size_t len;

    if (!copy || depth > 40)
        goto out;
    while (!(real = realpath(copy, NULL))) {
        if (errno != ENOENT || !may_be_missing)
            goto out; /* ELOOP, ENOTDIR, ENAMETOOLONG: realpath cannot judge it */
        len = strlen(copy);
        while (len > 1 && copy[len - 1] != '/')
            len--;
        if (len <= 1)
            goto out;
        copy[len - 1] = '\0';
    }
    if (!fuzz_under_root(real)) {
        fprintf(stderr, "escape: '%s' resolves to '%s'\n", path, real);
        abort();
    }
    if (strcmp(copy, path)) {
        const char *rest = path + strlen(copy) + 1, *slash = strchr(rest, '/');
        int nlen = slash ? (int)(slash - rest) : (int)strlen(rest);
        char *link = NULL, *follow = NULL, target[PATH_MAX];
        ssize_t n = -1;
        if (asprintf(&link, "%s/%.*s", real, nlen, rest) >= 0)
            n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            /* A dangling symlink: what it names, then the rest. */
            target[n] = '\0';
            if (asprintf(&follow, "%s%s%s%s", target[0] == '/' ? "" : real,
                         target[0] == '/' ? "" : "/", target, slash ? slash : "") >= 0)
                fuzz_assert_beneath_at(follow, true, depth + 1);
            free(follow);
        } else if (fuzz_has_dotdot(rest)) {
            fprintf(stderr, "escape: '%s' has '..' after its existing part\n", path);
            abort();
        }
        free(link);
    }
out:
    free(real);
    free(copy);
}

static void fuzz_assert_beneath(const char *path, bool may_be_missing)
{
    fuzz_assert_beneath_at(path, may_be_missing, 0);
}

#endif
