/*
 * core/manager.c: many jobs, one pool, one journal; see ferry/manager.h.
 *
 * Lock: m->lock guards the job list and the running count. It is never held
 * while calling into the journal (whose writer thread calls back into the
 * manager for counters) or into a job's start (which may call on_end).
 * Order where both are taken: journal lock, then m->lock.
 */
#define _GNU_SOURCE
#include "ferry/manager.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/commit.h"
#include "core/job_priv.h"
#include "core/journal.h"
#include "core/pool.h"
#include "core/roots_priv.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/array.h"
#include "util/fs.h"
#include "util/str.h"

typedef struct mjob {
    ferry_job *job;
    int64_t created_at; /* Unix ms as journalled, or 0: ask the journal (a resumed job) */
    bool started;       /* handed to ferry__job_start_in; under m->lock */
    bool waited;        /* close has waited for it (close's thread only) */
    bool superseded;    /* resumed in this process: a newer mjob has its id (under m->lock) */
    struct mjob *next;  /* submit order */
} mjob;

struct ferry_manager {
    ferry_manager_opts opts;
    char *state_dir;
    char *notice;
    ferry_bus *bus;
    ferry__pool *pool;
    ferry__journal *journal; /* NULL without a journal */
    pthread_mutex_t lock;
    mjob *jobs, *tail;
    unsigned running;
};

void ferry_manager_opts_init(ferry_manager_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
}

static char *default_state_dir(void)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

    if (xdg && *xdg == '/')
        return ferry__strfmt("%s/ferry", xdg);
    return ferry__strfmt("%s/.local/state/ferry", home && *home ? home : "/tmp");
}

/* The current job of that id: a job resumed in this process supersedes its ended self. */
static mjob *find_locked(ferry_manager *m, const char *id)
{
    for (mjob *j = m->jobs; j; j = j->next)
        if (!j->superseded && !strcmp(ferry_job_id(j->job), id))
            return j;
    return NULL;
}

static bool progress_of(void *arg, const char *id, ferry_progress *out)
{
    return ferry_manager_progress(arg, id, out) == FERRY_OK;
}

/* --- specs as JSON, for the journal and resume ---------------------------- */

/*
 * A path as the journal keeps it: absolute, against the directory of the
 * process that submits (a job is resumed from anywhere). Lexical: symlinks
 * on the way are kept, as the user named them. A jansson string, or NULL.
 */
