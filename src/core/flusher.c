/*
 * core/flusher.c: the writeback starter; see flusher.h.
 *
 * A ring of FLUSH_SLOTS ranges under one mutex. Each queued range holds a
 * duplicate of the caller's descriptor, closed by this thread once the range
 * was handed to the kernel, or by its owner's drop. When the duplicate being
 * started is a dropped temp's last reference (its owner closed it meanwhile),
 * freeing the file's blocks is paid here, not by a copy thread.
 */
#define _GNU_SOURCE /* sync_file_range, pthread_setname_np */
#include "core/flusher.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"

/* Enough for every copy thread to have a step or two in flight. */
#define FLUSH_SLOTS 16

typedef struct {
    const void *owner;
    int fd;
    uint64_t off, len;
} flush_range;

struct ferry__flusher {
    pthread_mutex_t lock;
    pthread_cond_t more; /* a range was queued, or stopping */
    flush_range ring[FLUSH_SLOTS];
    unsigned head, count;
    bool stopping;
    pthread_t thread;
};

static void *flusher_main(void *arg)
{
    ferry__flusher *f = arg;

    pthread_setname_np(pthread_self(), "ferry-flush");
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->count && !f->stopping)
            pthread_cond_wait(&f->more, &f->lock);
        if (f->stopping)
            break;
        flush_range r = f->ring[f->head];
        f->head = (f->head + 1) % FLUSH_SLOTS;
        f->count--;
        pthread_mutex_unlock(&f->lock);
        /* Only starts I/O; its errors surface at the sync before the commit. */
        (void)FERRY_SYS("kick",
                        sync_file_range(r.fd, (off_t)r.off, (off_t)r.len, SYNC_FILE_RANGE_WRITE));
        ferry__close(r.fd);
        pthread_mutex_lock(&f->lock);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

int ferry__flusher_new(ferry__flusher **out)
{
    ferry__flusher *f = calloc(1, sizeof(*f));

    if (!f)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->more, NULL);
    if (pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
        pthread_cond_destroy(&f->more);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return ferry__error(FERRY_EOS, "cannot start the writeback thread");
    }
    *out = f;
    return FERRY_OK;
}

void ferry__flusher_free(ferry__flusher *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_cond_signal(&f->more);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    for (; f->count; f->count--, f->head = (f->head + 1) % FLUSH_SLOTS)
        ferry__close(f->ring[f->head].fd);
    pthread_cond_destroy(&f->more);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

bool ferry__flusher_kick(ferry__flusher *f, const void *owner, int fd, uint64_t off, uint64_t len)
{
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    bool queued = false;

    if (dup < 0)
        return false;
    pthread_mutex_lock(&f->lock);
    if (f->count < FLUSH_SLOTS && !f->stopping) {
        f->ring[(f->head + f->count) % FLUSH_SLOTS] = (flush_range){owner, dup, off, len};
        if (f->count++ == 0)
            pthread_cond_signal(&f->more);
        queued = true;
    }
    pthread_mutex_unlock(&f->lock);
    if (!queued)
        ferry__close(dup);
    return queued;
}

void ferry__flusher_drop(ferry__flusher *f, const void *owner)
{
    int fds[FLUSH_SLOTS];
    unsigned n = 0, kept = 0;

    pthread_mutex_lock(&f->lock);
    /* Compacts the ring in place, in order, from its head. */
    for (unsigned i = 0; i < f->count; i++) {
        flush_range r = f->ring[(f->head + i) % FLUSH_SLOTS];
        if (r.owner == owner)
            fds[n++] = r.fd;
        else
            f->ring[(f->head + kept++) % FLUSH_SLOTS] = r;
    }
    f->count = kept;
    pthread_mutex_unlock(&f->lock);
    /* The caller still holds the file open: these closes free nothing. */
    for (unsigned i = 0; i < n; i++)
        ferry__close(fds[i]);
}
