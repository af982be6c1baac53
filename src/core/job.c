/*
 * core/job.c: a job's lifecycle, its runner thread and its counters.
 *
 * State machine (every change is one CAS, so each happens exactly once):
 *     queued -> running -> done | failed
 *     queued | running -> cancelled
 * A cancel flips the state and sets the token (closing the commit gate)
 * before it returns; it never waits for a worker. The runner, once every
 * worker has stopped, records how long the last one took to notice.
 */
#define _GNU_SOURCE
#include "ferry/job.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/events_priv.h"
#include "core/job_priv.h"
#include "core/roots_priv.h"
#include "ferry/cancel.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/array.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/str.h"

static const char *const state_names[] = {"queued", "running", "cancelled",
                                          "done",   "failed",  "interrupted"};

const char *ferry_job_state_name(ferry_job_state s)
{
    if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
        return state_names[s];
    return "unknown";
}

static const char *const conflict_names[] = {"fail", "skip", "overwrite", "rename"};

int ferry_conflict_parse(const char *s, ferry_conflict *out)
{
    for (unsigned i = 0; i < sizeof(conflict_names) / sizeof(conflict_names[0]); i++) {
        if (s && !strcmp(s, conflict_names[i])) {
            *out = (ferry_conflict)i;
            return FERRY_OK;
        }
    }
    return ferry__error(FERRY_EINVAL,
                        "invalid conflict policy '%s': expected fail, skip, overwrite or rename",
                        s ? s : "");
}

const char *ferry_conflict_name(ferry_conflict c)
{
    if ((unsigned)c < sizeof(conflict_names) / sizeof(conflict_names[0]))
        return conflict_names[c];
    return "unknown";
}

void ferry_job_spec_init(ferry_job_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->on_conflict = FERRY_CONFLICT_FAIL;
}

/* Ten characters of Crockford base32 from the kernel's random pool. */
static void make_id(char *out)
{
    static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
    unsigned char r[10];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t t = ferry__wall_ns() ^ (uint64_t)getpid();
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)(t >> (i * 6));
    }
    for (size_t i = 0; i < sizeof(r); i++)
        out[i] = alphabet[r[i] & 31];
    out[sizeof(r)] = '\0';
}

static int copy_spec(ferry_job *job, const ferry_job_spec *spec)
{
    job->spec = *spec;
    if (!(job->sources = calloc(spec->nsources ? spec->nsources : 1, sizeof(char *))))
        return FERRY_ENOMEM;
    for (size_t i = 0; i < spec->nsources; i++)
        if (!(job->sources[i] = strdup(spec->sources[i])))
            return FERRY_ENOMEM;
    if (!(job->dest = strdup(spec->dest)))
        return FERRY_ENOMEM;
    if (spec->tag && !(job->tag = strdup(spec->tag)))
        return FERRY_ENOMEM;
    if (spec->frames && !(job->frames = strdup(spec->frames)))
        return FERRY_ENOMEM;
    job->spec.frames = job->frames;
    job->spec.sources = (const char *const *)job->sources;
    job->spec.dest = job->dest;
    job->spec.tag = job->tag;
    if (!job->spec.workers)
        job->spec.workers = FERRY_DEFAULT_WORKERS;
    return FERRY_OK;
}

/* Everything but the placement of the sources: shared by new and restored jobs. */
static int job_alloc(ferry_job **out, const ferry_job_spec *spec, ferry_bus *bus)
{
    ferry_job *job;

    if (!spec->dest)
        return ferry__error(FERRY_EINVAL, "no destination given");
    if (!(job = calloc(1, sizeof(*job))))
        return ferry__error(FERRY_ENOMEM, "out of memory");
    make_id(job->id);
    job->bus = bus;
    job->euid = geteuid();
    job->egid = getegid();
    atomic_init(&job->state, FERRY_JOB_QUEUED);
    atomic_init(&job->cancel_latency_us, -1);
    ferry__plan_init(&job->plan);
    pthread_mutex_init(&job->lock, NULL);
    pthread_mutex_init(&job->cq_lock, NULL);
    pthread_mutex_init(&job->rate_lock, NULL);
    ferry__cond_init_monotonic(&job->finished_cond);
    ferry__cond_init_monotonic(&job->cq_cond);
    if (copy_spec(job, spec) || ferry_cancel_new(&job->cancel)) {
        job->finished = true;
        ferry_job_free(job);
        return ferry__error(FERRY_ENOMEM, "out of memory");
    }
    if (spec->bwlimit) {
        ferry__ratelimit_init(&job->rl, spec->bwlimit);
        job->limited = true;
    }
    *out = job;
    return FERRY_OK;
}

