/*
 * ferry/exr.h: the structural check of an OpenEXR file.
 *
 * A file is sound when its header parses (OpenEXRCore) and every chunk of
 * every part (scanline or tiled, deep or not, single or multi-part) lies
 * inside the file: its offset in the chunk table points past the tables and
 * its end (offset + chunk header + packed size) is at most the file size.
 * Pixels are not decoded: this finds truncated, empty, unfinished and
 * misnamed files, not damaged pixel data (docs/sequences.md).
 *
 * Both functions are thread-safe (each call owns its OpenEXRCore context)
 * and never print. They read with pread only, so the file offset of fd is
 * left alone and an unnamed O_TMPFILE descriptor can be checked before it
 * is committed.
 */
#ifndef FERRY_EXR_H
#define FERRY_EXR_H

/*
 * Checks the open file fd; name is used in the thread-local error message
 * only (NULL: "descriptor"). Returns:
 *   FERRY_OK      the file is a sound EXR;
 *   FERRY_EINVAL  it is not: *why is the cause in plain words, a new string
 *                 owned by the caller ("empty file", "truncated: chunk 12 of
 *                 20 ends at byte 812345, file has 400000 bytes", "not an EXR
 *                 file: bad magic number", "header: ...");
 *   FERRY_EOS     fstat or a read failed (EIO): the file could not be checked;
 *   FERRY_ENOMEM  out of memory.
 * why may be NULL; it is set to NULL unless FERRY_EINVAL is returned (and
 * stays NULL if the cause could not be allocated). ferry_error_last() names
 * the file and the cause on every failure.
 */
int ferry_exr_check_fd(int fd, const char *name, char **why);

/* As ferry_exr_check_fd on path opened read-only; FERRY_ENOTFOUND or
 * FERRY_EOS when it cannot be opened. */
int ferry_exr_check_path(const char *path, char **why);

#endif
