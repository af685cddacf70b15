/* PCRE2 helpers shared by every module that matches patterns on a hot path: one match data
 * block per thread (created on first use, freed when the thread exits), so matching allocates
 * nothing once a thread is warm. */
#ifndef FS_REGEX_H
#define FS_REGEX_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <stdbool.h>
#include <stddef.h>

/* Anchored patterns: the catalog's and the tool schemas' "pattern" checks. A pattern must be
 * written ^...$ (so it reads as what it does; a trailing "\$" is a literal dollar), and a value
 * matches only when the whole of it does. */
bool fs_re_is_anchored(const char *s, size_t n);
/* Compile UTF, $ only at the end, no \C, JIT when available. NULL with msg filled
 * ("not a valid regular expression at offset N: ...") when it does not compile. */
pcre2_code *fs_re_compile_checked(const char *s, size_t n, char *msg, size_t msgsize);
/* 1 when the whole of s matches, 0 when not, -1 when the match hit the shared limits (1e6
 * steps, depth 1e4, 16 MiB heap) or memory ran out. No allocation on a warm thread. */
int fs_re_full_match(const pcre2_code *re, const char *s, size_t len);

/* This thread's match data (room for the whole-match pair only), or NULL when out of memory.
 * Valid until the thread exits; never freed by the caller; not to be shared across threads. */
pcre2_match_data *fs_re_match_data(void);

#endif
