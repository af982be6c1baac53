/*
 * util/fault.h: fault-injection points (libfiu) at the system calls of the
 * copy and commit path.
 *
 * Built only with -DFERRY_FAULTS=ON (the sanitizer build of `make test`);
 * otherwise every point is the constant 0 and compiles away. A test enables
 * a point with fiu_enable("ferry/<name>", 1, (void *)(intptr_t)ERRNO, flags)
 * (FIU_ONETIME for a transient fault), and the call at that point fails with
 * that errno instead of running. Points: clone, cfr, read, write,
 * write_short, open, stat, tmpfile, meta, link, rename, unlink, mkdir, sync,
 * close, exr_read (the EXR check's reads, core/exr.c), kick (starting
 * writeback, core/flusher.c).
 */
#ifndef FERRY_UTIL_FAULT_H
#define FERRY_UTIL_FAULT_H

#ifdef FERRY_FAULTS
#include <errno.h>
#ifndef FIU_ENABLE
#define FIU_ENABLE 1 /* fiu.h compiles its points away without it */
#endif
#include <fiu.h>
#include <stdint.h>

static inline int ferry__fault(const char *name)
{
    if (!fiu_fail(name))
        return 0;
    void *info = fiu_failinfo();
    errno = info ? (int)(intptr_t)info : EIO;
    return 1;
}
#else
#define ferry__fault(name) 0
#endif

/* The result of `call`, or -1 with errno set when the point "ferry/<name>" fires. */
#define FERRY_SYS(name, call) (ferry__fault("ferry/" name) ? -1 : (call))

#endif
