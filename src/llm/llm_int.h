/* Internals of the language-model providers (llm.c, llm_*.c), exported for their unit tests
 * and fuzz target: the client structure and the provider table, the request each provider
 * prepares for the one HTTP exchange, the renderers (neutral request → provider body) and the
 * parsers (provider body → neutral response), all pure; error mapping, retry timing, the
 * Bedrock credentials and paths, and the replay transcript. */
#ifndef FS_LLM_INT_H
#define FS_LLM_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "llm/llm.h"

#define FS_LLM_MAX_RESPONSE (8u << 20) /* bytes of one response body */
#define FS_LLM_MAX_REQUEST (32u << 20) /* bytes of one request body (Anthropic's own limit) */
#define FS_LLM_JSON_DEPTH 128          /* nesting accepted in a response */
#define FS_LLM_MAX_TRANSCRIPT (64u << 20)

/* ---- the client --------------------------------------------------------------------------- */

struct fs_llm_http;
struct fs_llm_parse_ctx;

struct fs_llm_ops {
    /* Check and complete the configuration at fs_llm_new (base URL, region, credentials). */
    int (*init)(struct fs_llm *m, struct fs_err *err);
    void (*fini)(struct fs_llm *m);
    /* The provider's request body for a (redacted) neutral request. */
    int (*render)(const struct fs_llm_config *cfg, const struct fs_llm_request *rq, json_t **out,
                  struct fs_err *err);
    /* URL, headers and authentication of one exchange (called for every attempt). */
    int (*prepare)(const struct fs_llm *m, struct fs_llm_http *h, struct fs_err *err);
    /* A 2xx body into the neutral response. */
    int (*parse)(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                 struct fs_llm_response *rs, struct fs_err *err);
    /* replay: the whole call without HTTP (render/prepare unused). */
    int (*complete)(struct fs_llm *m, const struct fs_llm_request *rq, struct fs_llm_response *rs,
                    struct fs_err *err);
};

struct fs_llm {
    struct fs_llm_config cfg; /* strings borrowed from the caller's config */
    const struct fs_llm_ops *ops;
    char *base_url; /* resolved: the default or cfg.base_url, {region} filled, no trailing '/' */
    char *region;   /* bedrock */
    char *bearer;   /* bedrock: the API key when bearer auth is used (owned copy) */
    json_t *transcript; /* replay: the lines' "response" members, in order */
    size_t next_call;   /* replay */
    pthread_mutex_t mu; /* replay's next_call */
};

/* One HTTP exchange as a provider prepares it; released by fs_llm_http_release. */
struct fs_llm_http {
    char *url;                  /* what is requested */
    char *target;               /* non-NULL: the request target sent instead of url's path */
    struct curl_slist *headers; /* Content-Type and Accept are added by llm.c */
    char sigv4[128];            /* non-empty: CURLOPT_AWS_SIGV4 ("aws:amz:REGION:bedrock") */
    char *aws_key_id, *aws_secret;
    /* Tests only: headers carry a fixed X-Amz-Date. libcurl 7.88 signs with it but then sends
     * its own X-Amz-Date too, a repeated header AWS would join into "D,D" and refuse; so libcurl
     * signs in a dry run (fs_llm_presign) and the real request carries that
     * Authorization, without CURLOPT_AWS_SIGV4. */
    bool presign;
};
void fs_llm_http_release(struct fs_llm_http *h);
/* Append "Name: value" to h->headers; -FS_E_NOMEM. */
int fs_llm_http_header(struct fs_llm_http *h, const char *name, const char *value);
/* h->url = base followed by path; -FS_E_NOMEM. */
int fs_llm_http_url(struct fs_llm_http *h, const char *base, const char *path);
/* Append "Authorization: Bearer <token>" (the copy made on the way zeroed); -FS_E_NOMEM. */
int fs_llm_http_bearer(struct fs_llm_http *h, const char *token);
/* Zero a secret string, then free it (NULL is fine). */
void fs_llm_secret_free(char *s);

