/* util/str.h: small string helpers; all allocations are checked by the caller. */
#ifndef FERRY_UTIL_STR_H
#define FERRY_UTIL_STR_H

#include <stddef.h>

/* A new heap string from a printf format, or NULL when out of memory. */
char *ferry__strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "dir" + "/" + "name" (no doubled slash), or NULL when out of memory. */
char *ferry__path_join(const char *dir, const char *name);

/* The last component of path, ignoring trailing slashes, as a new string. */
char *ferry__path_base(const char *path);

/* Everything before the last component ("." when none), as a new string. */
char *ferry__path_dir(const char *path);

#endif
