/*
 * ferry/size.h: byte counts and rates as people write them.
 *
 * "50M", "1.5G", "400MB", "2GiB", "1024": K, M, G, T and KiB.. are powers of
 * 1024 (as rsync, curl and rclone read them); KB, MB, GB, TB are powers of
 * 1000. A trailing "/s" or "B/s" is accepted, so "50MB/s" reads as a rate.
 */
#ifndef FERRY_SIZE_H
#define FERRY_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into *out bytes. FERRY_EINVAL with a message on bad input or overflow. */
int ferry_size_parse(const char *s, uint64_t *out);

/* Formats n bytes with IEC units ("244 MiB", "812 B") into buf; returns buf. */
char *ferry_size_format(uint64_t n, char *buf, size_t len);

#endif
