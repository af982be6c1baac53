/* util/error.c: the thread-local last error message. */
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Long enough for two PATH_MAX paths and the errno text; longer is cut. */
static _Thread_local char last_error[2 * 4096 + 256];

const char *ferry_error_last(void)
{
    return last_error[0] ? last_error : "no error";
}

const char *ferry_version(void)
{
    return FERRY_VERSION;
}

int ferry__error(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return code;
}

int ferry__error_os(int code, int err, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    n = strlen(last_error);
    snprintf(last_error + n, sizeof(last_error) - n, ": %s", strerror(err));
    return code;
}

int ferry__code_of_errno(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        return FERRY_ENOTFOUND;
    case EEXIST:
        return FERRY_EEXISTS;
    case ENOSPC:
    case EDQUOT:
        return FERRY_ENOSPACE;
    case ENOMEM:
        return FERRY_ENOMEM;
    case EOPNOTSUPP:
        return FERRY_EUNSUPPORTED;
    default:
        return FERRY_EOS;
    }
}