int ferry_job_new(ferry_job **out, const ferry_job_spec *spec, ferry_bus *bus)
{
    ferry_job *job;
    int rc;

    if ((rc = job_alloc(&job, spec, bus)))
        return rc;
    if ((rc = ferry__plan_targets(&job->spec, &job->targets, &job->ntargets))) {
        job->finished = true;
        ferry_job_free(job);
        return rc;
    }
    *out = job;
    return FERRY_OK;
}

int ferry__job_new_restored(ferry_job **out, const ferry_job_spec *spec, ferry_bus *bus,
                            const char *id, ferry__target *targets, size_t ntargets)
{
    ferry_job *job;
    int rc;

    if ((rc = job_alloc(&job, spec, bus))) {
        ferry__targets_free(targets, ntargets);
        return rc;
    }
    snprintf(job->id, sizeof(job->id), "%s", id);
    job->targets = targets;
    job->ntargets = ntargets;
    *out = job;
    return FERRY_OK;
}

/* --- events and results ------------------------------------------------ */

static int64_t wall_ms(void)
{
    return (int64_t)(ferry__wall_ns() / FERRY_NS_PER_MS);
}

static void publish_state(ferry_job *job, int state, const char *msg)
{
    if (state == FERRY_JOB_RUNNING)
        atomic_store(&job->started_at_ms, wall_ms());
    else if (state != FERRY_JOB_QUEUED)
        atomic_store(&job->ended_at_ms, wall_ms());
    ferry_event ev = {.type = FERRY_EVENT_STATE, .job_id = job->id, .state = state};

    ev.message = (char *)msg;
    ev.time_ns = ferry__wall_ns();
    ferry__bus_publish(job->bus, &ev);
}

static void publish_file(ferry_job *job, const ferry__entry *e, int result, const char *name,
                         const char *msg)
{
    ferry_event ev = {.type = FERRY_EVENT_FILE, .job_id = job->id, .result = result};
    char *dest = NULL;

    if (!job->bus)
        return;
    if (e->dir < job->plan.ndirs)
        dest = ferry__path_join(job->plan.dirs[e->dir].path, name ? name : e->name);
    ev.path = e->src;
    ev.dest = dest;
    ev.message = (char *)msg;
    ev.bytes = e->meta.size;
    ev.time_ns = ferry__wall_ns();
    ferry__bus_publish(job->bus, &ev);
    free(dest);
}

/* The frame's result, for the job's sequence summaries. */
static void note_frame(ferry_job *job, const ferry__entry *e, int result)
{
    if (e->seq && e->seq <= job->nseqs && e->seq_pos < job->seqs[e->seq - 1].plan.n)
        atomic_store(&job->seqs[e->seq - 1].result[e->seq_pos], (unsigned char)result);
}

void ferry__file_done(ferry_job *job, const ferry__entry *e, const char *name)
{
    note_frame(job, e, FERRY_FILE_DONE);
    atomic_fetch_add(&job->files_done, 1);
    publish_file(job, e, FERRY_FILE_DONE, name, NULL);
}

void ferry__file_skipped(ferry_job *job, const ferry__entry *e, const char *why)
{
    note_frame(job, e, FERRY_FILE_SKIPPED);
    atomic_fetch_add(&job->files_skipped, 1);
    if (e->kind == FERRY__FILE)
        atomic_fetch_add(&job->bytes_skipped, e->meta.size);
    publish_file(job, e, FERRY_FILE_SKIPPED, NULL, why);
}

void ferry__file_failed(ferry_job *job, const ferry__entry *e, const char *why)
{
    note_frame(job, e, FERRY_FILE_FAILED);
    atomic_fetch_add(&job->files_failed, 1);
    if (e->kind == FERRY__FILE)
        atomic_fetch_sub(&job->bytes_total_adj, (int64_t)e->meta.size);
    publish_file(job, e, FERRY_FILE_FAILED, NULL, why);
}

static void set_error(ferry_job *job, const char *why)
{
    pthread_mutex_lock(&job->lock);
    if (!job->error)
        job->error = strdup(why);
    pthread_mutex_unlock(&job->lock);
}

