/* PCRE2 helpers shared by every module that matches patterns on a hot path: one match data
 * block per thread (created on first use, freed when the thread exits), so matching allocates
 * nothing once a thread is warm. */
#ifndef FS_REGEX_H
#define FS_REGEX_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

/* This thread's match data (room for the whole-match pair only), or NULL when out of memory.
 * Valid until the thread exits; never freed by the caller; not to be shared across threads. */
pcre2_match_data *fs_re_match_data(void);

#endif
