/*
 * daemon/conn.c: every connection's budget of time and of descriptors.
 *
 * Slow and silent clients must not starve the others. libwebsockets bounds
 * each phase of an HTTP connection on its own, but not all of them:
 *   - request headers: timeout_secs_ah_idle from the first byte (lws), even
 *     when they trickle in one byte at a time;
 *   - waiting for the next request on a kept-alive connection:
 *     keepalive_timeout (lws);
 *   - a request body: lws restarts its timeout at every chunk, so one byte
 *     every few seconds would hold a connection for ever. Here, a request
 *     (body and answer) has REQUEST_DEADLINE_S from its headers on, and an
 *     error answered before the body is in closes the connection.
 * And descriptors: a flood of connections that never send a request would
 * fill lws's table (then lws stops accepting, and every client waits for a
 * timeout). Connections waiting for a request are kept oldest first; when a
 * new one comes and there are max_idle already, the oldest is closed. A
 * client that sends its request at once (every real one) is never the oldest
 * for long. WebSocket clients have their own cap (max_clients, ws.c).
 *
 * Every function runs on the service thread. A connection's record is its
 * lws "opaque user data", from SERVER_NEW_CLIENT_INSTANTIATED to WSI_DESTROY.
 */
#include <stdlib.h>
#include <sys/ioctl.h>

#include "daemon.h"

#define IDLE_SCAN 64 /* connections looked at, oldest first, for one to close */

struct conn {
    struct lws *wsi;
    server *srv;
    struct conn *prev, *next;        /* in srv->idle_head.., oldest first */
    bool idle;                       /* waiting for a request: in the list */
    lws_sorted_usec_list_t deadline; /* the current request's, when one runs */
};

static void unlink_idle(server *srv, conn *c)
{
    if (!c->idle)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->idle_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        srv->idle_tail = c->prev;
    c->prev = c->next = NULL;
    c->idle = false;
    srv->nidle--;
}

static void append_idle(server *srv, conn *c)
{
    if (c->idle)
        return;
    c->prev = srv->idle_tail;
    c->next = NULL;
    if (srv->idle_tail)
        srv->idle_tail->next = c;
    else
        srv->idle_head = c;
    srv->idle_tail = c;
    c->idle = true;
    srv->nidle++;
}

/* Closes the connection at the next turn of the loop (safe from any callback). */
static void kill_async(struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Whether the peer sent bytes lws has not read yet: a request on its way in. */
static bool has_unread_input(struct lws *wsi)
{
    int n = 0;

    return ioctl(lws_get_socket_fd(wsi), FIONREAD, &n) == 0 && n > 0;
}

static void deadline_passed(lws_sorted_usec_list_t *sul)
{
    conn *c = lws_container_of(sul, conn, deadline);

    c->srv->conns_dropped++;
    kill_async(c->wsi);
}

void conn_open(server *srv, struct lws *wsi)
{
    conn *c = calloc(1, sizeof(*c));

    if (!c) {
        kill_async(wsi);
        return;
    }
    c->wsi = wsi;
    c->srv = srv;
    lws_set_opaque_user_data(wsi, c);
    /*
     * Over the cap, the oldest connection that has sent nothing unread goes.
     * In a burst the loop accepts many connections before it reads any, and
     * the oldest then holds its request, unread: closing it reset 4 to 34 %
     * of 1,000 WebSocket clients opening at once (the daemon under ASan).
     * Those are passed over, IDLE_SCAN at most, and stay over the cap until
     * their request is read, in this turn of the loop or the next.
     */
    conn *old = srv->idle_head;
    for (unsigned n = 0; srv->nidle >= srv->max_idle && old && n < IDLE_SCAN; n++) {
        conn *next = old->next;
        if (!has_unread_input(old->wsi)) {
            unlink_idle(srv, old);
            srv->conns_dropped++;
            kill_async(old->wsi);
        }
        old = next;
    }
    append_idle(srv, c);
}

void conn_request(server *srv, struct lws *wsi)
{
    conn *c = lws_get_opaque_user_data(wsi);

    if (!c)
        return;
    unlink_idle(srv, c);
    lws_sul_schedule(srv->ctx, 0, &c->deadline, deadline_passed,
                     (lws_usec_t)REQUEST_DEADLINE_S * LWS_US_PER_SEC);
}

void conn_waiting(server *srv, struct lws *wsi)
{
    conn *c = lws_get_opaque_user_data(wsi);

    if (!c)
        return;
    lws_sul_cancel(&c->deadline);
    append_idle(srv, c);
}

void conn_upgraded(server *srv, struct lws *wsi)
{
    conn *c = lws_get_opaque_user_data(wsi);

    if (!c)
        return;
    lws_sul_cancel(&c->deadline);
    unlink_idle(srv, c);
}

void conn_close(server *srv, struct lws *wsi)
{
    conn *c = lws_get_opaque_user_data(wsi);

    if (!c)
        return;
    lws_sul_cancel(&c->deadline);
    unlink_idle(srv, c);
    lws_set_opaque_user_data(wsi, NULL);
    free(c);
}