static void wake_waiters(ferry_job *job)
{
    pthread_mutex_lock(&job->cq_lock);
    pthread_cond_broadcast(&job->cq_cond);
    pthread_mutex_unlock(&job->cq_lock);
}

void ferry__job_fail(ferry_job *job, const char *why)
{
    int s = FERRY_JOB_RUNNING;

    set_error(job, why);
    if (atomic_compare_exchange_strong(&job->state, &s, FERRY_JOB_FAILED)) {
        ferry_cancel_set(job->cancel); /* stop the other workers too */
        wake_waiters(job);
        if (job->pool)
            ferry__pool_kick(job->pool);
        publish_state(job, FERRY_JOB_FAILED, why);
    }
}

bool ferry__job_stop(ferry_job *job, const char *why)
{
    if (atomic_exchange(&job->stopping, true))
        return false;
    set_error(job, why);
    if (job->pool)
        ferry__pool_kick(job->pool);
    return true;
}

bool ferry__job_halted(ferry_job *job)
{
    return ferry_cancel_is_set(job->cancel) || atomic_load(&job->stopping);
}

void ferry__set_current(ferry_job *job, const char *path)
{
    pthread_mutex_lock(&job->lock);
    job->current = path;
    pthread_mutex_unlock(&job->lock);
}

void ferry__note_stop(ferry_job *job)
{
    uint64_t now = ferry__now_ns(), prev = atomic_load(&job->stop_ns);

    while (prev < now && !atomic_compare_exchange_weak(&job->stop_ns, &prev, now))
        ;
}

void ferry__discard(ferry_job *job, ferry__temp *t, int dirfd, uint64_t copied)
{
    int fd = ferry__temp_discard(t, dirfd);

    atomic_fetch_sub(&job->bytes_moved, copied);
    if (fd < 0)
        return;
    if (ferry_cancel_is_set(job->cancel)) {
        /* Keep it open: whoever owns the job decides who pays for freeing it. */
        pthread_mutex_lock(&job->lock);
        if (ferry__grow(&job->discards, &job->discards_cap, job->ndiscards + 1, sizeof(int),
                        16) == 0) {
            job->discards[job->ndiscards++] = fd;
            fd = -1;
        }
        pthread_mutex_unlock(&job->lock);
    }
    if (fd >= 0)
        ferry__close(fd);
}

/* --- the runner -------------------------------------------------------- */

static void walk_failed(void *arg, const char *path, const char *msg)
{
    ferry_job *job = arg;
    ferry__entry e = {.src = (char *)path, .dir = UINT32_MAX};

    atomic_fetch_add(&job->files_failed, 1);
    atomic_fetch_add(&job->files_walk_failed, 1);
    publish_file(job, &e, FERRY_FILE_FAILED, NULL, msg);
}

static void walk_skipped(void *arg, const char *path, const char *msg)
{
    ferry_job *job = arg;
    ferry__entry e = {.src = (char *)path, .dir = UINT32_MAX};

    atomic_fetch_add(&job->files_skipped, 1);
    publish_file(job, &e, FERRY_FILE_SKIPPED, NULL, msg);
}

/* Creates the copied directories (private until their mode is applied at the
 * end; dirs.c) and sweeps the ones that already existed. */
static void make_dirs(ferry_job *job)
{
    for (size_t i = 0; i < job->plan.ndirs && !ferry_cancel_is_set(job->cancel); i++) {
        ferry__dir *d = &job->plan.dirs[i];
        bool existed = !d->copy_meta;
        int fd;

        if (d->copy_meta && !ferry__make_dir(job, i, &existed))
            continue;
        if (existed && (fd = ferry__dir_open(job, d, O_RDONLY | O_DIRECTORY)) >= 0) {
            unsigned removed = 0;
            ferry__sweep_dir(fd, &removed);
            ferry__close(fd);
        }
    }
}

/* Removes d, made by this job and left empty; true if it is gone. */
static bool remove_dir(ferry_job *job, const ferry__dir *d)
{
    char *name;
    int pfd = ferry__dir_open_parent(job, d, &name);
    bool gone;

    if (pfd < 0)
        return false;
    gone = unlinkat(pfd, name, AT_REMOVEDIR) == 0;
    ferry__close(pfd);
    free(name);
    return gone;
}