/* The Authorization libcurl's CURLOPT_AWS_SIGV4 computes for h and body, without sending it
 * anywhere: the request goes to a loopback listener of ours that never reads it, and the header
 * is taken from what libcurl reports it sent. *out is "AWS4-HMAC-SHA256 Credential=...";
 * caller frees. -FS_E_SYSTEM when libcurl produced none. */
int fs_llm_presign(const struct fs_llm_http *h, const char *body, size_t len, char **out,
                   struct fs_err *err);

extern const struct fs_llm_ops fs_llm_anthropic_ops, fs_llm_bedrock_ops, fs_llm_openai_ops,
    fs_llm_ollama_ops, fs_llm_replay_ops;

/* ---- rendering (neutral → provider) ------------------------------------------------------ */

/* A neutral message's content as blocks: an array is returned as is, a string as one text
 * block (*tmp holds it; decref after use). NULL for anything else. */
const json_t *fs_llm_blocks(const json_t *content, json_t **tmp);
/* The text of a tool_result's content: a string, or the text blocks of an array joined by
 * newlines. Never NULL ("" when none); caller frees. */
char *fs_llm_result_text(const json_t *content);
/* The conversation as turns the strict APIs accept: consecutive messages of one role merged
 * (Bedrock insists on alternation; every tool result of a turn in one user message), tool_result
 * blocks first in a user turn, empty text blocks dropped, tool_use kept only in assistant turns
 * and tool_result only in user turns, unknown blocks dropped, empty turns dropped. Blocks are
 * the neutral ones (shared references). NULL when out of memory. */
json_t *fs_llm_turns(const json_t *messages);
/* How many tool_use blocks the assistant messages hold (the numbering of synthesized ids). */
int fs_llm_count_calls(const json_t *messages);
/* Check the neutral request's shape: messages an array of {role: user|assistant, content:
 * string or array}, tools an array of {name: unique non-empty string, description?,
 * input_schema?: object}. -FS_E_INVALID with err->path ("messages[3].role"). */
int fs_llm_request_check(const struct fs_llm_request *rq, struct fs_err *err);
/* cfg->max_tokens, or 2048 when it is not set. */
json_int_t fs_llm_max_tokens(const struct fs_llm_config *cfg);
/* The offered tools as one provider's definitions: each {"name": mapped, schema_key: the
 * input_schema (default {"type": "object", "properties": {}}), "description" when non-empty},
 * the schema inside {schema_in: schema} when schema_in is non-NULL, and each definition passed
 * through wrap (which steals it; NULL = kept as is). NULL when out of memory. */
json_t *fs_llm_tool_defs(const json_t *tools, const char *schema_key, const char *schema_in,
                         json_t *(*wrap)(json_t *def));
/* The conversation as fs_llm_turns gives it, each turn a message {"role", "content": [block(tools,
 * b) for each of its blocks]} (Anthropic Messages, Bedrock Converse). NULL when out of memory. */
json_t *fs_llm_block_messages(const json_t *messages, const json_t *tools,
                              json_t *(*block)(const json_t *tools, const json_t *b));
/* Chat messages (OpenAI-compatible, Ollama): {"role": "system", "content": rq->system} when the
 * system prompt is non-empty, then what turn appends to msgs for each turn of fs_llm_turns (ti its
 * index; 0 or -FS_E_NOMEM). NULL when out of memory. */
json_t *fs_llm_chat_messages(const struct fs_llm_request *rq,
                             int (*turn)(const json_t *tools, const json_t *turns, size_t ti,
                                         json_t *msgs));
/* A renderer's end: *out = body when ok; else body released, *out NULL and -FS_E_NOMEM. */
int fs_llm_render_done(bool ok, json_t *body, json_t **out, struct fs_err *err);

int fs_llm_anthropic_render(const struct fs_llm_config *cfg, const struct fs_llm_request *rq,
                            json_t **out, struct fs_err *err);
int fs_llm_bedrock_render(const struct fs_llm_config *cfg, const struct fs_llm_request *rq,
                          json_t **out, struct fs_err *err);
int fs_llm_openai_render(const struct fs_llm_config *cfg, const struct fs_llm_request *rq,
                         json_t **out, struct fs_err *err);
