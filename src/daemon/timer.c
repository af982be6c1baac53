/*
 * daemon/timer.c: the service loop's own timers, each a timerfd that lws
 * polls with the sockets (adopted as a raw file descriptor).
 *
 * Not lws's scheduled callbacks (lws_sul_schedule): lws 4.1 sleeps in poll()
 * for the time to the next one truncated to whole milliseconds, then polls
 * with no timeout until it is due. The last fraction of a millisecond before
 * each one is a busy loop of poll() calls, each over every socket: with the
 * drain of file results every 10 ms and 100 WebSocket clients, two thirds of
 * the loop's poll() calls. A timerfd makes poll() return when the timer is due.
 * The connections' deadlines (conn.c) stay lws's: they seldom fall due.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon.h"

int loop_timer_open(server *srv, loop_timer *t, void (*fire)(server *srv))
{
    lws_sock_file_fd_type u;

    t->fire = fire;
    t->armed = false;
    t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->fd < 0) {
        fprintf(stderr, "ferry: cannot create a timer (timerfd_create): %s\n", strerror(errno));
        return -1;
    }
    u.filefd = t->fd;
    /* Bound to the vhost's one protocol, whose callback hands its readiness
     * to loop_timer_ready(); lws closes the descriptor with the context. */
    if (!lws_adopt_descriptor_vhost(srv->vhost, LWS_ADOPT_RAW_FILE_DESC, u, NULL, NULL)) {
        fprintf(stderr, "ferry: cannot add a timer to the service loop\n");
        close(t->fd);
        t->fd = -1;
        return -1;
    }
    t->next = srv->timers;
    srv->timers = t;
    return 0;
}

void loop_timer_arm(loop_timer *t, unsigned ms)
{
    struct itimerspec its = {.it_value = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000}};

    if (ms == 0)
        its.it_value.tv_nsec = 1; /* zero would disarm it */
    if (timerfd_settime(t->fd, 0, &its, NULL) == 0)
        t->armed = true;
}

bool loop_timer_ready(server *srv, struct lws *wsi)
{
    int fd = lws_get_socket_fd(wsi);

    for (loop_timer *t = srv->timers; t; t = t->next) {
        uint64_t expirations;
        if (t->fd != fd)
            continue;
        /* Nothing to read: re-armed since poll() saw it expire. */
        if (read(fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations))
            return true;
        t->armed = false;
        t->fire(srv);
        return true;
    }
    return false;
}