/* Deepest first: empty directories this job made go again after a cancel or
 * failure; the rest get their source's mode, owner and times, through a
 * descriptor of the directory itself (never through a symlink put there). */
static void finish_dirs(ferry_job *job, bool stopped)
{
    bool root = job->euid == 0;

    for (size_t i = job->plan.ndirs; i-- > 0;) {
        ferry__dir *d = &job->plan.dirs[i];
        int fd;
        if (!d->copy_meta || d->error || d->skipped)
            continue;
        if (stopped && d->created && remove_dir(job, d))
            continue;
        if ((fd = ferry__dir_open(job, d, O_RDONLY | O_DIRECTORY)) < 0)
            continue;
        struct timespec times[2] = {d->meta.atime, d->meta.mtime};
        if (root && fchown(fd, d->meta.uid, d->meta.gid) < 0) {
            /* a foreign uid on a filesystem that refuses it: keep ours */
        }
        if (fchmod(fd, d->meta.mode & 07777) < 0 || futimens(fd, times) < 0) {
            /* as cp -p: the copy stands without its directories' metadata */
        }
        ferry__close(fd);
    }
}

/* Names become durable with one syncfs per destination filesystem. */
/*
 * Names become durable: with few directories, an fsync of each (its entries,
 * and the entries of the directories made in it); with many, one syncfs.
 * fsync keeps a small copy from waiting for other programs' dirty data.
 */
#define FSYNC_DIRS_MAX 64

static void sync_names(ferry_job *job)
{
    size_t n = job->plan.ndirs;
    bool each = n <= FSYNC_DIRS_MAX;

    for (size_t i = 0; i < (each ? n : 1); i++) {
        const char *path = job->plan.dirs[i].path;
        int fd = ferry__dir_open(job, &job->plan.dirs[i], O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            continue;
        if (FERRY_SYS("sync", each ? fsync(fd) : syncfs(fd)) < 0) {
            char *msg = ferry__strfmt("sync '%s': %s", path, strerror(errno));
            ferry__job_fail(job, msg ? msg : "sync failed");
            free(msg);
        }
        ferry__close(fd);
    }
}

/* Hands the plan to the pool; with durability on, the committer names
 * what the workers finish, batch by batch. */
static void run_workers(ferry_job *job)
{
    job->workers_active = 1; /* the pool, as one producer for the committer */
    job->batch_files = ferry__batch_files();
    if (!job->spec.no_fsync &&
        pthread_create(&job->committer, NULL, ferry__committer_main, job) == 0)
        job->has_committer = true;
    ferry__pool_run(job->pool, job);
    pthread_mutex_lock(&job->cq_lock);
    job->workers_active = 0;
    pthread_cond_broadcast(&job->cq_cond);
    pthread_mutex_unlock(&job->cq_lock);
    if (job->has_committer)
        pthread_join(job->committer, NULL);
}

static void finish(ferry_job *job)
{
    int s = FERRY_JOB_RUNNING;
    bool stopped;

    stopped = ferry_cancel_is_set(job->cancel);
    finish_dirs(job, stopped);
    if (!stopped && !job->spec.no_fsync && job->committed_any)
        sync_names(job);

    uint64_t failed = atomic_load(&job->files_failed);
    if (atomic_load(&job->stopping)) {
        if (atomic_compare_exchange_strong(&job->state, &s, FERRY_JOB_FAILED))
            publish_state(job, FERRY_JOB_FAILED, job->error);
    } else if (failed > 0) {
        char *msg = ferry__strfmt("%llu file%s failed", (unsigned long long)failed,
                                  failed == 1 ? "" : "s");
        set_error(job, msg ? msg : "some files failed");
        free(msg);
        if (atomic_compare_exchange_strong(&job->state, &s, FERRY_JOB_FAILED))
            publish_state(job, FERRY_JOB_FAILED, job->error);
    } else if (atomic_compare_exchange_strong(&job->state, &s, FERRY_JOB_DONE)) {
        publish_state(job, FERRY_JOB_DONE, NULL);
    }
    /* After the last CAS: a cancel may have won the race against "done". The
     * latency ends with the last worker that noticed it (0 if none was busy). */
    if (atomic_load(&job->state) == FERRY_JOB_CANCELLED) {
        uint64_t set = ferry_cancel_set_time_ns(job->cancel), stop = atomic_load(&job->stop_ns);
        atomic_store(&job->cancel_latency_us, stop > set ? (int64_t)((stop - set) / 1000) : 0);
    }
    atomic_store(&job->end_ns, ferry__now_ns());
}

static void mark_finished(ferry_job *job)
{
    ferry_event ev = {.type = FERRY_EVENT_END, .job_id = job->id};

    ev.state = atomic_load(&job->state);
    ev.time_ns = ferry__wall_ns();
    ferry__bus_publish(job->bus, &ev);
    pthread_mutex_lock(&job->lock);
    job->finished = true;
    pthread_cond_broadcast(&job->finished_cond);
    pthread_mutex_unlock(&job->lock);
}

/* Moves the plan's sequences into the job, with a result slot per frame. */
static int keep_seqs(ferry_job *job)
{
    ferry__plan *plan = &job->plan;
    size_t n = plan->nseqs;
    ferry__seqstate *v;

    if (n == 0)
        return 0;
    if (!(v = calloc(n, sizeof(*v))))
        return FERRY_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i].plan = plan->seqs[i];
        v[i].result = calloc(v[i].plan.n ? v[i].plan.n : 1, 1);
        if (!v[i].result) {
            for (size_t k = 0; k <= i; k++)
                free((void *)v[k].result);
            free(v);
            return FERRY_ENOMEM; /* the plan keeps its sequences and frees them */
        }
    }
    free(plan->seqs);
    plan->seqs = NULL;
    plan->nseqs = plan->seqs_cap = 0;
    pthread_mutex_lock(&job->lock);
    job->seqs = v;
    job->nseqs = n;
    pthread_mutex_unlock(&job->lock);
    return 0;
}