int fs_llm_ollama_render(const struct fs_llm_config *cfg, const struct fs_llm_request *rq,
                         json_t **out, struct fs_err *err);

/* ---- parsing (provider → neutral) -------------------------------------------------------- */

struct fs_llm_parse_ctx {
    const json_t *tools; /* the offered tools (forestall names) for unmapping; may be NULL */
    int first_call;      /* a missing call id becomes "call_<first_call + k>", k from 1 */
    const char *model;   /* the model asked for: kept when the response names none */
};

/* Each parses one 2xx body into rs (content, stop_reason, tokens, model; not attempts or the
 * bodies). On failure -FS_E_PROTOCOL (err->msg: "<provider>: ..." saying what is wrong and
 * where) or -FS_E_NOMEM, and rs->content stays NULL. Unknown block types are skipped; a tool
 * call naming no offered tool keeps its raw name; arguments that are not a JSON object give
 * input {} and "input_error" (llm.h). */
int fs_llm_anthropic_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                           struct fs_llm_response *rs, struct fs_err *err);
int fs_llm_bedrock_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                         struct fs_llm_response *rs, struct fs_err *err);
int fs_llm_openai_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                        struct fs_llm_response *rs, struct fs_err *err);
int fs_llm_ollama_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                        struct fs_llm_response *rs, struct fs_err *err);
/* The neutral response object itself (a replay transcript's "response"), checked the same way. */
int fs_llm_neutral_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                         struct fs_llm_response *rs, struct fs_err *err);

/* The tools as {"type": "function", "function": {name (mapped), description, parameters}}
 * (OpenAI-compatible and Ollama's native API). NULL when out of memory. */
json_t *fs_llm_function_tools(const json_t *tools);
/* An "error" member (a string or {message}) in a 2xx body: -FS_E_PROTOCOL with its message,
 * made safe; 0 when there is none. */
int fs_llm_error_in_body(const char *who, const json_t *doc, struct fs_err *err);

/* Shared by the parsers: the body as a JSON object (-FS_E_PROTOCOL "<who>: ..." otherwise). */
int fs_llm_parse_body(const char *who, const char *body, size_t len, json_t **out,
                      struct fs_err *err);
/* Append a text block (nothing for an empty text). */
int fs_llm_add_text(json_t *content, const char *text);
/* Append a tool_use block: the name unmapped through px->tools, a synthesized id when id is
 * NULL or empty, input from an object, a JSON string holding an object, or {} with
 * "input_error" otherwise (args NULL and "" mean no arguments: {}). */
int fs_llm_add_tool_use(const struct fs_llm_parse_ctx *px, json_t *content, const char *id,
                        const char *name, const json_t *args);
/* A provider's stop reason and the neutral one it means. */
struct fs_llm_stop {
    const char *wire, *neutral;
};
/* The neutral reason of s: the first entry of map[n] whose wire reason it is, else "other"
 * (s NULL too). */
const char *fs_llm_stop_map(const struct fs_llm_stop *map, size_t n, const char *s);
/* Set rs->stop_reason from a normalized reason, promoting end_turn/other to tool_use when the
 * content holds tool calls. */
void fs_llm_set_stop(struct fs_llm_response *rs, const char *normalized);
/* A token count member: a non-negative integer, else 0. */
int64_t fs_llm_tokens(const json_t *obj, const char *key);
/* Append the text and tool_use blocks of a Messages-shaped array (Anthropic's content, the
 * neutral one) through fs_llm_add_text / fs_llm_add_tool_use; other blocks are skipped. */
int fs_llm_add_blocks(const struct fs_llm_parse_ctx *px, json_t *content, const json_t *blocks);
/* A 2xx body without what it must hold at path: the error it carries instead
 * (fs_llm_error_in_body), else -FS_E_PROTOCOL "<who>: <path>: expected <what>". */
int fs_llm_missing(const char *who, const json_t *doc, const char *path, const char *what,
                   struct fs_err *err);
/* The parsed content into rs->content with its stop reason (fs_llm_set_stop); when rc < 0 (out
 * of memory while building it) content is released instead and -FS_E_NOMEM returned. */
