/* Clocks, RFC 3339 timestamps, durations ("90s", "1h30m", "7d") and sizes ("2MiB").
 * Wall-clock times are int64 milliseconds since the Unix epoch, UTC. */
#ifndef FS_TIME_H
#define FS_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FS_TIME_UNSET INT64_MIN

int64_t fs_now_ms(void);  /* wall clock */
int64_t fs_mono_ns(void); /* monotonic, for measuring intervals */
/* `ms` from now on clock (CLOCK_REALTIME for pthread_cond_timedwait, CLOCK_MONOTONIC for a
 * condition variable set to it), normalised. */
struct timespec fs_deadline_in(clockid_t clock, int64_t ms);

/* Parse an RFC 3339 timestamp ("2026-11-21T10:43:25.506Z", "...+02:00"), fractional seconds
 * truncated to milliseconds. Go's zero time ("0001-01-01T00:00:00Z") parses to FS_TIME_UNSET.
 * Returns 0 or -FS_E_INVALID. len may be (size_t)-1 for a NUL-terminated string. */
int fs_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ms);
/* Format as "2026-11-21T10:43:25.506Z" into buf (at least 32 bytes). Returns buf. */
char *fs_time_format(int64_t ms, char *buf, size_t size);

/* "250ms", "30s", "5m", "1h30m", "7d", "1w" (sums allowed) → milliseconds. */
int fs_duration_parse(const char *s, int64_t *out_ms);
/* Shortest exact form ("1h30m", "250ms", "0s"). */
char *fs_duration_format(int64_t ms, char *buf, size_t size);

/* "1048576", "512KiB", "2MiB", "1GiB", "2TiB", "4M", "69.6G", "2T" (K/M/G/T = 1000^n, KiB..TiB =
 * 1024^n; a fraction of up to 6 digits when it comes to whole bytes) → bytes. */
int fs_size_parse(const char *s, uint64_t *out);

#endif
