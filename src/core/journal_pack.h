/*
 * core/journal_pack.h: many per-file results in one journal row.
 *
 * A pack holds consecutive results of one job that share a state (a run of
 * "done" files, typically a whole group commit). Each path and destination
 * is stored as the length it shares with the previous entry's and the rest
 * (front coding): files finished one after the other mostly sit in the same
 * directory, so 20,000 results take ~0.2 MB instead of 20,000 rows, and the
 * journal's thread inserts one row where it inserted hundreds.
 *
 * Blob: the format byte 1, then per entry
 *   varint flags (1: has a destination, 2: has a message)
 *   varint shared, varint len, len bytes      the path
 *   [varint shared, varint len, len bytes]    the destination
 *   [varint len, len bytes]                   the message
 *   varint size, zigzag varint at - previous at (ms; the first from the row's at)
 * Varints are LEB128. A reader trusts nothing: every length is checked
 * against what is left, so a damaged blob ends its entries, never the process.
 */
#ifndef FERRY_CORE_JOURNAL_PACK_H
#define FERRY_CORE_JOURNAL_PACK_H

#include <stddef.h>
#include <stdint.h>

#define FERRY__PACK_FORMAT 1

/* The encoder. Strings given to add are borrowed until the next add or clear. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
    size_t n;         /* entries */
    uint64_t bytes;   /* sum of their sizes */
    int64_t first_at; /* the first entry's at: the row's */
    int64_t prev_at;
    const char *prev_path, *prev_dest;
} ferry__pack;

void ferry__pack_init(ferry__pack *p);
/* Empties p for the next pack, keeping its buffer. */
void ferry__pack_clear(ferry__pack *p);
void ferry__pack_release(ferry__pack *p);
/* Appends one result; dest and msg may be NULL. FERRY_ENOMEM leaves p as it was. */
int ferry__pack_add(ferry__pack *p, const char *path, const char *dest, const char *msg,
                    uint64_t bytes, int64_t at_ms);

/* One decoded entry; the strings live in the reader until its next call. */
typedef struct {
    const char *path;
    const char *dest; /* or NULL */
    const char *msg;  /* or NULL */
    uint64_t bytes;
    int64_t at_ms;
} ferry__pack_entry;

typedef struct {
    const unsigned char *p, *end;
    int64_t at;
    char *path, *dest, *msg; /* grown as needed; freed by release */
    size_t path_len, dest_len;
    size_t path_cap, dest_cap, msg_cap;
    int state; /* 0 reading, 1 ended, -1 damaged */
} ferry__pack_reader;

/* Reads blob (borrowed for the reader's life); at_ms is the row's at. */
void ferry__pack_reader_init(ferry__pack_reader *r, const void *blob, size_t len, int64_t at_ms);
/* 1: *e is the next entry; 0: no more; -1: the blob is damaged (and reading stops). */
int ferry__pack_next(ferry__pack_reader *r, ferry__pack_entry *e);
void ferry__pack_reader_release(ferry__pack_reader *r);

#endif