static json_t *abs_path(const char *cwd, const char *path)
{
    char *joined;
    json_t *j;

    if (path[0] == '/' || !cwd)
        return json_string(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2 + strspn(path + 2, "/");
    joined = !strcmp(path, ".") || !*path ? strdup(cwd) : ferry__path_join(cwd, path);
    j = joined ? json_string(joined) : NULL;
    free(joined);
    return j;
}

static char *spec_json(const ferry_job *job)
{
    const ferry_job_spec *s = &job->spec;
    json_t *o = json_object(), *src = json_array(), *tg = json_array();
    char *out, *cwd = getcwd(NULL, 0);

    for (size_t i = 0; i < s->nsources; i++)
        json_array_append_new(src, abs_path(cwd, s->sources[i]));
    for (size_t i = 0; i < job->ntargets; i++) {
        const ferry__target *t = &job->targets[i];
        json_t *a = json_pack("[ooo]", abs_path(cwd, t->src), abs_path(cwd, t->dest_dir),
                              json_string(t->dest_name));
        if (a && t->seq) { /* [src, dir, name pattern, frames or null, shift, consecutive] */
            json_array_append_new(a, t->frames ? json_string(t->frames) : json_null());
            json_array_append_new(a, json_integer((json_int_t)t->shift));
            json_array_append_new(a, json_boolean(t->consecutive));
        }
        json_array_append_new(tg, a);
    }
    json_object_set_new(o, "sources", src);
    json_object_set_new(o, "dest", abs_path(cwd, s->dest));
    free(cwd);
    json_object_set_new(o, "dest_is_dir", json_boolean(s->dest_is_dir));
    json_object_set_new(o, "on_conflict", json_string(ferry_conflict_name(s->on_conflict)));
    json_object_set_new(o, "bwlimit", json_integer((json_int_t)s->bwlimit));
    json_object_set_new(o, "fsync", json_boolean(!s->no_fsync));
    json_object_set_new(o, "temp_names", json_boolean(s->temp_names));
    json_object_set_new(o, "workers", json_integer(s->workers));
    if (s->tag)
        json_object_set_new(o, "tag", json_string(s->tag));
    if (s->check_exr)
        json_object_set_new(o, "check_exr", json_true());
    json_object_set_new(o, "targets", tg);
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

/*
 * Rebuilds a job from its journalled spec. Non-UTF-8 paths cannot pass
 * through JSON (jansson refuses them at submit), so such jobs have no
 * targets and cannot be resumed; that is reported.
 */
static int job_of_json(ferry_manager *m, const char *id, const char *text, ferry_job **out)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr), *tg = json_object_get(o, "targets"),
           *src = json_object_get(o, "sources");
    ferry_job_spec spec;
    ferry__target *targets = NULL;
    const char **sources = NULL;
    size_t nt = json_array_size(tg), ns = json_array_size(src);
    int rc = FERRY_OK;

    ferry_job_spec_init(&spec);
    if (!o || !json_string_value(json_object_get(o, "dest")) || nt == 0) {
        json_decref(o);
        return ferry__error(FERRY_EINVAL, "job %s: its journalled spec cannot be read", id);
    }
    sources = calloc(ns ? ns : 1, sizeof(char *));
    targets = calloc(nt, sizeof(*targets));
    if (!sources || !targets) {
        rc = ferry__error(FERRY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ns; i++)
        sources[i] = json_string_value(json_array_get(src, i)) ?: "";
    for (size_t i = 0; i < nt; i++) {
        json_t *t = json_array_get(tg, i);
        targets[i].src = strdup(json_string_value(json_array_get(t, 0)) ?: "");
        targets[i].dest_dir = strdup(json_string_value(json_array_get(t, 1)) ?: "");
        targets[i].dest_name = strdup(json_string_value(json_array_get(t, 2)) ?: "");
        if (json_array_size(t) >= 5) { /* journals before consecutive numbering: 5 */
            const char *frames = json_string_value(json_array_get(t, 3));
            targets[i].seq = true;
            targets[i].frames = frames ? strdup(frames) : NULL;
            targets[i].shift = (int64_t)json_integer_value(json_array_get(t, 4));
            targets[i].consecutive = json_is_true(json_array_get(t, 5));
        }
    }
    spec.sources = sources;
    spec.nsources = ns;
    spec.dest = json_string_value(json_object_get(o, "dest"));
    spec.dest_is_dir = json_is_true(json_object_get(o, "dest_is_dir"));
    ferry_conflict_parse(json_string_value(json_object_get(o, "on_conflict")), &spec.on_conflict);
    spec.bwlimit = (uint64_t)json_integer_value(json_object_get(o, "bwlimit"));
    spec.no_fsync = json_is_false(json_object_get(o, "fsync"));
    spec.temp_names = json_is_true(json_object_get(o, "temp_names"));
    spec.workers = (unsigned)json_integer_value(json_object_get(o, "workers"));
    spec.tag = json_string_value(json_object_get(o, "tag"));
    spec.check_exr = json_is_true(json_object_get(o, "check_exr"));
    spec.roots = m->opts.roots;
    rc = ferry__job_new_restored(out, &spec, m->bus, id, targets, nt);
    targets = NULL; /* taken over, even on failure */
out:
    ferry__targets_free(targets, nt);
    free(sources);
    json_decref(o);
    return rc;
}

/* --- scheduling ----------------------------------------------------------- */

static void on_job_end(ferry_job *job, void *arg);

/* Starts queued jobs while slots are free; outside m->lock for the starts. */
static void schedule(ferry_manager *m)
{
    ferry_job *start[16];
    size_t n;

    do {
        n = 0;
        pthread_mutex_lock(&m->lock);
        for (mjob *j = m->jobs; j && n < 16 && m->running < m->opts.max_running; j = j->next) {
            if (j->started)
                continue;
            j->started = true;
            m->running++;
            start[n++] = j->job;
        }
        pthread_mutex_unlock(&m->lock);
        for (size_t i = 0; i < n; i++)
            ferry__job_start_in(start[i], m->pool, on_job_end, m);
    } while (n == 16);
}

static void on_job_end(ferry_job *job, void *arg)
{
    ferry_manager *m = arg;

    (void)job;
    pthread_mutex_lock(&m->lock);
    m->running--;
    pthread_mutex_unlock(&m->lock);
    schedule(m);
}

static void add_job(ferry_manager *m, ferry_job *job, int64_t created_at)
{
    mjob *j = calloc(1, sizeof(*j));

    if (!j)
        return;
    j->job = job;
    j->created_at = created_at;
    job->close_discards_at_end = !m->opts.keep_discards; /* before its runner starts */
    pthread_mutex_lock(&m->lock);
    mjob *old = find_locked(m, ferry_job_id(job));
    if (old)
        old->superseded = true;
    if (m->tail)
        m->tail->next = j;
    else
        m->jobs = j;
    m->tail = j;
    pthread_mutex_unlock(&m->lock);
}

/* --- public API ----------------------------------------------------------- */

static void sweep_interrupted(ferry_manager *m)
{
    size_t n;
    char **ids = ferry__journal_interrupted(m->journal, &n);
    unsigned removed = 0;

    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        ferry_job_state st;
        ferry_job *job = NULL;
        if (ferry__journal_spec(m->journal, ids[i], &text, &st) == FERRY_OK &&
            job_of_json(m, ids[i], text, &job) == FERRY_OK) {
            for (size_t t = 0; t < job->ntargets; t++) {
                ferry__sweep_tree(job->targets[t].dest_dir, &removed);
            }
            job->finished = true;
            ferry_job_free(job);
        }
        free(text);
    }
    ferry__journal_mark_interrupted(m->journal); /* after the sweep: see journal.h */
    if (n > 0) {
        char *note = ferry__strfmt("%s%s%zu job%s interrupted by the end of an earlier process%s",
                                   m->notice ? m->notice : "", m->notice ? "; " : "", n,
                                   n == 1 ? "" : "s", removed ? "; its temp files removed" : "");
        free(m->notice);
        m->notice = note;
    }
}

