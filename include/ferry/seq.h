/*
 * ferry/seq.h: frame sequences (sh010_comp_v003.1001.exr ... .1100.exr).
 *
 * A frame set is a sorted list of disjoint ranges (start, end, step), so
 * 100,000 frames cost a few hundred bytes. Notations read: "1001-1100",
 * "1001-1100x2", "1,5,10-20", "-5-5", "-10--5" and lists of these.
 *
 * A pattern is head + frame + tail. Frame notations read: "#" (four digits
 * each: "#" is 4, "##" is 8, the Nuke and Katana habit), "@" (one digit each),
 * printf "%04d" / "%d", Houdini "$F4" / "$F". Padding 0 means unpadded.
 * A frame wider than the padding is written in full (pad 3: 999, 1000).
 *
 * Grouping (docs/sequences.md): the frame is the last run of digits right
 * before the extension, preceded by '.', '_' or '-' or starting the name
 * (so "v003" in "comp_v003.exr" is a version, not a frame); files that share
 * head, tail and a compatible padding form one sequence; the rest are single.
 */
#ifndef FERRY_SEQ_H
#define FERRY_SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t start, end; /* inclusive; end >= start */
    int64_t step;       /* >= 1; end is start + k * step */
} ferry_frange;

typedef struct {
    ferry_frange *r;
    size_t n, cap;
} ferry_frameset;

void ferry_frameset_init(ferry_frameset *fs);
void ferry_frameset_release(ferry_frameset *fs);

/* Parses a frame-set notation; FERRY_EINVAL with a message on bad input. */
int ferry_frameset_parse(const char *s, ferry_frameset *out);

/* Adds one frame; frames added in increasing order extend ranges in place. */
int ferry_frameset_add(ferry_frameset *fs, int64_t frame);

/* Canonical text ("1001-1040,1043-1100"); a new string owned by the caller. */
char *ferry_frameset_format(const ferry_frameset *fs);

uint64_t ferry_frameset_count(const ferry_frameset *fs);
bool ferry_frameset_contains(const ferry_frameset *fs, int64_t frame);

/* The frames of `want` missing from `have`, as a new set in *out. */
int ferry_frameset_missing(const ferry_frameset *want, const ferry_frameset *have,
                           ferry_frameset *out);

typedef struct {
    char *head; /* "sh010_comp_v003." */
    char *tail; /* ".exr" */
    int pad;    /* digits; 0: unpadded */
} ferry_pattern;

/* Parses "dir/shot.####.exr" (any notation above); FERRY_EINVAL without a frame. */
int ferry_pattern_parse(const char *s, ferry_pattern *out);
void ferry_pattern_release(ferry_pattern *p);

/* The pattern written with '#' (style '#': "####"), '@', '%' ("%04d") or '$' ("$F4"). */
char *ferry_pattern_format(const ferry_pattern *p, char style);

/* The file name of one frame: head + padded frame + tail. */
char *ferry_pattern_frame(const ferry_pattern *p, int64_t frame);

/* True when name is a frame of the pattern (respecting its padding); *frame set. */
bool ferry_pattern_match(const ferry_pattern *p, const char *name, int64_t *frame);

/* One sequence found among names. */
typedef struct {
    ferry_pattern pattern;
    ferry_frameset frames;
    uint64_t bytes;      /* total size, when sizes were given */
} ferry_seq;

/*
 * Groups names (with their sizes, or sizes NULL) into sequences of at least
 * two frames and single files. *seqs and *singles (indexes into names) are
 * owned by the caller: ferry_seqs_free, free.
 */
int ferry_seq_group(const char *const *names, const uint64_t *sizes, size_t n, ferry_seq **seqs,
                    size_t *nseqs, size_t **singles, size_t *nsingles);
void ferry_seqs_free(ferry_seq *seqs, size_t n);

/* A directory as sequences, single files and subdirectories. */
typedef struct {
    ferry_seq *seqs;
    size_t nseqs;
    char **files;      /* single files (names) */
    uint64_t *file_bytes;
    size_t nfiles;
    char **dirs;       /* subdirectory names, sorted */
    size_t ndirs;
} ferry_seq_listing;

/* Reads a directory in one pass (one fstatat per entry for its type and
 * size) and groups it. Release with ferry_seq_listing_release. */
int ferry_seq_scan(const char *dir, ferry_seq_listing *out);
void ferry_seq_listing_release(ferry_seq_listing *l);

/* The step of a sequence's frames: k when every run of them advances by k
 * and all lie on first + i * k (1-99x2, or 1-49x2,53-99x2), else 1. */
int64_t ferry_seq_step(const ferry_frameset *frames);

/* The frames missing between a sequence's first and last frame, at its step
 * (ferry_seq_step), as a new set: none for 1-99x2, 51 for 1-49x2,53-99x2,
 * 10 and 12 for 1-9,11,13-20. */
int ferry_seq_missing(const ferry_seq *s, ferry_frameset *out);

#endif
