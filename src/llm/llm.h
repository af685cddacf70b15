/* Language-model providers (docs/llm.md): one provider-neutral chat-with-tools call, and one
 * implementation per wire format over libcurl — the Anthropic Messages API, AWS Bedrock's
 * Converse API (SigV4 through CURLOPT_AWS_SIGV4 with signing name "bedrock", or a Bedrock API
 * key), OpenAI-compatible Chat Completions (vLLM, llama.cpp, Ollama's /v1) and Ollama's native
 * /api/chat — plus `replay`, which answers from a recorded transcript.
 *
 * The neutral conversation is JSON in the Anthropic shape, whatever the provider:
 *   messages: [{"role": "user"|"assistant", "content": [block, ...]}]
 *   block:    {"type": "text", "text": S}
 *           | {"type": "tool_use", "id": S, "name": S, "input": {...}}          (assistant)
 *           | {"type": "tool_result", "tool_use_id": S, "content": S, "is_error": B} (user)
 *   tools:    [{"name": S, "description": S, "input_schema": {...}}]
 * Tool names are forestall's ("host.fs_usage"); a provider maps them to what its API accepts
 * (`.` is not valid everywhere) and maps the model's calls back, so callers never see the
 * mapped form. A provider never executes anything: it sends one request (with retries) and
 * returns what the model said.
 *
 * Secrets: the request body is passed through fs_redact before it is sent (the API key travels
 * only in headers), so a secret in tool output or configuration never reaches a model. */
#ifndef FS_LLM_H
#define FS_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* X(ENUM, "name", default base URL) */
#define FS_LLM_PROVIDERS(X)                                                                        \
    X(ANTHROPIC, "anthropic", "https://api.anthropic.com")                                         \
    X(BEDROCK, "bedrock", "https://bedrock-runtime.{region}.amazonaws.com")                        \
    X(OPENAI, "openai", "http://127.0.0.1:8000")                                                   \
    X(OLLAMA, "ollama", "http://127.0.0.1:11434")                                                  \
    X(REPLAY, "replay", "")

enum fs_llm_provider {
#define FS_LLM_P_ENUM(e, name, url) FS_LLM_##e,
    FS_LLM_PROVIDERS(FS_LLM_P_ENUM)
#undef FS_LLM_P_ENUM
        FS_LLM__COUNT
};
const char *fs_llm_provider_name(enum fs_llm_provider p);
int fs_llm_provider_parse(const char *s, enum fs_llm_provider *out);

/* One deployment's model (config llm.*, with the FORESTALL_LLM_* environment overrides applied
 * by the caller). Strings are borrowed for the lifetime of the fs_llm made from it. */
struct fs_llm_config {
    enum fs_llm_provider provider;
    const char *model;    /* model id, Bedrock model/inference-profile id, served model name */
    const char *base_url; /* NULL = the provider's default ("{region}" filled for Bedrock) */
    const char *api_key;  /* Anthropic x-api-key, OpenAI bearer, Bedrock API key; NULL = none */
    const char *anthropic_version; /* NULL = "2023-06-01" */
    /* Bedrock: the region (NULL = AWS_REGION, AWS_DEFAULT_REGION, else the profile's region)
     * and where SigV4 credentials come from: the profile aws_profile when it is set; else
     * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; else the profile AWS_PROFILE
     * (else "default") — profiles from AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials)
     * and AWS_CONFIG_FILE (else ~/.aws/config), static keys only. Read again for every call
     * (rotated session tokens are picked up). api_key (or AWS_BEARER_TOKEN_BEDROCK) selects
     * bearer auth instead. */
    const char *region;
    const char *aws_profile;
    const char *transcript;  /* replay: the recorded transcript file (JSON Lines) */
    int64_t timeout_ms;      /* one HTTP exchange; 0 = 120 s */
    int max_retries;         /* on 408/409/429/5xx/connection errors; < 0 = 2 */
    int64_t backoff_base_ms; /* first retry delay (doubled each time, with jitter); 0 = 500 */
    int64_t backoff_max_ms;  /* 0 = 8000 */
    int64_t max_tokens;      /* per response; 0 = 2048 */
    double temperature;      /* < 0 = the provider's default */
    /* openai: do not send tool_choice (Ollama's /v1 does not support it). Also implied when
     * base_url's port is 11434, Ollama's. */
    bool omit_tool_choice;
};

