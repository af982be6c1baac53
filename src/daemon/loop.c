/*
 * daemon/loop.c: the service loop. One epoll descriptor watches every
 * descriptor the daemon serves: libmicrohttpd's own epoll descriptor (its
 * listening socket and HTTP connections), each WebSocket, the timers
 * (timerfds) and an eventfd that other threads write to wake the loop.
 *
 * A turn: epoll_wait (no longer than libmicrohttpd's next timeout), each
 * ready descriptor's handler, then libmicrohttpd's work (MHD_run) when it has
 * some, then what the turn left to free. Nothing here waits for file I/O.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon.h"
#include "util/clock.h"

#define LOOP_EVENTS 64 /* ready descriptors taken per epoll_wait */

static void wake_ready(server *srv, loop_watch *w, uint32_t events)
{
    uint64_t n;

    (void)events;
    /* Read before draining: a wake-up that comes during the drain is kept. */
    if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    ws_drain_events(srv);
}

static void httpd_ready(server *srv, loop_watch *w, uint32_t events)
{
    (void)w, (void)events;
    srv->httpd_ready = true; /* MHD_run comes at the end of the turn */
}

int loop_open(server *srv)
{
    const union MHD_DaemonInfo *info;

    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    srv->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->epfd < 0 || srv->wake.fd < 0) {
        fprintf(stderr, "ferry: cannot start the service loop: %s\n", strerror(errno));
        return -1;
    }
    srv->wake.ready = wake_ready;
    if (loop_add(srv, &srv->wake, EPOLLIN) < 0)
        return -1;
    info = MHD_get_daemon_info(srv->httpd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        fprintf(stderr, "ferry: libmicrohttpd has no epoll descriptor\n");
        return -1;
    }
    srv->httpd_watch.fd = info->epoll_fd;
    srv->httpd_watch.ready = httpd_ready;
    return loop_add(srv, &srv->httpd_watch, EPOLLIN);
}

void loop_close(server *srv)
{
    loop_timer_close(&srv->tick);
    loop_timer_close(&srv->files_flush);
    loop_timer_close(&srv->deadlines);
    if (srv->wake.fd >= 0)
        close(srv->wake.fd);
    if (srv->epfd >= 0)
        close(srv->epfd);
}

int loop_add(server *srv, loop_watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};

    w->events = events;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
        fprintf(stderr, "ferry: service loop: epoll_ctl: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

void loop_set(server *srv, loop_watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};

    if (w->events == events)
        return;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, w->fd, &ev) == 0)
        w->events = events;
}

void loop_del(server *srv, loop_watch *w)
{
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->events = 0;
}

void loop_wake(server *srv)
{
    uint64_t one = 1;

    /* Fails only when the counter is full: it will be read anyway. */
    if (write(srv->wake.fd, &one, sizeof(one)) < 0)
        return;
}

/*
 * libmicrohttpd runs only when it has work: its descriptor was ready, it
 * closes an upgraded socket (httpd_again), or its timeout fell due (0: it
 * holds bytes already read, a pipelined request). A turn that only serves
 * WebSockets or timers (most turns while 100 clients take file results)
 * costs it nothing, where MHD_run would poll its own descriptor each time.
 */
void loop_turn(server *srv)
{
    struct epoll_event ev[LOOP_EVENTS];
    MHD_UNSIGNED_LONG_LONG ms = 0;
    bool timed = MHD_get_timeout(srv->httpd, &ms) == MHD_YES;
    uint64_t start = timed && ms > 0 ? ferry__now_ns() : 0;
    int timeout = -1, n;

    if (srv->drain_again || srv->httpd_again)
        timeout = 0;
    else if (timed)
        timeout = ms > 60000 ? 60000 : (int)ms;
    n = epoll_wait(srv->epfd, ev, LOOP_EVENTS, timeout);
    if (srv->drain_again) {
        srv->drain_again = false;
        ws_drain_events(srv);
    }
    for (int i = 0; i < n; i++) {
        loop_watch *w = ev[i].data.ptr;
        w->ready(srv, w, ev[i].events);
    }
    /* due: its timeout has passed (0: it holds bytes already read) */
    bool due = timed && (ms == 0 || ferry__now_ns() - start >= ms * FERRY_NS_PER_MS);
    if (srv->httpd_ready || srv->httpd_again || due) {
        srv->httpd_ready = srv->httpd_again = false;
        MHD_run(srv->httpd);
    }
    ws_reap(srv);
}

/* --- timers ---------------------------------------------------------------- */

static void timer_ready(server *srv, loop_watch *w, uint32_t events)
{
    loop_timer *t = (loop_timer *)w;
    uint64_t expirations;

    (void)events;
    /* Nothing to read: re-armed since epoll saw it expire. */
    if (read(w->fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations))
        return;
    t->armed = false;
    t->fire(srv);
}

int loop_timer_open(server *srv, loop_timer *t, void (*fire)(server *srv))
{
    t->fire = fire;
    t->armed = false;
    t->watch.ready = timer_ready;
    t->watch.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->watch.fd < 0) {
        fprintf(stderr, "ferry: cannot create a timer (timerfd_create): %s\n", strerror(errno));
        return -1;
    }
    return loop_add(srv, &t->watch, EPOLLIN);
}

void loop_timer_arm(loop_timer *t, unsigned ms)
{
    struct itimerspec its = {.it_value = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000}};

    if (ms == 0)
        its.it_value.tv_nsec = 1; /* zero would disarm it */
    if (timerfd_settime(t->watch.fd, 0, &its, NULL) == 0)
        t->armed = true;
}

void loop_timer_close(loop_timer *t)
{
    if (t->watch.fd >= 0 && t->fire)
        close(t->watch.fd);
    t->watch.fd = -1;
}
