/* log: one JSON object per line on stderr (the scripts send it to
 * var/log/tallyd.log). Each line is written with a single write(2) so lines
 * from the master and all workers never interleave. */
#ifndef TALLY_LOG_H
#define TALLY_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };   /* LOG_OFF: nothing (tallyctl speaks plain words) */

void log_set_level(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string body (no quotes) to buf at *pos, bounded by cap. */
void log_json_escape(char *buf, size_t cap, size_t *pos, const char *s);
/* UTC now as "2026-12-01T17:30:00.123Z" (the "ts" of every line); returns its length. */
size_t log_timestamp(char *out, size_t cap);
/* Writes a preformatted JSON line (adds the newline). */
void log_write_line(const char *line, size_t len);

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