struct fs_config;
/* The client configuration of the loaded configuration's llm.* keys (the FORESTALL_LLM_*
 * environment overrides are already applied by fs_config_load). Strings are borrowed from cfg.
 * -FS_E_CONFIG when llm.provider is null ("no LLM is configured ..."). */
int fs_llm_config_from(const struct fs_config *cfg, struct fs_llm_config *out, struct fs_err *err);

/* What one call asked. messages and tools are borrowed. */
struct fs_llm_request {
    const char *system;
    const json_t *messages;
    const json_t *tools; /* may be NULL or empty */
};

/* What the model answered, in the neutral form. Zero it before the call; release it after.
 * Response tool_use blocks are {"type":"tool_use","id","name","input"} with two rules the caller
 * must know: name is the forestall name of an offered tool, or the model's raw name when it
 * named none (refuse such a call); and when the model's arguments were not a JSON object
 * (OpenAI-compatible servers send them as a string that may not parse), input is {} and the
 * block also has "input_error": a message with the start of what was sent (answer the call
 * with an error tool_result rather than running the tool). A missing call id becomes
 * "call_N", N counting the tool_use blocks of the conversation, so ids stay unique. */
struct fs_llm_response {
    json_t *content;      /* array of blocks (text, tool_use); owned */
    char stop_reason[32]; /* end_turn | tool_use | max_tokens | refusal | other */
    int64_t input_tokens, output_tokens;
    char model[128]; /* the model the provider says answered */
    int attempts;    /* HTTP attempts this call took (retries + 1); set on failure too */
    /* for the trace and the replay transcript: the request body sent (after redaction) and
     * the response body received, each owned, NULL when not kept */
    char *request_body, *response_body;
};
void fs_llm_response_release(struct fs_llm_response *r);
/* The neutral response as JSON — {"content", "stop_reason", "usage": {"input_tokens",
 * "output_tokens"}, "model"} — the "response" member of a replay transcript line. New
 * reference, NULL when out of memory. */
json_t *fs_llm_response_json(const struct fs_llm_response *r);

struct fs_llm;

/* Make a client. Checks the configuration (a provider without its model, a Bedrock client
 * without a region or credentials, a replay without a transcript that loads) and fails with a
 * message that says what is missing: -FS_E_CONFIG. Registers api_key (and the AWS secret key
 * and session token) with fs_redact_register, so they are redacted wherever text is kept. */
int fs_llm_new(const struct fs_llm_config *cfg, struct fs_llm **out, struct fs_err *err);
void fs_llm_free(struct fs_llm *m);
enum fs_llm_provider fs_llm_kind(const struct fs_llm *m);
/* The endpoint calls go to (the resolved base URL; the transcript file for replay). */
const char *fs_llm_endpoint(const struct fs_llm *m);

/* One request and its answer. Retries (with backoff and jitter; Retry-After honoured up to
 * backoff_max) on 408, 409, 429, 5xx, 529 and connection errors. Errors:
 *   -FS_E_UNAUTHORIZED   401/403: a bad key or credentials (the message names the provider)
 *   -FS_E_NOT_FOUND      404: an unknown model or endpoint
 *   -FS_E_TOO_LARGE      the context is too long (400/413 saying so)
 *   -FS_E_INVALID        another 4xx: the provider's own message is in err
 *   -FS_E_OVERLOADED     429/529/5xx still after the retries
 *   -FS_E_CONNECT, -FS_E_TIMEOUT   transport, after the retries
 *   -FS_E_PROTOCOL       a 2xx body that is not the provider's response shape
 *   -FS_E_NOMEM
 * err->msg never holds a secret. Thread-safe: one fs_llm may serve concurrent calls. */
int fs_llm_complete(struct fs_llm *m, const struct fs_llm_request *rq, struct fs_llm_response *rs,
                    struct fs_err *err);

/* ---- for the providers (llm_*.c) and their tests ---------------------------------------- */

/* The name a provider sends for a forestall tool name: every byte outside [A-Za-z0-9_] becomes
 * '_' ('.' and '-' too: Bedrock's Converse accepts only [a-zA-Z][a-zA-Z0-9_]*), cut to 64
 * bytes; when that collides with another tool's mapped name, a short hash suffix keeps it
 * unique. Writes into out (at least 65 bytes). */
void fs_llm_tool_name_map(const json_t *tools, const char *name, char *out, size_t size);
/* The forestall name of a mapped name, looked up among tools; NULL when the model named a tool
 * that was not offered (the caller refuses such a call). */
const char *fs_llm_tool_name_unmap(const json_t *tools, const char *mapped);

#endif
