/*
 * util/error.h: setting the thread-local error message behind ferry_error_last().
 * Messages name the file, the operation and the errno text:
 *     open 'plates/a.exr': Permission denied
 */
#ifndef FERRY_UTIL_ERROR_H
#define FERRY_UTIL_ERROR_H

#include <stdarg.h>

#include "ferry/common.h"

/* Sets the message from a printf format; returns code, so `return ferry__error(...)` reads well. */
int ferry__error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As ferry__error(), then appends ": strerror(err)". */
int ferry__error_os(int code, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The FERRY_E* code that fits an errno from a failed file operation. */
int ferry__code_of_errno(int err);

#endif
