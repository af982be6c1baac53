/* core/json.c: events and progress as JSON lines; schema in docs/events.md. */
#include "ferry/json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string of s, with each invalid UTF-8 byte replaced by U+FFFD. */
static json_t *jstr(const char *s)
{
    json_t *j;
    size_t len, out = 0;
    char *fixed;

    if (!s)
        return json_null();
    if ((j = json_string(s)))
        return j;
    len = strlen(s);
    if (!(fixed = malloc(len * 3 + 1)))
        return json_null();
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len((const unsigned char *)s + i);
        if (n == 0) {
            memcpy(fixed + out, "\xef\xbf\xbd", 3);
            out += 3;
            i++;
        } else {
            memcpy(fixed + out, s + i, n);
            out += n;
            i += n;
        }
    }
    fixed[out] = '\0';
    j = json_string(fixed);
    free(fixed);
    return j ? j : json_null();
}

static json_t *jtime(uint64_t wall_ns)
{
    time_t t = (time_t)(wall_ns / FERRY_NS_PER_SEC);
    struct tm tm;
    char buf[64];

    gmtime_r(&t, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(wall_ns % FERRY_NS_PER_SEC / FERRY_NS_PER_MS));
    return json_string(buf);
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;

    json_decref(o);
    return s;
}

static void add_counters(json_t *o, const ferry_progress *p)
{
    json_object_set_new(o, "state", json_string(ferry_job_state_name(p->state)));
    json_object_set_new(o, "bytes_done", json_integer((json_int_t)p->bytes_done));
    json_object_set_new(o, "bytes_total", json_integer((json_int_t)p->bytes_total));
    json_object_set_new(o, "files_done", json_integer((json_int_t)p->files_done));
    json_object_set_new(o, "files_skipped", json_integer((json_int_t)p->files_skipped));
    json_object_set_new(o, "files_failed", json_integer((json_int_t)p->files_failed));
    json_object_set_new(o, "files_total", json_integer((json_int_t)p->files_total));
    json_object_set_new(o, "rate_bps", json_integer((json_int_t)p->rate_bps));
    json_object_set_new(o, "elapsed_s", json_real((double)p->elapsed_ns / 1e9));
}

char *ferry_json_progress(const char *job_id, const ferry_progress *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "event", json_string("progress"));
    json_object_set_new(o, "job", jstr(job_id));
    add_counters(o, p);
    json_object_set_new(o, "eta_s", p->eta_s >= 0 ? json_integer(p->eta_s) : json_null());
    json_object_set_new(o, "current_file", jstr(p->current_file));
    json_object_set_new(o, "time", jtime(ferry__wall_ns()));
    return dump(o);
}

char *ferry_json_event(const ferry_event *ev, const ferry_progress *fin)
{
    json_t *o = json_object();

    switch (ev->type) {
    case FERRY_EVENT_STATE:
        json_object_set_new(o, "event", json_string("state"));
        json_object_set_new(o, "job", jstr(ev->job_id));
        json_object_set_new(o, "state", json_string(ferry_job_state_name(ev->state)));
        json_object_set_new(o, "error", jstr(ev->message));
        break;
    case FERRY_EVENT_FILE:
        json_object_set_new(o, "event", json_string("file"));
        json_object_set_new(o, "job", jstr(ev->job_id));
        json_object_set_new(o, "path", jstr(ev->path));
        json_object_set_new(o, "dest", jstr(ev->dest));
        json_object_set_new(o, "state", json_string(ferry_file_result_name(ev->result)));
        json_object_set_new(o, "bytes", json_integer((json_int_t)ev->bytes));
        json_object_set_new(o, "error", jstr(ev->message));
        break;
    case FERRY_EVENT_END:
        json_object_set_new(o, "event", json_string("end"));
        json_object_set_new(o, "job", jstr(ev->job_id));
        if (fin) {
            add_counters(o, fin);
            json_object_set_new(o, "cancel_latency_us", fin->cancel_latency_us >= 0
                                                            ? json_integer(fin->cancel_latency_us)
                                                            : json_null());
        }
        break;
    default:
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "time", jtime(ev->time_ns));
    return dump(o);
}

char *ferry_json_start(const char *job_id, const ferry_job_spec *spec)
{
    json_t *o = json_object(), *src = json_array();

    for (size_t i = 0; i < spec->nsources; i++)
        json_array_append_new(src, jstr(spec->sources[i]));
    json_object_set_new(o, "event", json_string("start"));
    json_object_set_new(o, "job", jstr(job_id));
    json_object_set_new(o, "sources", src);
    json_object_set_new(o, "dest", jstr(spec->dest));
    json_object_set_new(o, "on_conflict", json_string(ferry_conflict_name(spec->on_conflict)));
    json_object_set_new(o, "bwlimit", json_integer((json_int_t)spec->bwlimit));
    json_object_set_new(o, "fsync", json_boolean(!spec->no_fsync));
    if (spec->frames)
        json_object_set_new(o, "frames", jstr(spec->frames));
    if (spec->renumber)
        json_object_set_new(o, "renumber", json_integer((json_int_t)spec->renumber_start));
    if (spec->pad)
        json_object_set_new(o, "pad", json_integer(spec->pad));
    if (spec->require_complete)
        json_object_set_new(o, "require_complete", json_true());
    if (spec->check_exr)
        json_object_set_new(o, "check_exr", json_true());
    json_object_set_new(o, "time", jtime(ferry__wall_ns()));
    return dump(o);
}

char *ferry_json_sequence(const char *job_id, const ferry_seq_summary *s)
{
    json_t *o = json_object();

    json_object_set_new(o, "event", json_string("sequence"));
    if (job_id)
        json_object_set_new(o, "job", jstr(job_id));
    json_object_set_new(o, "source", jstr(s->source));
    json_object_set_new(o, "dest", jstr(s->dest));
#define SET(name, text, count)                                                                   \
    do {                                                                                         \
        json_object_set_new(o, name, jstr(text));                                               \
        json_object_set_new(o, name "_count", json_integer((json_int_t)(count)));                \
    } while (0)
    SET("frames", s->frames, s->nframes);
    SET("missing", s->missing, s->nmissing);
    SET("done", s->done, s->ndone);
    SET("skipped", s->skipped, s->nskipped);
    SET("failed", s->failed, s->nfailed);
#undef SET
    return dump(o);
}
