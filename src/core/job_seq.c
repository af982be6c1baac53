/*
 * core/job_seq.c: a job's sequence sources as summaries (ferry/job.h):
 * the frames planned and missing, and which frames are done, skipped or
 * failed so far, as frame sets (a few ranges, however many frames).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "core/job_priv.h"
#include "util/error.h"
#include "util/str.h"

void ferry_seq_summaries_free(ferry_seq_summary *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        free(s[i].source);
        free(s[i].dest);
        free(s[i].frames);
        free(s[i].missing);
        free(s[i].done);
        free(s[i].skipped);
        free(s[i].failed);
    }
    free(s);
}

/* "/out" + "comp.%04d.exr" -> "/out/comp.####.exr" */
static char *dest_pattern(const ferry__target *t)
{
    ferry_pattern p;
    char *name, *out;

    if (ferry_pattern_parse(t->dest_name, &p))
        return NULL;
    name = ferry_pattern_format(&p, '#');
    out = name ? ferry__path_join(t->dest_dir, name) : NULL;
    free(name);
    ferry_pattern_release(&p);
    return out;
}

static int summarize(const ferry_job *job, const ferry__seqstate *st, ferry_seq_summary *out)
{
    const ferry__target *t = &job->targets[st->plan.target];
    ferry_frameset by[4]; /* indexed by ferry_file_result */
    size_t pos = 0;
    int rc = FERRY_OK;

    for (int k = 0; k < 4; k++)
        ferry_frameset_init(&by[k]);
    for (size_t i = 0; i < st->plan.planned.n && !rc; i++) {
        const ferry_frange *r = &st->plan.planned.r[i];
        for (int64_t f = r->start; f <= r->end && pos < st->plan.n && !rc; f += r->step) {
            unsigned res = atomic_load(&st->result[pos++]);
            if (res >= FERRY_FILE_DONE && res <= FERRY_FILE_FAILED)
                rc = ferry_frameset_add(&by[res], f);
        }
    }
    out->source = strdup(t->src);
    out->dest = dest_pattern(t);
    out->frames = ferry_frameset_format(&st->plan.planned);
    out->missing = ferry_frameset_format(&st->plan.missing);
    out->done = ferry_frameset_format(&by[FERRY_FILE_DONE]);
    out->skipped = ferry_frameset_format(&by[FERRY_FILE_SKIPPED]);
    out->failed = ferry_frameset_format(&by[FERRY_FILE_FAILED]);
    out->nframes = st->plan.n;
    out->nmissing = ferry_frameset_count(&st->plan.missing);
    out->ndone = ferry_frameset_count(&by[FERRY_FILE_DONE]);
    out->nskipped = ferry_frameset_count(&by[FERRY_FILE_SKIPPED]);
    out->nfailed = ferry_frameset_count(&by[FERRY_FILE_FAILED]);
    for (int k = 0; k < 4; k++)
        ferry_frameset_release(&by[k]);
    if (!rc && (!out->source || !out->dest || !out->frames || !out->missing || !out->done ||
                !out->skipped || !out->failed))
        rc = FERRY_ENOMEM;
    return rc;
}

int ferry_job_sequences(ferry_job *job, ferry_seq_summary **out, size_t *n)
{
    int rc = FERRY_OK;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&job->lock);
    if (job->nseqs && !(*out = calloc(job->nseqs, sizeof(**out))))
        rc = FERRY_ENOMEM;
    for (size_t i = 0; !rc && i < job->nseqs; i++) {
        rc = summarize(job, &job->seqs[i], &(*out)[i]);
        *n = i + 1;
    }
    pthread_mutex_unlock(&job->lock);
    if (rc) {
        ferry_seq_summaries_free(*out, *n);
        *out = NULL;
        *n = 0;
        return ferry__error(rc, "out of memory");
    }
    return FERRY_OK;
}