int ferry_manager_open(ferry_manager **out, const ferry_manager_opts *opts)
{
    ferry_manager *m = calloc(1, sizeof(*m));
    int rc;

    if (!m)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    m->opts = *opts;
    if (!m->opts.max_running)
        m->opts.max_running = 4;
    if (!m->opts.workers)
        m->opts.workers = FERRY_DEFAULT_WORKERS;
    pthread_mutex_init(&m->lock, NULL);
    m->state_dir = opts->state_dir ? strdup(opts->state_dir) : default_state_dir();
    if (!m->state_dir || (rc = ferry_bus_new(&m->bus)) || (rc = ferry__pool_new(&m->pool, m->opts.workers))) {
        ferry_manager_close(m);
        return ferry__error(FERRY_ENOMEM, "out of memory");
    }
    if (!opts->no_journal) {
        char *note = NULL;
        rc = ferry__journal_open(&m->journal, m->state_dir, m->bus, progress_of, m, &note);
        m->notice = note;
        if (rc) {
            /* Never block copying on the journal: go on without it, and say so. */
            char *msg = ferry__strfmt("journal disabled: %s", ferry_error_last());
            free(m->notice);
            m->notice = msg;
            m->journal = NULL;
        } else {
            sweep_interrupted(m);
        }
    }
    *out = m;
    return FERRY_OK;
}

const char *ferry_manager_notice(ferry_manager *m)
{
    return m->notice;
}

