/* Included first by every forestall .c file: feature macros, the banned-function list, and the
 * handful of helpers every module uses. */
#ifndef FS_COMMON_H
#define FS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"

#define FS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define FS_UNUSED(x) ((void)(x))

/* Allocation that aborts on failure is never used; callers handle NULL. These wrappers exist
 * so tests can inject allocation failures at numbered points (see core/fault.h). */
void *fs_malloc(size_t n);
void *fs_calloc(size_t n, size_t size);
void *fs_realloc(void *p, size_t n);
char *fs_strdup(const char *s);
char *fs_strndup(const char *s, size_t n);

/* Bounded copy that always terminates; returns -FS_E_TOO_LARGE if src did not fit. A cut
 * never leaves half a UTF-8 character. */
int fs_strlcpy(char *dst, const char *src, size_t size);
/* After a text was cut at a byte limit (snprintf, a fixed buffer): drop a UTF-8 character left
 * incomplete at its end, so what is kept is still valid text (JSON encoders refuse the rest). */
void fs_utf8_cut(char *s);

bool fs_streq(const char *a, const char *b); /* NULL-safe */

#include "core/banned.h"

#endif
