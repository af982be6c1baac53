/*
 * Fuzz target: the option values people type. Sizes and rates ("50M",
 * "1.5G", "400MB/s": --bwlimit of copy and submit, "bwlimit" of the API),
 * conflict policies (--on-conflict), and ferry serve's --listen ADDR:PORT
 * and --max-running N (src/daemon/request.c).
 *
 * Properties: a size written as plain decimal digits reads as that number
 * (to double precision: strtod is the reader); a listen address splits
 * into an address and a port that print back to the same text; an integer
 * option is in its range and prints back to its text.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/job.h"
#include "ferry/size.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_size(const char *s)
{
    char buf[32];
    uint64_t v;
    size_t digits = strspn(s, "0123456789");

    if (ferry_size_parse(s, &v) != FERRY_OK)
        return;
    ferry_size_format(v, buf, sizeof(buf));
    if (digits > 0 && digits == strlen(s)) {
        double want = strtod(s, NULL), got = (double)v;
        if (fabs(got - want) > want * 0x1p-52 + 0.5)
            abort(); /* "10000000000000000000" must not read as another number */
    }
}

static void check_listen(const char *s)
{
    char addr[64], again[128];
    int port;

    if (req_listen_parse(s, addr, sizeof(addr), &port) < 0)
        return;
    if (port < 0 || port > 65535 || !addr[0])
        abort();
    /* Leading zeros of the port are the only thing that may not print back. */
    const char *p = strrchr(s, ':') + 1;
    while (*p == '0' && p[1])
        p++;
    snprintf(again, sizeof(again), "%s:%d", addr, port);
    if (strncmp(again, s, strlen(addr) + 1) || strcmp(strrchr(again, ':') + 1, p))
        abort();
}

static void check_int(const char *s)
{
    char again[32];
    long v;

    if (req_int_parse(s, 1, 1000, &v) < 0)
        return;
    if (v < 1 || v > 1000)
        abort();
    snprintf(again, sizeof(again), "%ld", v);
    while (*s == '0' && s[1])
        s++;
    if (strcmp(again, s))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    ferry_conflict c;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_size(s);
    if (ferry_conflict_parse(s, &c) == FERRY_OK && strcmp(ferry_conflict_name(c), s))
        abort();
    check_listen(s);
    check_int(s);
    free(s);
    return 0;
}