ferry_bus *ferry_manager_bus(ferry_manager *m)
{
    return m->bus;
}

int ferry_manager_submit(ferry_manager *m, const ferry_job_spec *asked, char id[16])
{
    ferry_job_spec confined = *asked, *spec = &confined;
    int64_t created_at = (int64_t)(ferry__wall_ns() / FERRY_NS_PER_MS);
    ferry_job *job;
    int rc;

    if (!spec->roots)
        spec->roots = m->opts.roots;
    if ((rc = ferry_job_new(&job, spec, m->bus)))
        return rc;
    if (m->journal) {
        char *js = spec_json(job);
        if (!js) {
            /* jansson refuses non-UTF-8 paths: copy anyway, journal the bare job */
            js = ferry__strfmt("{\"dest\":null,\"note\":\"paths are not UTF-8\"}");
        }
        rc = js ? ferry__journal_add(m->journal, ferry_job_id(job), spec->tag, js,
                                     FERRY_JOB_QUEUED, created_at)
                : FERRY_ENOMEM;
        free(js);
        if (rc) {
            job->finished = true;
            ferry_job_free(job);
            return rc;
        }
    }
    snprintf(id, 16, "%s", ferry_job_id(job));
    add_job(m, job, created_at);
    schedule(m);
    return FERRY_OK;
}

int ferry_manager_cancel(ferry_manager *m, const char *id)
{
    mjob *j;
    ferry_job_info *infos = NULL;
    size_t n = 0;
    int rc;

    pthread_mutex_lock(&m->lock);
    j = find_locked(m, id);
    pthread_mutex_unlock(&m->lock);
    if (j)
        return ferry_job_cancel(j->job); /* jobs are freed only at close */
    if (!m->journal)
        return ferry__error(FERRY_ENOTFOUND, "no job '%s'", id);
    /* Not live here: the journal tells whether it ever existed and how it ended. */
    rc = ferry__journal_list(m->journal, id, NULL, NULL, &infos, &n);
    for (size_t i = 0; rc == FERRY_OK && i < n; i++) {
        if (strcmp(infos[i].id, id))
            continue;
        rc = infos[i].state == FERRY_JOB_CANCELLED
                 ? FERRY_OK
                 : ferry__error(FERRY_EENDED, "job %s already ended (%s)", id,
                                ferry_job_state_name(infos[i].state));
        ferry_job_info_free(infos, n);
        return rc;
    }
    ferry_job_info_free(infos, n);
    return ferry__error(FERRY_ENOTFOUND, "no job '%s'", id);
}

int ferry_manager_cancel_tag(ferry_manager *m, const char *tag, char ***ids, size_t *n)
{
    ferry_job **hit = NULL;
    size_t nhit = 0, cap = 0;

    pthread_mutex_lock(&m->lock);
    for (mjob *j = m->jobs; j; j = j->next) {
        const char *t = j->job->spec.tag;
        ferry_job_state s = ferry_job_get_state(j->job);
        if ((tag && (!t || strcmp(t, tag))) ||
            (s != FERRY_JOB_QUEUED && s != FERRY_JOB_RUNNING))
            continue;
        if (ferry__grow(&hit, &cap, nhit + 1, sizeof(*hit), 16))
            break;
        hit[nhit++] = j->job;
    }
    pthread_mutex_unlock(&m->lock);
    if (ids)
        *ids = calloc(nhit ? nhit : 1, sizeof(char *));
    *n = 0;
    for (size_t i = 0; i < nhit; i++) {
        if (ferry_job_cancel(hit[i]) == FERRY_OK && ids && *ids)
            (*ids)[(*n)++] = strdup(ferry_job_id(hit[i]));
        else if (!ids)
            (*n)++;
    }
    free(hit);
    return FERRY_OK;
}

void ferry_manager_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

/*
 * A resumed job starts only when its sources and the directories they land
 * in are there: a source gone, a relative path from another directory or a
 * disk not mounted would otherwise end the job failed, 0 of 0, no longer
 * resumable. The job stays as it was, and the cause is said.
 */
