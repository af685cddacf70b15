/* Private to src/tools: the parsers behind the host tools. Each is a pure function of the bytes a
 * program printed (no clock, no files, no environment) to a JSON value, so the same parser serves
 * local and remote runs and can be unit-tested and fuzzed. Strings in the result are valid UTF-8
 * (invalid sequences become U+FFFD) but otherwise raw: the registry sanitizes and redacts them.
 * Each returns 0 with *out a new reference, or -FS_E_INVALID_PAYLOAD with a message saying what
 * was expected ("line 3: ...") and *out NULL; -FS_E_NOMEM. */
#ifndef FS_TOOLS_HOST_INT_H
#define FS_TOOLS_HOST_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Longest log line kept whole by fs_hp_lines; the rest of a line is cut with a marker. */
#define FS_HP_MAX_LINE 4096
/* Most certificates read from one PEM file. */
#define FS_HP_MAX_CERTS 64

/* `df -P -B1 -T` → {"filesystems":[{filesystem,type,size_bytes,used_bytes,avail_bytes,
 * used_percent,mount}],"unparsed_lines":N}; with inodes, `df -P -i -T` → {inodes_total,
 * inodes_used, inodes_free, inodes_used_percent} instead of the byte fields. used_percent is
 * df's own rounding, null when df prints "-". Mount points and device names may hold spaces. */
int fs_hp_df(const char *buf, size_t len, bool inodes, json_t **out, struct fs_err *err);

/* `du -x -B1 -0 --max-depth=N -- PATH` (NUL-terminated records; newline-terminated accepted when
 * the output holds no NUL) → {"entries":[{path,size_bytes}] largest first, "unparsed":N}. */
int fs_hp_du(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* `find ... -printf '%s\t%T@\t%p\0'` → {"files":[{path,size_bytes,mtime_s}] largest first,
 * "unparsed":N}. Empty output is an empty list. */
int fs_hp_find(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* `ps -eo pid,ppid,user,pcpu,pmem,rss,etimes,comm --no-headers` → {"processes":[{pid,ppid,user,
 * cpu_percent,mem_percent,rss_bytes,elapsed_s,command}]} in ps's order. */
int fs_hp_ps(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* /proc/meminfo → {total_bytes, available_bytes, used_bytes, used_percent, free_bytes,
 * buffers_bytes, cached_bytes, swap_total_bytes, swap_free_bytes, swap_used_bytes,
 * available_estimated}. MemTotal is required. */
int fs_hp_meminfo(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* /proc/loadavg → {load1, load5, load15, runnable, tasks, last_pid}. */
int fs_hp_loadavg(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* `nproc` → a positive count. */
int fs_hp_nproc(const char *buf, size_t len, int64_t *cores, struct fs_err *err);

/* `systemctl show --property=... UNIT` → {found, load_state, active_state, sub_state,
 * n_restarts, exec_main_status, active_enter_timestamp, memory_current_bytes}; fields systemd
 * reports as unset are null. ActiveState is required. */
int fs_hp_systemctl_show(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* `journalctl --disk-usage` → {bytes, human}. */
int fs_hp_journal_usage(const char *buf, size_t len, json_t **out, struct fs_err *err);
/* find -printf '%s\t%f\n' over a journal directory: {bytes, archived_bytes, active_bytes,
 * files, archived_files}; archived files are named NAME@... or end in ~. */
int fs_hp_journal_files(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* Lines of a log (`tail -n N`) → {"lines":[...], lines_read, lines_matched, lines_cut}: only the
 * lines containing filter (a fixed string, byte for byte; NULL or "" = every line), each cut at
 * FS_HP_MAX_LINE bytes. */
int fs_hp_lines(const char *buf, size_t len, const char *filter, json_t **out, struct fs_err *err);

/* `journalctl --no-pager -q -o short-iso` → {"lines":[{time, host, ident, pid, message}],
 * lines_read, lines_matched, lines_cut}: one element per journal entry, in journalctl's order. time
 * is the stamp as printed ("2026-11-21T10:12:03+0000"); ident is null when the entry has none, pid
 * null when none is printed (the kernel's lines); the continuation lines of a multi-line
 * message (indented under it) are joined to it with "\n". A line that is not in that format is
 * {raw: LINE}. lines_read counts entries (journalctl's own "-- ... --" notes and blank lines are
 * skipped); only entries with a line containing filter (a fixed string, byte for byte; NULL or
 * "" = every entry) are kept; each message is cut at FS_HP_MAX_LINE bytes. */
int fs_hp_journal_lines(const char *buf, size_t len, const char *filter, json_t **out,
                        struct fs_err *err);

/* `ss -H -ltnu` → {"sockets":[{proto, state, address, port, interface?}]}. A header line is
 * skipped; port is null for "*". */
int fs_hp_ss(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* PEM bytes → {"certificates":[{subject, issuer, serial, not_before, not_after, days_left,
 * expired}], min_days_left, earliest_not_after}, days relative to now_ms. No certificate in the
 * input is an error; the error never quotes the input (it may be a key). */
int fs_hp_pem(const char *buf, size_t len, int64_t now_ms, json_t **out, struct fs_err *err);

/* `ps -o pid=,ppid=,user:32=,s=,pcpu=,rss=,etimes=,comm= -p PID` → {exists: true, pid, ppid,
 * user, state (ps's one-letter state), state_name ("running", "sleeping", "zombie", ...), cmd
 * (the command name), cpu_pct (CPU time over the process's life, as ps reports it), rss_bytes,
 * age_s}; output with nothing but blank lines → {exists: false}. */
int fs_hp_process(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* `stat --printf='%f\t%s\t%a\t%Y\t%U\n' -- PATH` (not following a final symlink) →
 * {exists: true, type ("file", "dir", "link" or "other"), size, mode ("0644"), mtime_s,
 * owner}. */
int fs_hp_stat(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* `apt-cache policy -- PACKAGE` → {known, installed, candidate, upgradable}: the block headed
 * "PACKAGE:" (or "PACKAGE:ARCH:" when there is no native one), its "Installed:" and
 * "Candidate:" versions, "(none)" as null; upgradable = both set and different. No such block
 * (apt prints nothing for a name it does not know, or the blocks of other packages the name
 * matched as a regular expression; its "N: ..." notes are skipped) → {known: false, installed:
 * null, candidate: null, upgradable: false}. A block without both lines, or a version that is
 * not one (Debian: alphanumerics and . + - ~ :), is an error; an empty package -FS_E_INVALID. */
int fs_hp_apt_policy(const char *buf, size_t len, const char *package, json_t **out,
                     struct fs_err *err);

/* `crudini --get FILE SECTION KEY` that exited 0 → {exists: true, value}: what it printed
 * without the one "\n" it ends with (a multi-line value keeps its inner newlines; no output at
 * all is an error). */
int fs_hp_config_value(const char *buf, size_t len, json_t **out, struct fs_err *err);

/* A JSON string from n raw bytes: invalid UTF-8 replaced by U+FFFD, everything else kept. */
json_t *fs_hp_string(const char *s, size_t n);

#endif