static void *runner_main(void *arg)
{
    ferry_job *job = arg;
    int rc;

    pthread_setname_np(pthread_self(), "ferry-job");
    job->plan.roots = job->spec.roots;
    rc = ferry__plan_walk(&job->plan, job->targets, job->ntargets, job->cancel, walk_failed,
                          walk_skipped, job);
    if (keep_seqs(job))
        rc = FERRY_ENOMEM;
    job->bytes_planned = job->plan.bytes_total;
    job->files_planned = job->plan.nentries;
    atomic_store(&job->planned, true); /* publishes the two totals above */
    if (rc == FERRY_ENOMEM)
        ferry__job_fail(job, "out of memory while listing the sources");
    if (!ferry_cancel_is_set(job->cancel))
        make_dirs(job);
    if (!ferry_cancel_is_set(job->cancel))
        run_workers(job);
    finish(job);
    /* The own pool outlives the runner: a cancel racing with the end may still
     * kick it. ferry_job_free stops it. */
    /* A finished job keeps its counters, not its plan: a daemon holds many. */
    ferry__set_current(job, NULL);
    ferry__plan_release(&job->plan);
    if (job->on_end)
        job->on_end(job, job->on_end_arg);
    mark_finished(job);
    if (job->close_discards_at_end) {
        /* After the end is published: freeing the dropped temps' blocks (~7 ms
         * per 100 MiB) delays nobody's answer, and a daemon that runs for
         * weeks does not keep the space of every cancelled copy. This thread
         * ends here: it does that work only when a core is idle, so that the
         * next job's requests and cancels do not wait for it. */
        int *fds;
        size_t n = ferry_job_take_discards(job, &fds);
        if (n > 0) {
            struct sched_param idle = {0};
            pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
            /* The switch alone does not make the scheduler choose again:
             * threads already waiting for this core (the service loop
             * answering the cancel, its client) waited for the next tick,
             * 2 to 4 ms, while the first close freed pages in the kernel
             * (perf sched, docs/benchmarks.md). */
            sched_yield();
        }
        for (size_t i = 0; i < n; i++)
            ferry__close(fds[i]);
        free(fds);
    }
    return NULL;
}