static int can_start(const ferry_job *job, const char *id)
{
    const ferry_roots *roots = job->spec.roots;
    struct stat st;

    for (size_t i = 0; i < job->ntargets; i++) {
        const ferry__target *t = &job->targets[i];
        char *src = t->seq ? ferry__path_dir(t->src) : strdup(t->src);
        const char *what = t->seq ? "the directory of source" : "source";
        int rc = FERRY_OK, fd;
        if (!src)
            return ferry__error(FERRY_ENOMEM, "out of memory");
        if (ferry__lstat_in(roots, src, &st) < 0)
            rc = ferry__error_os(ferry__code_of_errno(errno), errno,
                                 "cannot resume job %s: %s '%s'", id, what, src);
        else if ((fd = ferry__open_in(roots, t->dest_dir, O_PATH | O_DIRECTORY, 0)) < 0)
            rc = ferry__error_os(ferry__code_of_errno(errno), errno,
                                 "cannot resume job %s: destination directory '%s'", id,
                                 t->dest_dir);
        else
            close(fd);
        free(src);
        if (rc)
            return rc;
    }
    return FERRY_OK;
}

int ferry_manager_resume(ferry_manager *m, const char *id)
{
    char *text = NULL;
    ferry_job_state st;
    ferry_job *job = NULL;
    mjob *live;
    int rc;

    if (!m->journal)
        return ferry__error(FERRY_EINVAL, "resume needs the journal");
    pthread_mutex_lock(&m->lock);
    live = find_locked(m, id);
    bool busy = live && !live->job->finished;
    pthread_mutex_unlock(&m->lock);
    if (busy)
        return ferry__error(FERRY_EINVAL, "job %s is still live in this process", id);
    if (live)
        ferry__journal_flush(m->journal); /* its end may still wait for a group commit */
    if ((rc = ferry__journal_spec(m->journal, id, &text, &st)))
        return rc;
    if (st != FERRY_JOB_INTERRUPTED && st != FERRY_JOB_CANCELLED) {
        free(text);
        return ferry__error(FERRY_EINVAL, "job %s is %s: only interrupted or cancelled jobs resume",
                            id, ferry_job_state_name(st));
    }
    rc = job_of_json(m, id, text, &job);
    free(text);
    if (!rc && (rc = can_start(job, id))) {
        job->finished = true;
        ferry_job_free(job);
    }
    if (rc)
        return rc;
    if ((rc = ferry__journal_set_state(m->journal, id, FERRY_JOB_QUEUED))) {
        job->finished = true;
        ferry_job_free(job);
        return rc;
    }
    add_job(m, job, 0);
    schedule(m);
    return FERRY_OK;
}

int ferry_manager_wait(ferry_manager *m, const char *id, int timeout_ms)
{
    mjob *j;

    pthread_mutex_lock(&m->lock);
    j = find_locked(m, id);
    pthread_mutex_unlock(&m->lock);
    if (!j)
        return ferry__error(FERRY_ENOTFOUND, "no live job '%s'", id);
    return ferry_job_wait(j->job, timeout_ms);
}

int ferry_manager_progress(ferry_manager *m, const char *id, ferry_progress *out)
{
    mjob *j;

    pthread_mutex_lock(&m->lock);
    j = find_locked(m, id);
    pthread_mutex_unlock(&m->lock);
    if (!j)
        return FERRY_ENOTFOUND;
    ferry_job_progress(j->job, out);
    return FERRY_OK;
}

