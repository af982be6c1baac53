/* util/str.c: small string helpers. */
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ferry__strfmt(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = malloc((size_t)n + 1)))
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *ferry__path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);

    if (!strcmp(dir, "."))
        return strdup(name);
    if (n > 0 && dir[n - 1] == '/')
        return ferry__strfmt("%s%s", dir, name);
    return ferry__strfmt("%s/%s", dir, name);
}

/* Length of path without trailing slashes (but "/" stays "/"). */
static size_t trimmed_len(const char *path)
{
    size_t n = strlen(path);

    while (n > 1 && path[n - 1] == '/')
        n--;
    return n;
}

char *ferry__path_base(const char *path)
{
    size_t n = trimmed_len(path), start = n;

    while (start > 0 && path[start - 1] != '/')
        start--;
    if (start == n) /* "/" */
        return strdup("/");
    return strndup(path + start, n - start);
}

char *ferry__path_dir(const char *path)
{
    size_t n = trimmed_len(path);

    while (n > 0 && path[n - 1] != '/')
        n--;
    if (n == 0)
        return strdup(".");
    while (n > 1 && path[n - 1] == '/')
        n--;
    return strndup(path, n);
}