int ferry__job_start_in(ferry_job *job, ferry__pool *pool, void (*on_end)(ferry_job *, void *),
                        void *arg)
{
    int s = FERRY_JOB_QUEUED;

    job->on_end = on_end;
    job->on_end_arg = arg;
    job->pool = pool;
    if (!atomic_compare_exchange_strong(&job->state, &s, FERRY_JOB_RUNNING)) {
        if (s == FERRY_JOB_CANCELLED) {
            if (on_end)
                on_end(job, arg);
            mark_finished(job);
            return FERRY_OK;
        }
        return ferry__error(FERRY_EINVAL, "job %s was already started", job->id);
    }
    atomic_store(&job->start_ns, ferry__now_ns());
    publish_state(job, FERRY_JOB_RUNNING, NULL);
    if (pthread_create(&job->runner, NULL, runner_main, job) != 0) {
        ferry__job_fail(job, "cannot start the job's thread");
        if (on_end)
            on_end(job, arg);
        mark_finished(job);
        return ferry__error(FERRY_EOS, "cannot start the job's thread");
    }
    job->runner_started = true;
    return FERRY_OK;
}

int ferry_job_start(ferry_job *job)
{
    int rc;

    if (atomic_load(&job->state) == FERRY_JOB_QUEUED &&
        (rc = ferry__pool_new(&job->own_pool, job->spec.workers)) < 0)
        return rc;
    rc = ferry__job_start_in(job, job->own_pool, NULL, NULL);
    if (rc < 0 || !job->runner_started) {
        ferry__pool_free(job->own_pool);
        job->own_pool = NULL;
    }
    return rc;
}

int ferry_job_cancel(ferry_job *job)
{
    int s = atomic_load(&job->state);

    for (;;) {
        if (s == FERRY_JOB_CANCELLED)
            return FERRY_OK;
        if (s != FERRY_JOB_QUEUED && s != FERRY_JOB_RUNNING)
            return ferry__error(FERRY_EENDED, "job %s already ended (%s)", job->id,
                                ferry_job_state_name((ferry_job_state)s));
        if (atomic_compare_exchange_weak(&job->state, &s, FERRY_JOB_CANCELLED))
            break;
    }
    ferry_cancel_set(job->cancel); /* the gate is closed when this returns */
    wake_waiters(job);
    ferry__pool *pool = job->pool;
    if (pool)
        ferry__pool_kick(pool);
    publish_state(job, FERRY_JOB_CANCELLED, NULL);
    return FERRY_OK;
}

int ferry_job_wait(ferry_job *job, int timeout_ms)
{
    struct timespec ts =
        ferry__timespec_of_ns(ferry__now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) *
                                                    FERRY_NS_PER_MS);
    int rc = FERRY_OK;

    pthread_mutex_lock(&job->lock);
    while (!job->finished) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&job->finished_cond, &job->lock);
        } else if (timeout_ms == 0 ||
                   pthread_cond_timedwait(&job->finished_cond, &job->lock, &ts) == ETIMEDOUT) {
            rc = FERRY_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&job->lock);
    return rc;
}

/* --- progress ---------------------------------------------------------- */

/* Bytes per second over the last few seconds, from samples at least 250 ms apart. */
static uint64_t sample_rate(ferry_job *job, uint64_t now, uint64_t bytes)
{
    uint64_t rate = 0;

    pthread_mutex_lock(&job->rate_lock);
    unsigned last = (job->rate_i + RATE_SAMPLES - 1) % RATE_SAMPLES;
    if (job->rate_n == 0 || now - job->rate_t[last] >= 250 * FERRY_NS_PER_MS) {
        job->rate_t[job->rate_i] = now;
        job->rate_b[job->rate_i] = bytes;
        job->rate_i = (job->rate_i + 1) % RATE_SAMPLES;
        if (job->rate_n < RATE_SAMPLES)
            job->rate_n++;
    }
    /* The oldest sample no more than ~4 s old. */
    for (unsigned k = job->rate_n; k > 0; k--) {
        unsigned i = (job->rate_i + RATE_SAMPLES - k) % RATE_SAMPLES;
        if (now - job->rate_t[i] <= 4 * FERRY_NS_PER_SEC && now > job->rate_t[i] &&
            bytes >= job->rate_b[i] && now - job->rate_t[i] >= 200 * FERRY_NS_PER_MS) {
            rate = (uint64_t)((double)(bytes - job->rate_b[i]) * 1e9 / (double)(now - job->rate_t[i]));
            break;
        }
    }
    pthread_mutex_unlock(&job->rate_lock);
    return rate;
}

