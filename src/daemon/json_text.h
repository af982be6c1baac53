/*
 * daemon/json_text.h: JSON text written by hand, for the one message the
 * daemon sends by the million: a file result, sent to every WebSocket client
 * that takes them (docs/api.md). Built through jansson (set each string into
 * an object, which checks and copies it, then print it, which decodes it
 * again) it cost about 2 us a result, the largest share of the service
 * thread's time beside send() with 100 watchers. Everything else the daemon
 * writes goes through jansson.
 *
 * The bytes are the ones jansson writes (json_dumps with JSON_COMPACT, keys
 * in insertion order), checked against it by tests/unit/test_json_text.c and
 * tests/fuzz/fuzz_json_text.c.
 */
#ifndef FERRY_DAEMON_JSON_TEXT_H
#define FERRY_DAEMON_JSON_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes json_quote writes for a string of n bytes: every byte
 * written as \u00XX, between quotes. */
#define JSON_QUOTE_MAX(n) (6 * (size_t)(n) + 2)

/*
 * Writes the n bytes at s as a JSON string, escaped as jansson escapes it,
 * to out, which has room for JSON_QUOTE_MAX(n) bytes (and at least 4); or
 * `null` when s is NULL or not valid UTF-8 (overlong forms, surrogates and
 * code points past U+10FFFF included), as json_string() refuses those.
 * Returns the number of bytes written. Nothing is terminated.
 */
size_t json_quote(char *out, const char *s, size_t n);

/* A file result, the fields of a "file" message (strings may be NULL). */
typedef struct {
    const char *job_id;
    const char *path;
    const char *dest;
    const char *state;
    const char *error;
    uint64_t bytes;
} json_file_result;

/* The most bytes json_file_message writes for r. */
size_t json_file_message_max(const json_file_result *r);

/*
 * Writes r as the "file" message of docs/api.md,
 * {"type":"file","job_id":...,"path":...,"dest":...,"state":...,"error":...,"bytes":N},
 * to out, which has room for json_file_message_max(r) bytes. Returns the
 * number of bytes written; nothing is terminated.
 */
size_t json_file_message(char *out, const json_file_result *r);

#endif