int fs_llm_take_content(struct fs_llm_response *rs, json_t *content, int rc, const char *stop,
                        struct fs_err *err);
/* rs->model: model, else fallback, else "", cut at a whole character. */
void fs_llm_set_model(struct fs_llm_response *rs, const char *model, const char *fallback);

/* ---- errors and retries (llm.c) ---------------------------------------------------------- */

/* The error of a non-2xx answer: the provider's message (error.message, message, Message,
 * error as a string, detail), sanitized and redacted, in err->msg as
 * "<provider>: HTTP <status> [<type>]: <message>", with the code llm.h documents; type_hdr is
 * x-amzn-ErrorType (may be NULL). Returns -code. */
int fs_llm_map_error(enum fs_llm_provider p, long status, const char *body, size_t len,
                     const char *type_hdr, struct fs_err *err);
/* Whether text says the context is too long ("prompt is too long", "context_length_exceeded",
 * "maximum context length", "too long", "context window", ...). */
bool fs_llm_too_long(const char *text);
/* Whether a status may be retried: 408, 409, 429, 5xx (529 included). should_retry is the
 * x-should-retry header: 1 true, 0 false (both win over the status), -1 absent. */
bool fs_llm_retryable(long status, int should_retry);
/* Delay before retry number `retry` (1 = the first): base·2^(retry-1) capped at max_ms, times
 * (1 - jitter/4) with jitter in [0,1); a server's retry_after_ms (>= 0) replaces it, capped at
 * max_ms. */
int64_t fs_llm_backoff_ms(int retry, int64_t base_ms, int64_t max_ms, int64_t retry_after_ms,
                          double jitter);
/* retry-after-ms (decimal milliseconds) or retry-after (decimal seconds, or an HTTP date,
 * relative to now_ms) as milliseconds; -1 when neither says. Either may be NULL. */
int64_t fs_llm_retry_after_ms(const char *retry_after, const char *retry_after_ms, int64_t now_ms);

/* ---- Bedrock (llm_bedrock.c) ------------------------------------------------------------ */

struct fs_aws_creds {
    char key_id[128];
    char *secret;     /* owned */
    char *token;      /* owned, NULL when none */
    char region[64];  /* the profile's region, "" when none */
    char source[300]; /* "environment" or "profile NAME (FILE)"; never a value */
};
void fs_aws_creds_release(struct fs_aws_creds *c);
/* SigV4 credentials as llm.h describes (profile NULL = not configured). -FS_E_CONFIG with a
 * message saying where it looked, or what the profile lacks (role_arn, sso and
 * credential_process profiles are refused by name). The region of the profile is filled even
 * when the keys come from the environment. */
int fs_aws_creds_load(const char *profile, struct fs_aws_creds *out, struct fs_err *err);
/* The wire URL and, for a libcurl that signs the path as given (before 8.14), the URL whose
 * path is the canonical form to sign (the wire path encoded once more) and the request target
 * carrying the wire path: base + "/model/" + id percent-encoded (all but unreserved) +
 * "/converse". *sign_url and *target are NULL when curl_encodes (8.14 and later). */
int fs_llm_bedrock_urls(const char *base, const char *model, bool curl_encodes, char **url,
                        char **sign_url, char **target);
/* The fixed X-Amz-Date tests may ask for: FORESTALL_TEST_AWS_DATE (YYYYMMDDTHHMMSSZ) when the
 * endpoint is a loopback address, never otherwise; NULL = sign with the clock. */
const char *fs_llm_bedrock_test_date(const char *base_url);
/* Whether url's host is 127.0.0.0/8, ::1 or localhost. */
bool fs_llm_url_is_loopback(const char *url);

/* ---- replay (llm_replay.c) --------------------------------------------------------------- */

/* Read a transcript (JSON Lines; blank lines skipped) into an array of the lines' "response"
 * objects. -FS_E_CONFIG naming file:line for a line that is not an object with a "response"
 * object. */
int fs_llm_transcript_load(const char *path, json_t **out, struct fs_err *err);

#endif
