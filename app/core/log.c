/* log: JSON lines on stderr. See log.h. The level is process-wide
 * configuration set once at start (and on reload), not request state. */
#define _GNU_SOURCE
#include "log.h"
#include "limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_min_level = LOG_INFO;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level) { log_min_level = level; }

int log_enabled(enum log_level level) { return level >= log_min_level; }

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i <= LOG_ERROR; i++) {
        if (strcasecmp(name, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_json_escape(char *buf, size_t cap, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t p = *pos;
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[7];
        size_t n = 0;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\'; esc[1] = (char)ch; n = 2;
        } else if (ch == '\n') {
            esc[0] = '\\'; esc[1] = 'n'; n = 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[ch >> 4]; esc[5] = hex[ch & 15]; n = 6;
        } else {
            esc[0] = (char)ch; n = 1;
        }
        if (p + n + 1 >= cap)
            break;
        memcpy(buf + p, esc, n);
        p += n;
    }
    if (p < cap)
        buf[p] = '\0';
    *pos = p;
}

void log_write_line(const char *line, size_t len)
{
    char buf[LIMIT_LOG_LINE_BYTES + 1];
    if (len > LIMIT_LOG_LINE_BYTES)
        len = LIMIT_LOG_LINE_BYTES;
    memcpy(buf, line, len);
    buf[len] = '\n';
    ssize_t ignored = write(STDERR_FILENO, buf, len + 1);
    (void)ignored;
}

size_t log_timestamp(char *out, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(out + n, cap - n, ".%03dZ", (int)(tv.tv_usec / 1000));
    return n + (m > 0 ? (size_t)m : 0);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[LIMIT_LOG_LINE_BYTES / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char line[LIMIT_LOG_LINE_BYTES];
    char ts[40];
    log_timestamp(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%d,\"msg\":\"",
                     ts, log_level_names[level], (int)getpid());
    size_t pos = n > 0 ? (size_t)n : 0;
    log_json_escape(line, sizeof(line) - 3, &pos, msg);
    line[pos++] = '"';
    line[pos++] = '}';
    log_write_line(line, pos);
}