/* A job of this process, as an info row (live counters). */
static void info_of_job(ferry_job_info *in, ferry_job *job)
{
    ferry_progress p;

    memset(in, 0, sizeof(*in));
    ferry_job_progress(job, &p);
    snprintf(in->id, sizeof(in->id), "%s", ferry_job_id(job));
    in->state = p.state;
    in->started_at = p.started_at_ms;
    in->finished_at = p.ended_at_ms;
    in->tag = job->spec.tag ? strdup(job->spec.tag) : NULL;
    in->dest = strdup(job->spec.dest);
    if ((in->sources = calloc(job->spec.nsources + 1, sizeof(char *))))
        for (size_t i = 0; i < job->spec.nsources; i++)
            if ((in->sources[in->nsources] = strdup(job->spec.sources[i])))
                in->nsources++;
    in->bytes_total = p.bytes_total;
    in->bytes_done = p.bytes_done;
    in->bytes_copied = p.bytes_copied;
    in->bytes_skipped = p.bytes_skipped;
    in->files_not_attempted = p.files_not_attempted;
    in->files_total = p.files_total;
    in->files_done = p.files_done;
    in->files_skipped = p.files_skipped;
    in->files_failed = p.files_failed;
    in->cancel_latency_us = p.cancel_latency_us;
    const char *e = ferry_job_error(job);
    in->error = e ? strdup(e) : NULL;
    ferry_job_sequences(job, &in->seqs, &in->nseqs);
}

/*
 * One job of this process, from memory alone: the API's service thread asks
 * for a job at every GET and cancel and must not wait on SQLite. False when
 * the id is not here, or its creation time is only in the journal (resumed).
 */
static bool list_one_live(ferry_manager *m, const char *id, ferry_job_info **out, size_t *n)
{
    ferry_job *job = NULL;
    int64_t created_at = 0;

    pthread_mutex_lock(&m->lock);
    mjob *j = find_locked(m, id);
    if (j && j->created_at) {
        job = j->job; /* jobs are freed only at close */
        created_at = j->created_at;
    }
    pthread_mutex_unlock(&m->lock);
    if (!job)
        return false;
    *n = 0;
    if (!(*out = calloc(1, sizeof(**out))))
        return true; /* no memory: an empty answer, as the journal's path gives */
    info_of_job(*out, job);
    (*out)->created_at = created_at;
    *n = 1;
    return true;
}

static int list(ferry_manager *m, const char *id, const char *state, const char *tag,
                ferry_job_info **out, size_t *n)
{
    int rc;

    if (id && !tag && list_one_live(m, id, out, n)) {
        if (*n && state && strcmp(state, ferry_job_state_name((*out)[0].state))) {
            ferry_job_info_free(*out, *n);
            *out = NULL;
            *n = 0;
        }
        return FERRY_OK;
    }
    if (m->journal) {
        /*
         * The journal has every job; live ones get their counters and state
         * from memory (the journal's copy lags by up to one group commit),
         * so the state filter is applied after that.
         */
        if ((rc = ferry__journal_list(m->journal, id, NULL, tag, out, n)))
            return rc;
        size_t kept = 0;
        for (size_t i = 0; i < *n; i++) {
            ferry_job_info *in = &(*out)[i];
            pthread_mutex_lock(&m->lock);
            mjob *j = find_locked(m, in->id);
            pthread_mutex_unlock(&m->lock);
            if (j) {
                ferry_job_info live;
                info_of_job(&live, j->job);
                live.created_at = in->created_at;
                ferry_job_info_clear(in);
                *in = live;
            }
            if (state && strcmp(state, ferry_job_state_name(in->state))) {
                ferry_job_info_clear(in);
                continue;
            }
            (*out)[kept++] = *in;
        }
        *n = kept;
        return FERRY_OK;
    }
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&m->lock);
    for (mjob *j = m->jobs; j; j = j->next) {
        if (id && strcmp(id, ferry_job_id(j->job)))
            continue;
        if (state && strcmp(state, ferry_job_state_name(ferry_job_get_state(j->job))))
            continue;
        if (tag && (!j->job->spec.tag || strcmp(tag, j->job->spec.tag)))
            continue;
        if (ferry__grow(out, &cap, *n + 1, sizeof(**out), 16))
            break;
        info_of_job(&(*out)[(*n)++], j->job);
    }
    pthread_mutex_unlock(&m->lock);
    return FERRY_OK;
}

