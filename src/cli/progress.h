/* cli/progress.h: the one-line progress bar on a terminal's stderr. */
#ifndef FERRY_CLI_PROGRESS_H
#define FERRY_CLI_PROGRESS_H

#include <stdbool.h>

#include "ferry/job.h"

/* Redraws the bar (percent, bytes, files, rate, ETA, current file) on stderr. */
void progress_draw(const ferry_progress *p);

/* Erases the bar so that a message can be printed in its place. */
void progress_clear(void);

/* The job's percentage done: by bytes, or by files while no byte is known. */
int progress_percent(const ferry_progress *p);

/* "=====>    " for pct, width characters and a NUL into bar. */
void progress_bar(char *bar, int width, int pct);

/* "1:02:03" or "2:03" into buf. */
char *progress_format_duration(int64_t s, char *buf, size_t len);

#endif
