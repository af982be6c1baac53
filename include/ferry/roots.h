/*
 * ferry/roots.h: confining paths beneath allowed root directories.
 *
 * A path is allowed when it resolves beneath one of the roots with the
 * kernel's RESOLVE_BENEATH semantics (openat2): neither ".." nor a symlink,
 * absolute or relative, can lead outside; symlinks that stay inside are fine.
 * A destination that does not exist yet is checked through its deepest
 * existing ancestor, and its missing components may not contain "..".
 */
#ifndef FERRY_ROOTS_H
#define FERRY_ROOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ferry_roots ferry_roots;

/* Opens each root directory (they must exist); *out owned by the caller. */
int ferry_roots_new(ferry_roots **out, const char *const *dirs, size_t n);
void ferry_roots_free(ferry_roots *r);

/*
 * FERRY_OK when the absolute path lies beneath a root; FERRY_EINVAL for a
 * relative path; FERRY_ENOTFOUND when it does not exist (and may_be_missing
 * is false); FERRY_EOUTSIDE when it leads outside every root.
 */
int ferry_roots_check(const ferry_roots *r, const char *path, bool may_be_missing);

/* One entry of a directory listing. */
typedef struct {
    char *name;
    char type; /* 'd' directory, 'f' regular file, 'l' symlink, 'o' other */
    uint64_t size;
    int64_t mtime; /* Unix seconds */
} ferry_dirent;

/*
 * Lists the directory `path` beneath a root (opened with RESOLVE_BENEATH, so
 * the listing cannot leave the root either): directories first, then by
 * name, at most `max` entries (*truncated tells). *out owned by the caller.
 */
int ferry_roots_list(const ferry_roots *r, const char *path, size_t max, ferry_dirent **out,
                     size_t *n, bool *truncated);
void ferry_dirents_free(ferry_dirent *v, size_t n);

size_t ferry_roots_count(const ferry_roots *r);
const char *ferry_roots_path(const ferry_roots *r, size_t i);

#endif
