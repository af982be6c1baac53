/* util/size.c: parsing and formatting byte counts ("1.5G", "244 MiB"). */
#include "ferry/size.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h> /* units are read case-insensitively: "50m" is 50M */

#include "util/error.h"

struct unit {
    const char *name;
    double factor;
};

/* Longest names first so "KiB" is not read as "K" + junk. */
static const struct unit units[] = {
    {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
    {"KB", 1e3},     {"MB", 1e6},        {"GB", 1e9},           {"TB", 1e12},
    {"K", 1024.0},   {"M", 1048576.0},   {"G", 1073741824.0},   {"T", 1099511627776.0},
    {"B", 1.0},      {"", 1.0},
};

int ferry_size_parse(const char *s, uint64_t *out)
{
    const char *p = s;
    char *end;
    double v;
    size_t n;

    if (!s || !*s)
        return ferry__error(FERRY_EINVAL, "empty size");
    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p) && *p != '.')
        return ferry__error(FERRY_EINVAL, "invalid size '%s': expected a number such as 50M", s);
    v = strtod(p, &end);
    if (end == p || !isfinite(v) || v < 0)
        return ferry__error(FERRY_EINVAL, "invalid size '%s'", s);
    while (isspace((unsigned char)*end))
        end++;
    n = strlen(end);
    /* A rate may be written "50M/s" or "50MB/s". */
    if (n >= 2 && strcmp(end + n - 2, "/s") == 0)
        n -= 2;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t un = strlen(units[i].name);
        if (un != n || strncasecmp(end, units[i].name, n) != 0)
            continue;
        v *= units[i].factor;
        /* The literal is 2^64 as a double: below it, round() fits a uint64_t
         * (llround would not: its long long overflows from 2^63 on). */
        if (v >= 18446744073709551615.0)
            return ferry__error(FERRY_EINVAL, "size '%s' is too large", s);
        *out = (uint64_t)round(v);
        return FERRY_OK;
    }
    return ferry__error(FERRY_EINVAL, "invalid size '%s': unknown unit '%.*s'", s, (int)n, end);
}

char *ferry_size_format(uint64_t n, char *buf, size_t len)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    size_t i = 0;

    while (v >= 1024.0 && i + 1 < sizeof(names) / sizeof(names[0])) {
        v /= 1024.0;
        i++;
    }
    if (i == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else if (v < 10.0)
        snprintf(buf, len, "%.1f %s", v, names[i]);
    else
        snprintf(buf, len, "%.0f %s", v, names[i]);
    return buf;
}
