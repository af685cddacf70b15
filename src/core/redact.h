/* Untrusted text made safe to keep, log and show (tool output, log lines, error bodies of
 * remote services): invalid UTF-8 replaced, control characters removed, secrets replaced by a
 * marker, and the result capped. The same rules apply everywhere text from outside is kept, so
 * a secret that reaches a tool's output never reaches the LLM, the logs, the audit trail or a
 * post-mortem (architecture.md §3). */
#ifndef FS_REDACT_H
#define FS_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct fs_sanitize_stats {
    size_t bytes_in;     /* input length */
    size_t bytes_out;    /* output length (without the NUL) */
    bool truncated;      /* the cap cut it; a note says how much was left out */
    size_t controls;     /* control characters / escape sequences removed */
    size_t invalid_utf8; /* invalid sequences replaced by U+FFFD */
    size_t secrets;      /* secrets replaced by "[REDACTED:<kind>]" */
};

/* Make len bytes of untrusted text safe: invalid UTF-8 → U+FFFD; control characters other than
 * \n and \t removed, ANSI/VT escape sequences (CSI, OSC, ...) removed whole, \r\n → \n; secrets
 * redacted (see below); then capped at max bytes (0 = no cap) on a UTF-8 boundary, followed by
 * "\n[... N bytes left out]" when cut. Returns a new NUL-terminated string (caller frees) or NULL
 * when out of memory; st may be NULL. With a cap, only the first 4×max + 64 KiB input bytes are
 * processed; N counts the sanitized bytes the cap dropped plus the input bytes never processed.
 * \r is rewritten to \n without counting as a control. */
char *fs_sanitize_text(const char *in, size_t len, size_t max, struct fs_sanitize_stats *st);

/* Redact secrets in every string of a JSON value (recursively, keys too), in place. Values under
 * keys that name secrets (password, passwd, secret, token, api_key, apikey, authorization,
 * private_key, credentials, ...) are replaced whole. *count (may be NULL) gets how many. */
int fs_redact_json(json_t *v, size_t *count);

/* Secrets forestall knows by value (its own tokens, keys, passwords from the config): every
 * occurrence is redacted from then on. Values shorter than 8 bytes are refused (they would
 * redact ordinary words). Thread-safe; values are copied. */
int fs_redact_register(const char *value, const char *kind);
/* Forget every registered value (config reload registers the new set). */
void fs_redact_clear_registered(void);

#endif
