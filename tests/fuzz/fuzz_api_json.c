/*
 * Fuzz target: the JSON the daemon reads from clients, through the daemon's
 * own parsers (src/daemon/request.c): the body of POST /api/jobs (a job
 * spec, its paths checked beneath a root), the body of POST /api/cancel, and
 * a WebSocket client message. The same bytes go to all three.
 *
 * Beyond "no crash, no leak, no undefined behaviour": a spec that is
 * accepted has only paths that really lie beneath the root (fuzz_root.h
 * resolves them again with realpath; a sequence pattern by its directory),
 * a tag of at most 128 bytes, and a
 * refusal always carries a status the API documents and a message.
 */
#define _GNU_SOURCE /* asprintf, strndup in fuzz_root.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_root.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(const req_error *e)
{
    if ((e->status != 400 && e->status != 403 && e->status != 503) || !e->msg[0])
        abort();
}

static void job_spec(json_t *o)
{
    const char **sources = NULL;
    ferry_job_spec spec;
    req_error e;

    ferry_job_spec_init(&spec);
    if (req_job_spec(o, fuzz_roots(), &spec, &sources, &e) == 0) {
        if (spec.nsources == 0 || !spec.dest || (spec.tag && strlen(spec.tag) > 128))
            abort();
        for (size_t i = 0; i < spec.nsources; i++) {
            struct stat st;
            const char *slash = strrchr(spec.sources[i], '/');
            fuzz_assert_beneath(spec.sources[i], false);
            if (lstat(spec.sources[i], &st) < 0 && slash) {
                /* A sequence pattern: its directory must lie beneath. */
                char *dir = strndup(spec.sources[i], (size_t)(slash - spec.sources[i]));
                if (dir && *dir)
                    fuzz_assert_beneath(dir, false);
                free(dir);
            }
        }
        fuzz_assert_beneath(spec.dest, true);
    } else {
        check_refusal(&e);
    }
    free(sources);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    req_error e;
    req_ws_msg m;
    json_t *o = req_json_object(text, size, &e);

    if (o) {
        const char *tag;
        bool all;
        job_spec(o);
        if (req_cancel_body(o, &tag, &all, &e) == 0 && !tag == !all)
            abort(); /* exactly one of the two */
        json_decref(o);
    } else if (e.status != 400) {
        abort();
    }
    req_ws_parse(text, size, &m);
    if (m.kind == WSREQ_BAD ? !m.error : (m.kind == WSREQ_CANCEL && !m.id && !m.tag))
        abort();
    if (m.kind == WSREQ_SUBSCRIBE && m.files > REQ_FILES_BATCH)
        abort();
    req_ws_release(&m);
    return 0;
}
