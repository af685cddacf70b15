/* libcurl's process-wide setup, done once for every user of libcurl (the LLM providers, the
 * observability tools, TLS endpoint checks, the MCP client, notifications, tickets). */
#ifndef FS_CURL_H
#define FS_CURL_H

#include "core/err.h"

/* curl_global_init, once per process and thread-safe. 0, or -FS_E_SYSTEM with err filled
 * ("libcurl: ...") when libcurl cannot be set up; every later call says the same. */
int fs_curl_init(struct fs_err *err);

#endif
