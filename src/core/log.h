/* The debug/operations log: structured lines on stderr, logfmt or JSON.
 *
 *   FS_LOG_INFO("listening", "addr", addr, "store", "sqlite");
 *
 * Arguments after the message are key/value string pairs. The level is checked before any
 * argument is evaluated. Log once, at the edge: core modules return errors, the caller that
 * decides what to do logs. This is not the audit trail. */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum fs_log_level { FS_LOG_DEBUG, FS_LOG_INFO, FS_LOG_WARN, FS_LOG_ERROR, FS_LOG_OFF };
enum fs_log_format { FS_LOG_LOGFMT, FS_LOG_JSON };

extern int fs_log_min_level;

void fs_log_setup(enum fs_log_level level, enum fs_log_format format);
int fs_log_level_parse(const char *s, enum fs_log_level *out);
void fs_log_emit(enum fs_log_level level, const char *msg, ...); /* NULL-terminated pairs */

#define FS_LOG(lvl, msg, ...)                                                                      \
    do {                                                                                           \
        if ((int)(lvl) >= fs_log_min_level)                                                        \
            fs_log_emit((lvl), (msg), ##__VA_ARGS__, (char *)NULL);                                \
    } while (0)
#define FS_LOG_DEBUG(msg, ...) FS_LOG(FS_LOG_DEBUG, msg, ##__VA_ARGS__)
#define FS_LOG_INFO(msg, ...) FS_LOG(FS_LOG_INFO, msg, ##__VA_ARGS__)
#define FS_LOG_WARN(msg, ...) FS_LOG(FS_LOG_WARN, msg, ##__VA_ARGS__)
#define FS_LOG_ERROR(msg, ...) FS_LOG(FS_LOG_ERROR, msg, ##__VA_ARGS__)

/* Format a number into a temporary that lives until the end of the enclosing full expression,
 * for use as a log value: FS_LOG_INFO("x", "n", FS_I64(n)). */
#define FS_I64(v) fs_log_fmt_i64((char[24]){0}, (int64_t)(v))
const char *fs_log_fmt_i64(char buf[24], int64_t v);

#endif
