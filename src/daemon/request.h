/*
 * daemon/request.h: what the daemon reads from a request, apart from the
 * network: which endpoint a path names, query parameters, the gates' header
 * checks, and the JSON bodies of the API and of WebSocket messages.
 *
 * Pure functions over bytes already in memory (no HTTP library, no server
 * state), built into a library of their own (ferryrequest) that the daemon
 * and the fuzz targets (tests/fuzz/fuzz_url.c, fuzz_api_json.c) both link:
 * what is fuzzed is exactly what serves. Only req_job_spec touches the file
 * system, to check paths beneath the roots (read-only, O_PATH).
 *
 * Every refusal carries an HTTP status and a message naming the field first
 * ("sources[1]: '/x' is outside the allowed roots").
 */
#ifndef FERRY_DAEMON_REQUEST_H
#define FERRY_DAEMON_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/job.h"
#include "ferry/roots.h"

/* --- paths ---------------------------------------------------------------- */

typedef enum {
    ROUTE_NONE = 0,   /* no endpoint: 404 under /api/, a UI file elsewhere */
    ROUTE_HEALTH,     /* /api/health */
    ROUTE_METRICS,    /* /metrics */
    ROUTE_JOBS,       /* /api/jobs */
    ROUTE_CANCEL,     /* /api/cancel */
    ROUTE_FS,         /* /api/fs */
    ROUTE_EVENTS,     /* /api/events (the WebSocket) */
    ROUTE_JOB,        /* /api/jobs/ID */
    ROUTE_JOB_FILES,  /* /api/jobs/ID/files */
    ROUTE_JOB_CANCEL, /* /api/jobs/ID/cancel */
    ROUTE_JOB_RESUME, /* /api/jobs/ID/resume */
} req_route_kind;

#define REQ_GET 1u
#define REQ_POST 2u
#define REQ_ID_MAX 64 /* job ids are 10 characters; longer ones are no job's */

typedef struct {
    req_route_kind kind;
    unsigned methods;      /* REQ_GET | REQ_POST: what the endpoint takes */
    char id[REQ_ID_MAX];   /* ROUTE_JOB*: the job id, else "" */
} req_route;

/* Which endpoint the (decoded) path names; kind ROUTE_NONE when none. */
void req_match(const char *path, req_route *out);

/* True for the API's paths (/api, /api/..., /metrics): JSON errors, gated. */
bool req_is_api(const char *path);

/* True when the path needs the token: the API's paths but /api/health. */
bool req_needs_token(const char *path);

/* --- query strings ------------------------------------------------------- */

#define REQ_QUERY_MAX 64 /* parameters kept; more make the query malformed */

/*
 * The decoded "name=value" fragments of a query string, as the HTTP layer
 * split them ('&' separates; %26 inside a value is a literal '&').
 * A fragment holding a NUL byte makes the whole query malformed: a path
 * cut at a NUL would name another file than the one asked for.
 */
typedef struct {
    char **v;
    size_t n;
    bool malformed; /* a NUL byte, or more than REQ_QUERY_MAX fragments */
} req_query;

void req_query_init(req_query *q);
/* Adds a fragment of len bytes (copied); -1 out of memory. */
int req_query_add(req_query *q, const char *frag, size_t len);
void req_query_release(req_query *q);

/* The value of the first fragment named name, or NULL; borrowed from q. */
const char *req_query_get(const req_query *q, const char *name);

/* A count ("offset=20"): digits only, no sign or space, fits size_t. 0 or -1. */
int req_count(const char *v, size_t *out);

/* --- headers ------------------------------------------------------------- */

/*
 * The Host header names this server: 127.0.0.1, localhost, [::1] or the
 * listen address with the port, or an extra name (with or without it).
 */
bool req_host_allowed(const char *host, const char *listen_addr, int port,
                      const char *const *extra, size_t nextra);

/* An Origin header is this server's own origin: "http://" + Host. */
bool req_origin_ok(const char *origin, const char *host);

/* The token of an "Authorization: Bearer TOKEN" header, or NULL. */
const char *req_bearer(const char *authorization);

/* given equals want, compared in time independent of where they differ. */
bool req_token_equal(const char *given, const char *want);

/* --- JSON bodies --------------------------------------------------------- */

typedef struct {
    int status;      /* 400, 403, 413 or 503 */
    char msg[1024];
} req_error;

/* The API's error code for an HTTP status ("bad_request", "forbidden"...). */
const char *req_error_code(int status);

/* Parses a body of len bytes as a JSON object: a new reference, or NULL with
 * err filled (malformed JSON, not an object, a NUL byte). */
json_t *req_json_object(const char *body, size_t len, req_error *err);

/*
 * POST /api/jobs: fills spec from the object o (docs/api.md), each source
 * and the destination checked beneath roots. spec's strings point into o,
 * and *sources (spec->sources; owned by the caller, free() it even on
 * failure) too. 0, or -1 with err filled.
 */
int req_job_spec(json_t *o, const ferry_roots *roots, ferry_job_spec *spec,
                 const char ***sources, req_error *err);

/* POST /api/cancel: {"tag": "..."} (*tag borrowed from o) or {"all": true}. 0 or -1. */
int req_cancel_body(json_t *o, const char **tag, bool *all, req_error *err);

/* A message a WebSocket client sent. */
typedef enum {
    WSREQ_BAD = 0,   /* error says why */
    WSREQ_SUBSCRIBE, /* files: how it wants per-file results (has_files) */
    WSREQ_CANCEL,    /* id or tag */
} req_ws_kind;

/* How a WebSocket client takes per-file results ("files" of a subscribe). */
typedef enum {
    REQ_FILES_NONE = 0, /* false: none */
    REQ_FILES_EACH,     /* true (the default): one "file" message each */
    REQ_FILES_BATCH,    /* "batch": "files" messages of many results each */
} req_files_mode;

typedef struct {
    req_ws_kind kind;
    bool has_files;
    req_files_mode files;
    const char *id, *tag; /* borrowed from the message; valid until release */
    const char *error;    /* WSREQ_BAD: a static message for the client */
    json_t *o;
} req_ws_msg;

/* Parses a message of len bytes; release it after use, whatever its kind. */
void req_ws_parse(const char *text, size_t len, req_ws_msg *out);
void req_ws_release(req_ws_msg *m);

/* --- ferry serve's options ----------------------------------------------- */

/* "ADDR:PORT" (the last colon splits: "::1:8470" too) into addr and port, a
 * decimal 0..65535 (0: any free port). 0, or -1 when malformed or too long. */
int req_listen_parse(const char *s, char *addr, size_t alen, int *port);

/* A number in [lo, hi] (lo >= 0) written in decimal digits only, all of s. 0 or -1. */
int req_int_parse(const char *s, long lo, long hi, long *out);

#endif
