/*
 * cli/seqopts.c: the sequence options that ferry copy and ferry submit share
 * (--frames, --renumber, --pad), read and refused the same way by both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "ferry/common.h"
#include "ferry/seq.h"

/* A whole decimal integer in [lo, hi], else false. */
static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    return *s && !*end && !errno && *out >= lo && *out <= hi;
}

int cli_opt_frames(const char *cmd, const char *arg)
{
    ferry_frameset fs;

    if (ferry_frameset_parse(arg, &fs) < 0)
        return cli_usage_error(cmd, "--frames: %s", ferry_error_last());
    ferry_frameset_release(&fs);
    return 0;
}

int cli_opt_renumber(const char *cmd, const char *arg, int64_t *out)
{
    long long v;

    if (!parse_int(arg, -999999999999LL, 999999999999LL, &v))
        return cli_usage_error(cmd, "invalid --renumber '%s': expected a frame number", arg);
    *out = v;
    return 0;
}

int cli_opt_pad(const char *cmd, const char *arg, int *out)
{
    long long v;

    if (!parse_int(arg, 1, 18, &v))
        return cli_usage_error(cmd, "invalid --pad '%s': expected 1 to 18 digits", arg);
    *out = (int)v;
    return 0;
}