void ferry_job_progress(ferry_job *job, ferry_progress *out)
{
    uint64_t now = ferry__now_ns(), start = atomic_load(&job->start_ns),
             end = atomic_load(&job->end_ns);
    int64_t total;

    out->state = (ferry_job_state)atomic_load(&job->state);
    out->planned = atomic_load(&job->planned);
    total = out->planned ? (int64_t)job->bytes_planned + atomic_load(&job->bytes_total_adj) : 0;
    out->bytes_total = total > 0 ? (uint64_t)total : 0;
    out->bytes_copied = atomic_load(&job->bytes_moved);
    out->bytes_skipped = atomic_load(&job->bytes_skipped);
    out->bytes_done = out->bytes_copied + out->bytes_skipped;
    out->files_total = out->planned ? job->files_planned + atomic_load(&job->files_walk_failed) : 0;
    out->files_done = atomic_load(&job->files_done);
    out->files_skipped = atomic_load(&job->files_skipped);
    out->files_failed = atomic_load(&job->files_failed);
    /* Once it has ended, every file is copied, skipped, failed or this. */
    uint64_t accounted = out->files_done + out->files_skipped + out->files_failed;
    out->files_not_attempted =
        end && out->files_total > accounted ? out->files_total - accounted : 0;
    out->elapsed_ns = start ? (end ? end : now) - start : 0;
    out->cancel_latency_us = atomic_load(&job->cancel_latency_us);
    out->started_at_ms = atomic_load(&job->started_at_ms);
    out->ended_at_ms = atomic_load(&job->ended_at_ms);
    /* Only what moved: skipped files cost no time (a re-run is not 21 GiB/s). */
    out->rate_bps = (start && !end) ? sample_rate(job, now, out->bytes_copied) : 0;
    if (out->rate_bps == 0 && out->elapsed_ns > 0)
        out->rate_bps = (uint64_t)((double)out->bytes_copied * 1e9 / (double)out->elapsed_ns);
    out->eta_s = -1;
    if (out->state == FERRY_JOB_RUNNING && out->planned && out->rate_bps > 0 &&
        out->bytes_total >= out->bytes_done && !end)
        out->eta_s = (int64_t)((out->bytes_total - out->bytes_done) / out->rate_bps);
    pthread_mutex_lock(&job->lock);
    snprintf(out->current_file, sizeof(out->current_file), "%s", job->current ? job->current : "");
    pthread_mutex_unlock(&job->lock);
}

ferry_job_state ferry_job_get_state(const ferry_job *job)
{
    return (ferry_job_state)atomic_load(&job->state);
}

const char *ferry_job_id(const ferry_job *job)
{
    return job->id;
}

const char *ferry_job_error(ferry_job *job)
{
    const char *e;

    pthread_mutex_lock(&job->lock);
    e = job->error;
    pthread_mutex_unlock(&job->lock);
    return e;
}

size_t ferry_job_take_discards(ferry_job *job, int **fds)
{
    size_t n;

    pthread_mutex_lock(&job->lock);
    *fds = job->discards;
    n = job->ndiscards;
    job->discards = NULL;
    job->ndiscards = job->discards_cap = 0;
    pthread_mutex_unlock(&job->lock);
    return n;
}

void ferry_job_free(ferry_job *job)
{
    if (!job)
        return;
    if (job->runner_started)
        pthread_join(job->runner, NULL); /* it has finished: ferry_job_wait came first */
    ferry__pool_free(job->own_pool);
    for (size_t i = 0; i < job->ndiscards; i++)
        ferry__close(job->discards[i]);
    free(job->discards);
    free(job->error);
    ferry__plan_release(&job->plan);
    ferry__targets_free(job->targets, job->ntargets);
    if (job->limited)
        ferry__ratelimit_release(&job->rl);
    for (size_t i = 0; job->sources && i < job->spec.nsources; i++)
        free(job->sources[i]);
    free(job->sources);
    free(job->dest);
    free(job->tag);
    free(job->frames);
    for (size_t i = 0; i < job->nseqs; i++) {
        ferry_frameset_release(&job->seqs[i].plan.planned);
        ferry_frameset_release(&job->seqs[i].plan.missing);
        free((void *)job->seqs[i].result);
    }
    free(job->seqs);
    ferry_cancel_free(job->cancel);
    pthread_cond_destroy(&job->finished_cond);
    pthread_cond_destroy(&job->cq_cond);
    pthread_mutex_destroy(&job->lock);
    pthread_mutex_destroy(&job->cq_lock);
    pthread_mutex_destroy(&job->rate_lock);
    free(job);
}
