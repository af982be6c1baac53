/*
 * daemon/conn.c: every HTTP connection's budget of time and of descriptors.
 *
 * Slow and silent clients must not starve the others. libmicrohttpd closes a
 * connection on which no byte moved for IDLE_TIMEOUT_S, but a client that
 * trickles a byte every few seconds is never idle. So each connection has a
 * deadline for the phase it is in:
 *   - waiting (accepted, or answered and kept alive): its next request's
 *     headers must be in within HEADERS_TIMEOUT_S, even trickled;
 *   - a request (headers in): its body and its answer must be through within
 *     REQUEST_DEADLINE_S;
 *   - upgraded to a WebSocket: none here (ws.c; TCP keepalive).
 * A connection past its deadline is shut down (shutdown(2): libmicrohttpd
 * sees the end of the stream at once and closes it; it owns the descriptor).
 * And descriptors: connections waiting for a request are at most max_idle;
 * when a new one comes and there are that many, the oldest waiting one that
 * has sent nothing unread is closed. A client that sends its request at once
 * (every real one) is never the oldest for long. WebSocket clients have their
 * own cap (max_clients, ws.c).
 *
 * Every function runs on the service thread.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "daemon.h"
#include "util/clock.h"

#define IDLE_SCAN 64 /* connections looked at, oldest first, for one to close */

typedef enum { CONN_WAITING, CONN_REQUEST, CONN_UPGRADED, CONN_SHUT } conn_phase;

struct conn {
    int fd;
    conn_phase phase;
    uint64_t deadline_ms; /* of the phase, on the monotonic clock; 0: none */
    struct conn *prev, *next; /* srv->conns, oldest first */
};

static uint64_t now_ms(void)
{
    return ferry__now_ns() / FERRY_NS_PER_MS;
}

/* Whether the peer sent bytes not read yet: a request on its way in. */
static bool has_unread_input(conn *c)
{
    int n = 0;

    return ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

static void shut(server *srv, conn *c)
{
    if (c->phase == CONN_WAITING)
        srv->nidle--;
    c->phase = CONN_SHUT;
    c->deadline_ms = 0;
    srv->conns_dropped++;
    shutdown(c->fd, SHUT_RDWR);
}

static void arm_at(server *srv, uint64_t at)
{
    uint64_t now = now_ms();

    loop_timer_arm(&srv->deadlines, at > now ? (unsigned)(at - now) : 0);
    srv->deadline_next = at;
}

/* Arms the deadline timer for the earliest deadline: the list is walked,
 * which is cheap next to what each connection costs anyway (a few hundred
 * at most); no deadline, no timer: an idle daemon sleeps. */
static void arm(server *srv)
{
    uint64_t first = 0;

    for (conn *c = srv->conns; c; c = c->next)
        if (c->deadline_ms && (!first || c->deadline_ms < first))
            first = c->deadline_ms;
    if (first)
        arm_at(srv, first);
}

static void deadlines_passed(server *srv)
{
    uint64_t now = now_ms();

    for (conn *c = srv->conns; c; c = c->next)
        if (c->deadline_ms && c->deadline_ms <= now)
            shut(srv, c);
    arm(srv);
}

int conn_start(server *srv)
{
    return loop_timer_open(srv, &srv->deadlines, deadlines_passed);
}

static void set_phase(server *srv, conn *c, conn_phase phase, unsigned seconds)
{
    if (c->phase == CONN_SHUT)
        return;
    if (c->phase == CONN_WAITING)
        srv->nidle--;
    if (phase == CONN_WAITING)
        srv->nidle++;
    c->phase = phase;
    c->deadline_ms = seconds ? now_ms() + seconds * 1000ull : 0;
    /* A later deadline than the one armed waits for it; an earlier one is armed. */
    if (c->deadline_ms && (!srv->deadlines.armed || c->deadline_ms < srv->deadline_next))
        arm_at(srv, c->deadline_ms);
}

void conn_notify(void *cls, struct MHD_Connection *connection, void **socket_context,
                 enum MHD_ConnectionNotificationCode code)
{
    server *srv = cls;
    conn *c = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (!c)
            return;
        if (c->phase == CONN_WAITING)
            srv->nidle--;
        if (c->prev)
            c->prev->next = c->next;
        else
            srv->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        else
            srv->conns_tail = c->prev;
        free(c);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info || !(c = calloc(1, sizeof(*c)))) {
        if (info)
            shutdown(info->connect_fd, SHUT_RDWR);
        return;
    }
    c->fd = info->connect_fd;
    c->phase = CONN_REQUEST; /* counted as waiting below */
    /*
     * Over the cap, the oldest connection that has sent nothing unread goes.
     * In a burst the loop accepts many connections before it reads any, and
     * the oldest then holds its request, unread: closing it would reset a
     * client that did nothing wrong. Those are passed over, IDLE_SCAN at
     * most, and stay over the cap until their request is read.
     */
    conn *old = srv->conns;
    for (unsigned n = 0; srv->nidle >= srv->max_idle && old && n < IDLE_SCAN; old = old->next) {
        if (old->phase != CONN_WAITING)
            continue;
        n++;
        if (!has_unread_input(old))
            shut(srv, old);
    }
    c->prev = srv->conns_tail;
    if (srv->conns_tail)
        srv->conns_tail->next = c;
    else
        srv->conns = c;
    srv->conns_tail = c;
    *socket_context = c;
    set_phase(srv, c, CONN_WAITING, HEADERS_TIMEOUT_S);
}

void conn_request(server *srv, conn *c)
{
    if (c)
        set_phase(srv, c, CONN_REQUEST, REQUEST_DEADLINE_S);
}

void conn_waiting(server *srv, conn *c)
{
    if (c && c->phase == CONN_REQUEST)
        set_phase(srv, c, CONN_WAITING, HEADERS_TIMEOUT_S);
}

void conn_upgraded(server *srv, conn *c)
{
    if (c)
        set_phase(srv, c, CONN_UPGRADED, 0);
}
