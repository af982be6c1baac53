/* cli/progress.c: the progress bar; drawn by the main thread at most 10 times a second. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ferry/size.h"
#include "quote.h"

static bool drawn;

static int term_width(void)
{
    struct winsize ws;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

char *progress_format_duration(int64_t s, char *buf, size_t len)
{
    if (s < 0)
        snprintf(buf, len, "--:--");
    else if (s >= 3600)
        snprintf(buf, len, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    else
        snprintf(buf, len, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
    return buf;
}

int progress_percent(const ferry_progress *p)
{
    uint64_t pct = 0;

    if (p->bytes_total > 0)
        pct = p->bytes_done * 100 / p->bytes_total;
    else if (p->files_total > 0)
        pct = (p->files_done + p->files_skipped + p->files_failed) * 100 / p->files_total;
    return pct > 100 ? 100 : (int)pct;
}

void progress_bar(char *bar, int width, int pct)
{
    for (int i = 0; i < width; i++)
        bar[i] = i < pct * width / 100 ? '=' : (i == pct * width / 100 ? '>' : ' ');
    bar[width] = '\0';
}

/*
 * The tail of a path that fits in width columns, with "..." in front when
 * cut: quoted (quote.h), so no control byte of a name reaches the terminal,
 * and cut at the start of a UTF-8 character.
 */
static void fit_tail(char *out, size_t outlen, const char *path, int width)
{
    const char *q = cli_quote(path), *tail;
    size_t n = strlen(q);

    if (width <= 3) {
        out[0] = '\0';
        return;
    }
    if ((int)n <= width) {
        snprintf(out, outlen, "%s", q);
        return;
    }
    tail = q + n - (size_t)(width - 3);
    while ((*tail & 0xC0) == 0x80)
        tail++;
    snprintf(out, outlen, "...%s", tail);
}

void progress_draw(const ferry_progress *p)
{
    char done[16], total[16], rate[16], eta[16], line[1024], cur[512], bar[64];
    int width = term_width(), pct = progress_percent(p), used;

    progress_bar(bar, 20, pct);
    ferry_size_format(p->bytes_done, done, sizeof(done));
    ferry_size_format(p->bytes_total, total, sizeof(total));
    ferry_size_format(p->rate_bps, rate, sizeof(rate));
    progress_format_duration(p->eta_s, eta, sizeof(eta));
    used = snprintf(line, sizeof(line), "%3d%% [%s] %s/%s  %llu/%llu files  %s/s  ETA %s  ", pct,
                    bar, done, p->planned ? total : "?",
                    (unsigned long long)(p->files_done + p->files_skipped),
                    (unsigned long long)p->files_total, rate, eta);
    if (used >= width)
        line[width - 1] = '\0';
    else {
        fit_tail(cur, sizeof(cur), p->current_file, width - used - 1);
        snprintf(line + used, sizeof(line) - (size_t)used, "%s", cur);
    }
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    drawn = true;
}

void progress_clear(void)
{
    if (!drawn)
        return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    drawn = false;
}
