/*
 * bench/rtclient.c: `ferry-rtclient`: times HTTP requests to `ferry serve` on
 * one keep-alive connection, for benchmarks whose figure is the daemon's
 * answer time (the cancel round trip, bench/daemon/cancel.bench.mjs):
 *
 *     ferry-rtclient PORT TOKEN
 *
 * Reads one request a line from stdin, "METHOD PATH [BODY]", sends it and
 * prints one line when the whole answer has arrived:
 *
 *     STATUS T0_NS T1_NS TK_NS BODY
 *
 * T0 just before the request's send(), T1 just after the read that completed
 * the answer, TK when the kernel received the answer's last segment (the
 * socket's software receive timestamp, SO_TIMESTAMPING; 0 if none came), all
 * CLOCK_MONOTONIC (the clock of Node's process.hrtime); BODY with its line
 * breaks made spaces.
 *
 * Why: a client in a script's event loop adds its own delays to T1 (a
 * collection, another socket's callback first): 1 to 2 answers in 50 read
 * 3.5 to 11 ms in Node while on the wire (tcpdump) the daemon had answered
 * every one within 1.4 ms. This one waits in recvmsg() and nothing else, and
 * TK - T0 leaves out even its own wake-up: on a small shared machine a woken
 * process may wait milliseconds for a core, the daemon's answer long sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX (1u << 20)

static long long ns(const struct timespec *ts)
{
    return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static long long now_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return ns(&ts);
}

static int dial(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int stamps = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &stamps, sizeof(stamps)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One recvmsg(); *kernel_ns is the receive time of the last segment it
 * read (CLOCK_MONOTONIC), when the socket gave one. */
static ssize_t recv_stamped(int fd, char *buf, size_t len, long long *kernel_ns)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct scm_timestamping))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t r = recvmsg(fd, &msg, 0);

    if (r <= 0)
        return r;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        struct scm_timestamping st;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPING)
            continue;
        memcpy(&st, CMSG_DATA(c), sizeof(st));
        if (st.ts[0].tv_sec || st.ts[0].tv_nsec) {
            /* The stamp is CLOCK_REALTIME: as long ago on the monotonic clock. */
            long long mono = now_ns(CLOCK_MONOTONIC), real = now_ns(CLOCK_REALTIME);
            *kernel_ns = mono - (real - ns(&st.ts[0]));
        }
    }
    return r;
}

/* Reads one answer into buf (NUL-terminated); its length, or -1. The body's
 * offset in *body. Answers of ferry serve carry Content-Length. */
static long read_answer(int fd, char *buf, size_t cap, size_t *body, long long *kernel_ns)
{
    size_t have = 0;

    for (;;) {
        ssize_t r = recv_stamped(fd, buf + have, cap - 1 - have, kernel_ns);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) {
            if (have == cap - 1)
                return -1;
            continue;
        }
        size_t len = 0;
        for (char *h = strchr(buf, '\n'); h && h < end; h = strchr(h + 1, '\n'))
            if (!strncasecmp(h + 1, "content-length:", 15))
                len = strtoul(h + 16, NULL, 10);
        *body = (size_t)(end + 4 - buf);
        if (*body + len > cap - 1)
            return -1;
        if (have >= *body + len) {
            buf[*body + len] = '\0';
            return (long)(*body + len);
        }
    }
}

int main(int argc, char **argv)
{
    char line[65536], *ans = malloc(ANSWER_MAX), *req = NULL;
    int fd = -1, port = argc == 3 ? atoi(argv[1]) : 0;

    if (port <= 0 || !ans) {
        fprintf(stderr, "usage: ferry-rtclient PORT TOKEN (requests on stdin)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin)) {
        char *method = strtok(line, " \r\n"), *path = strtok(NULL, " \r\n");
        char *body = strtok(NULL, "\r\n");
        size_t blen = body ? strlen(body) : 0, off = 0;

        if (!method || !path)
            continue;
        free(req);
        if (asprintf(&req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, port, argv[2], blen, body ? body : "") < 0)
            return 1;
        long long t0 = 0, t1 = 0, tk = 0;
        long n = -1;
        /* A kept-alive connection the daemon has closed since: once more on a
         * new one. */
        for (int tries = 0; n < 0 && tries < 2; tries++) {
            if (fd < 0 && (fd = dial(port)) < 0) {
                fprintf(stderr, "ferry-rtclient: connect to 127.0.0.1:%d: %s\n", port,
                        strerror(errno));
                return 1;
            }
            tk = 0;
            t0 = now_ns(CLOCK_MONOTONIC);
            n = send_all(fd, req, strlen(req)) == 0 ? read_answer(fd, ans, ANSWER_MAX, &off, &tk)
                                                    : -1;
            t1 = now_ns(CLOCK_MONOTONIC);
            if (n < 0) {
                close(fd);
                fd = -1;
            }
        }
        if (n < 0) {
            fprintf(stderr, "ferry-rtclient: %s %s: no whole answer\n", method, path);
            printf("0 %lld %lld 0 null\n", t0, t1);
            continue;
        }
        for (char *c = ans + off; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        printf("%d %lld %lld %lld %s\n", atoi(strchr(ans, ' ') ? strchr(ans, ' ') + 1 : "0"), t0,
               t1, tk, ans + off);
    }
    free(req);
    free(ans);
    if (fd >= 0)
        close(fd);
    return 0;
}
