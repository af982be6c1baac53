/*
 * ferry/common.h: error codes, version and the thread-local error message.
 *
 * Every libferry function that can fail returns 0 or a negative FERRY_E*
 * code. The human message ("open 'a.exr': Permission denied") is kept per
 * thread and read with ferry_error_last(). Codes are never renumbered.
 */
#ifndef FERRY_COMMON_H
#define FERRY_COMMON_H

#define FERRY_VERSION "0.1.0"

enum {
    FERRY_OK = 0,
    FERRY_ERROR = -1,       /* generic failure; see ferry_error_last() */
    FERRY_ENOMEM = -2,      /* out of memory */
    FERRY_EINVAL = -3,      /* bad argument, option or input */
    FERRY_ENOTFOUND = -4,   /* no such file, job or entry */
    FERRY_EEXISTS = -5,     /* destination exists and policy says fail */
    FERRY_ECANCELLED = -6,  /* the operation was cancelled */
    FERRY_EOS = -7,         /* a system call failed; errno text in message */
    FERRY_ECHANGED = -8,    /* source changed during copy */
    FERRY_ENOSPACE = -9,    /* destination full (ENOSPC, EDQUOT): job stops */
    FERRY_EUNSUPPORTED = -10, /* not supported by this filesystem or kernel */
    FERRY_ETIMEOUT = -11,   /* a wait ran out of time */
    FERRY_EENDED = -12,     /* the job already ended (done or failed) */
    FERRY_EOUTSIDE = -13    /* the path leads outside the allowed roots */
};

/* The message of the last error on this thread; never NULL. */
const char *ferry_error_last(void);

/* The library's version string, FERRY_VERSION. */
const char *ferry_version(void);

#endif