int ferry_manager_list(ferry_manager *m, const char *state, const char *tag,
                       ferry_job_info **out, size_t *n)
{
    return list(m, NULL, state, tag, out, n);
}

int ferry_manager_get(ferry_manager *m, const char *id, ferry_job_info *out)
{
    ferry_job_info *v = NULL;
    size_t n = 0;
    int rc = list(m, id, NULL, NULL, &v, &n);

    if (rc == FERRY_OK && n == 0)
        rc = ferry__error(FERRY_ENOTFOUND, "no job '%s'", id);
    if (rc == FERRY_OK) {
        *out = v[0];
        for (size_t i = 1; i < n; i++)
            ferry_job_info_clear(&v[i]);
        free(v);
        return FERRY_OK;
    }
    ferry_job_info_free(v, n);
    return rc;
}

void ferry_job_info_clear(ferry_job_info *in)
{
    free(in->tag);
    free(in->dest);
    free(in->error);
    for (size_t k = 0; k < in->nsources; k++)
        free(in->sources[k]);
    free(in->sources);
    ferry_seq_summaries_free(in->seqs, in->nseqs);
    memset(in, 0, sizeof(*in));
}

void ferry_job_info_free(ferry_job_info *infos, size_t n)
{
    for (size_t i = 0; infos && i < n; i++)
        ferry_job_info_clear(&infos[i]);
    free(infos);
}

int ferry_manager_files(ferry_manager *m, const char *id, const char *result, size_t offset,
                        size_t limit, ferry_file_info **out, size_t *n)
{
    if (!m->journal) {
        *out = NULL;
        *n = 0;
        return ferry__error(FERRY_EINVAL, "per-file results need the journal");
    }
    /* Results reach the journal within ~100 ms (its group commit). */
    return ferry__journal_files(m->journal, id, result, offset, limit, out, n);
}

void ferry_file_info_free(ferry_file_info *files, size_t n)
{
    for (size_t i = 0; files && i < n; i++) {
        free(files[i].path);
        free(files[i].dest);
        free(files[i].error);
    }
    free(files);
}

int ferry_manager_prune(ferry_manager *m, int64_t older_than_s, unsigned *removed)
{
    *removed = 0;
    if (!m->journal)
        return FERRY_OK;
    return ferry__journal_prune(m->journal, older_than_s, removed);
}

size_t ferry_manager_take_discards(ferry_manager *m, int **fds)
{
    size_t total = 0, cap = 0;

    *fds = NULL;
    pthread_mutex_lock(&m->lock);
    for (mjob *j = m->jobs; j; j = j->next) {
        int *mine;
        size_t k = ferry_job_take_discards(j->job, &mine);
        if (k && ferry__grow(fds, &cap, total + k, sizeof(int), 16)) {
            for (size_t i = 0; i < k; i++)
                ferry__close(mine[i]);
            free(mine);
            continue;
        }
        if (k)
            memcpy(*fds + total, mine, k * sizeof(int));
        total += k;
        free(mine);
    }
    pthread_mutex_unlock(&m->lock);
    return total;
}

void ferry_manager_close(ferry_manager *m)
{
    mjob *j, *next;

    if (!m)
        return;
    /* A job's end may start a queued one (schedule), so look again under
     * the lock after every wait until no started job is left unwaited. */
    for (;;) {
        mjob *todo = NULL;
        pthread_mutex_lock(&m->lock);
        for (j = m->jobs; j && !todo; j = j->next)
            if (j->started && !j->waited)
                todo = j;
        pthread_mutex_unlock(&m->lock);
        if (!todo)
            break;
        ferry_job_wait(todo->job, -1);
        todo->waited = true; /* only this thread reads or writes it */
    }
    ferry__journal_close(m->journal); /* flushes what the jobs said last */
    for (j = m->jobs; j; j = next) {
        next = j->next;
        if (!j->started)
            j->job->finished = true;
        ferry_job_free(j->job);
        free(j);
    }
    ferry__pool_free(m->pool);
    ferry_bus_free(m->bus);
    free(m->state_dir);
    free(m->notice);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
