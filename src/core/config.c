/* config: the key table, YAML loading over the embedded default, validation with file:line,
 * secret resolution, and the shared current config. The table is the single source of truth:
 * the embedded etc/forestall.yaml must set every key (a unit test checks), and docs/config.md
 * is generated from it. */
#include "core/common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/config.h"
#include "core/regex.h"
#include "core/diag.h"
#include "core/embed.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/redact.h"
#include "core/time.h"
#include "core/yaml.h"

#define OFF(f) offsetof(struct fs_config, f)
#define DAY (86400LL * 1000)

const struct fs_config_key fs_config_keys[] = {
    {"data_dir", FS_CFG_PATH, OFF(data_dir), 0, 0, NULL, 0,
     "Directory for the store and other state; created if missing."},
    {"server.listen", FS_CFG_ADDR, OFF(server.listen), 0, 0, NULL, 0,
     "HOST:PORT the HTTP API, webhook intake and /metrics listen on. Port 0 picks a free port "
     "(printed at startup)."},
    {"server.threads", FS_CFG_INT, OFF(server.threads), 1, 64, NULL, 0,
     "HTTP worker threads (each runs an event loop)."},
    {"server.max_connections", FS_CFG_INT, OFF(server.max_connections), 1, 100000, NULL, 0,
     "Concurrent client connections accepted."},
    {"server.connection_timeout", FS_CFG_DURATION, OFF(server.connection_timeout_ms), 1000,
     3600 * 1000, NULL, 0, "An idle or stalled connection is closed after this long."},
    {"server.max_body", FS_CFG_SIZE, OFF(server.max_body), 1024, 1LL << 30, NULL, FS_CFG_RELOAD,
     "Largest request body; a larger one is answered 413 too_large."},
    {"server.max_json_depth", FS_CFG_INT, OFF(server.max_json_depth), 4, 1000, NULL, FS_CFG_RELOAD,
     "Deepest JSON nesting accepted; deeper is answered 400 too_deep."},
    {"server.max_alerts", FS_CFG_INT, OFF(server.max_alerts), 1, 1000000, NULL, FS_CFG_RELOAD,
     "Most alerts in one webhook; more is answered 400 too_many_alerts."},
    {"server.max_pending", FS_CFG_INT, OFF(server.max_pending), 16, 1000000, NULL, 0,
     "Requests waiting for a durable commit; beyond this new ones get 503 overloaded."},
    {"server.drain_timeout", FS_CFG_DURATION, OFF(server.drain_timeout_ms), 0, 3600 * 1000, NULL, 0,
     "On SIGTERM, how long in-flight requests may take before the daemon exits."},
    {"server.allow_public_without_token", FS_CFG_BOOL, OFF(server.allow_public_without_token), 0, 0,
     NULL, 0,
     "Allow a non-loopback listen address without auth.token. Off: such a config is refused."},
    {"auth.token", FS_CFG_SECRET, OFF(auth.token), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Bearer token required on every API and intake request (not on /healthz, /readyz). "
     "{env: FORESTALL_NAME} or {file: PATH}; null disables authentication."},
    {"auth.tokens", FS_CFG_TOKENS, OFF(auth.tokens), 0, 0, NULL, FS_CFG_RELOAD,
     "API callers: a list of {name, role, token}. role is one of viewer, agent, approver, "
     "overrider, admin (docs/api.md lists what each may do); token is {env: FORESTALL_NAME} or "
     "{file: PATH}. The name is who approves in the audit trail. auth.token, when set, is an "
     "extra admin token named \"admin\". With neither set, only a loopback listener is "
     "allowed and callers name themselves (\"as\")."},
    {"safety.policy", FS_CFG_PATH, OFF(safety.policy), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Gate policy file read over the embedded default (docs/policy.md); null = the default."},
    {"safety.catalog", FS_CFG_PATH, OFF(safety.catalog), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Action catalog file merged over the built-in catalog: adds actions, replaces them by "
     "name, or removes them (docs/catalog.md); null = built-in only."},
    {"safety.default_env", FS_CFG_STR, OFF(safety.default_env), 0, 0, NULL, FS_CFG_RELOAD,
     "Environment assumed for a target when neither the knowledge graph nor the incident's "
     "env/environment label says; production assumes the worst."},
    {"safety.default_resource_class", FS_CFG_STR, OFF(safety.default_resource_class), 0, 0, NULL,
     FS_CFG_RELOAD,
     "Resource class assumed for a target the knowledge graph and the incident's "
     "resource_class label do not describe (incident risk weight, docs/policy.md)."},
    {"context.graph", FS_CFG_PATH, OFF(context.graph), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Knowledge graph file: entities, relations and change windows (docs/context.md). It gives "
     "the gate each target's env, resource class, blast radius (dependents) and change "
     "freezes; null = no graph (env and class from alert labels, else the safety defaults)."},
    {"tools.prometheus_url", FS_CFG_URL, OFF(tools.prometheus_url), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Prometheus HTTP API base for the prometheus.* tools (query, range query, forecast), e.g. "
     "http://127.0.0.1:9090. null: those tools report that Prometheus is not configured."},
    {"tools.loki_url", FS_CFG_URL, OFF(tools.loki_url), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Loki HTTP API base for loki.query_range, e.g. http://127.0.0.1:3100. null: not used."},
    {"tools.kubectl", FS_CFG_STR, OFF(tools.kubectl), 0, 0, NULL, FS_CFG_RELOAD,
     "kubectl program for the kubernetes.* tools and kubectl action targets (PATH is searched)."},
    {"tools.kubeconfig", FS_CFG_PATH, OFF(tools.kubeconfig), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "kubeconfig file passed as --kubeconfig; null = kubectl's default."},
    {"tools.kube_context", FS_CFG_STR, OFF(tools.kube_context), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "kubeconfig context passed as --context; null = the kubeconfig's current context."},
    {"tools.timeout", FS_CFG_DURATION, OFF(tools.timeout_ms), 100, 600 * 1000, NULL, FS_CFG_RELOAD,
     "Longest a read-only tool call may run before it is killed."},
    {"tools.max_output", FS_CFG_SIZE, OFF(tools.max_output), 1024, 16LL << 20, NULL, FS_CFG_RELOAD,
     "Bytes of a tool's text output kept in the trace; the rest is cut with a note."},
    {"tools.log_roots", FS_CFG_STRLIST, OFF(tools.log_roots), 0, 0, NULL, FS_CFG_RELOAD,
     "Absolute directories host.log_lines may read below."},
    {"tools.local_hosts", FS_CFG_STRLIST, OFF(tools.local_hosts), 0, 0, NULL, FS_CFG_RELOAD,
     "Host names (the host part of an alert's instance label) that mean this machine, besides "
     "localhost, 127.0.0.1, ::1 and the machine's own hostname. Any other host is reached "
     "over ssh when tools.ssh_user is set, and otherwise the incident is escalated."},
    {"tools.stated_capacity", FS_CFG_STRLIST, OFF(tools.stated_capacity), 0, 0, NULL, FS_CFG_RELOAD,
     "Directories to treat as filesystems of a stated size, each \"PATH=SIZE\" (e.g. "
     "\"/srv/sandbox=64MiB\"): host.fs_usage reports a mount at PATH whose used bytes are what "
     "du counts below it. For a quota'd or sandbox directory, and the demo without root."},
    {"tools.ssh_user", FS_CFG_STR, OFF(tools.ssh_user), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "User for ssh targets (BatchMode, key only). null: remote hosts are not contacted."},
    {"tools.ssh_port", FS_CFG_INT, OFF(tools.ssh_port), 1, 65535, NULL, FS_CFG_RELOAD,
     "Port for ssh targets."},
    {"tools.ssh_identity_file", FS_CFG_PATH, OFF(tools.ssh_identity_file), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD, "Private key for ssh targets (-i, IdentitiesOnly=yes)."},
    {"tools.ssh_known_hosts", FS_CFG_PATH, OFF(tools.ssh_known_hosts), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "known_hosts file for ssh targets (StrictHostKeyChecking=yes); null = ssh's default."},
    {"tools.ssh_connect_timeout", FS_CFG_DURATION, OFF(tools.ssh_connect_timeout_ms), 1000,
     300 * 1000, NULL, FS_CFG_RELOAD, "ssh ConnectTimeout."},
    {"dispatch.enabled", FS_CFG_BOOL, OFF(dispatch.enabled), 0, 0, NULL, 0,
     "Investigate each new incident in the daemon. Off: incidents are only recorded."},
    {"dispatch.workers", FS_CFG_INT, OFF(dispatch.workers), 1, 64, NULL, 0,
     "Investigations that run at once; more wait in order (the queue is the store)."},
    {"dispatch.max_steps", FS_CFG_INT, OFF(dispatch.max_steps), 1, 1000, NULL, FS_CFG_RELOAD,
     "Most tool calls in one investigation; past it the planner escalates."},
    {"dispatch.timeout", FS_CFG_DURATION, OFF(dispatch.timeout_ms), 1000, 3600 * 1000, NULL,
     FS_CFG_RELOAD, "Longest one investigation may take; past it the planner escalates."},
    {"dispatch.playbooks", FS_CFG_PATH, OFF(dispatch.playbooks), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Directory of playbook files read over the built-in ones (docs/playbooks.md): a playbook "
     "with a built-in name replaces it. null = built-in only."},
    {"dispatch.planner", FS_CFG_ENUM, OFF(dispatch.planner), 0, 0, "playbook|llm|claude_code",
     FS_CFG_RELOAD,
     "Who investigates (docs/llm.md): playbook (the playbooks), llm (the LLM planner, with the "
     "model of llm.*; the playbook that matches gives it hints) or claude_code (Claude Code run "
     "headless with forestall's MCP gateway as its only tools: runner.*, docs/runner.md)."},
    {"dispatch.llm_alerts", FS_CFG_STRLIST, OFF(dispatch.llm_alerts), 0, 0, NULL, FS_CFG_RELOAD,
     "With planner playbook: alert names (anchored regular expressions) the LLM planner takes "
     "instead, e.g. [\"HostOutOfMemory\", \"Kube.*\"]; the rest stay with the playbooks."},
    {"dispatch.llm_fallback", FS_CFG_BOOL, OFF(dispatch.llm_fallback), 0, 0, NULL, FS_CFG_RELOAD,
     "When the model cannot be reached (after its retries) before it decided anything, the "
     "matching playbook investigates instead. Off: the investigation escalates."},
    {"llm.provider", FS_CFG_ENUM, OFF(llm.provider), 0, 0, FS_CONFIG_LLM_PROVIDERS,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Language model the LLM planner reasons with (docs/llm.md): anthropic (Messages API), "
     "bedrock (AWS Bedrock Converse), openai (OpenAI-compatible Chat Completions: vLLM, "
     "llama.cpp, Ollama's /v1), ollama (Ollama's /api/chat) or replay (a recorded transcript). "
     "null = no LLM. Overridden by FORESTALL_LLM_PROVIDER (none unsets it)."},
    {"llm.model", FS_CFG_STR, OFF(llm.model), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Model id (Anthropic), model or inference-profile id (Bedrock), served model name "
     "(OpenAI-compatible, Ollama). Required except for replay. Overridden by "
     "FORESTALL_LLM_MODEL."},
    {"llm.base_url", FS_CFG_URL, OFF(llm.base_url), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Endpoint; null = the provider's default (https://api.anthropic.com, "
     "https://bedrock-runtime.{region}.amazonaws.com, http://127.0.0.1:8000, "
     "http://127.0.0.1:11434). {region} is filled in. Overridden by FORESTALL_LLM_BASE_URL."},
    {"llm.api_key", FS_CFG_SECRET, OFF(llm.api_key), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Anthropic x-api-key, OpenAI-compatible bearer token or Bedrock API key (bearer instead of "
     "SigV4), {env: FORESTALL_NAME} or {file: PATH}. Sent only in a header, and redacted from "
     "everything else. Overridden by FORESTALL_LLM_API_KEY."},
    {"llm.anthropic_version", FS_CFG_STR, OFF(llm.anthropic_version), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD, "anthropic-version header; null = 2023-06-01."},
    {"llm.region", FS_CFG_STR, OFF(llm.region), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Bedrock region; null = AWS_REGION, AWS_DEFAULT_REGION, else the profile's region."},
    {"llm.aws_profile", FS_CFG_STR, OFF(llm.aws_profile), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Bedrock SigV4 credentials from this profile of ~/.aws/credentials and ~/.aws/config "
     "(static keys, optionally aws_session_token). null = the AWS_ACCESS_KEY_ID, "
     "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN variables, else the profile AWS_PROFILE names, "
     "else default."},
    {"llm.transcript", FS_CFG_PATH, OFF(llm.transcript), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "replay: the transcript file (JSON Lines, one recorded response per model call; "
     "docs/llm.md)."},
    {"llm.tool_choice", FS_CFG_ENUM, OFF(llm.tool_choice), 0, 0, "auto|omit", FS_CFG_RELOAD,
     "openai: send tool_choice \"auto\" with the tools, or omit it (Ollama's /v1 does not "
     "support it; omitted anyway when base_url's port is 11434)."},
    {"llm.timeout", FS_CFG_DURATION, OFF(llm.timeout_ms), 1000, 1800 * 1000, NULL, FS_CFG_RELOAD,
     "Longest one HTTP exchange with the model may take."},
    {"llm.max_retries", FS_CFG_INT, OFF(llm.max_retries), 0, 10, NULL, FS_CFG_RELOAD,
     "Retries (exponential backoff from 0.5s to 8s with jitter, Retry-After honoured up to 8s) "
     "on 408, 409, 429, 5xx, 529 and connection errors."},
    {"llm.max_tokens", FS_CFG_INT, OFF(llm.max_tokens), 1, 1000000, NULL, FS_CFG_RELOAD,
     "Most tokens the model may write in one response."},
    {"llm.temperature", FS_CFG_NUMBER, OFF(llm.temperature), 0, 2, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD, "Sampling temperature; null = the provider's default."},
    {"llm.price_input_per_mtok", FS_CFG_NUMBER, OFF(llm.price_input_per_mtok), 0, 1000000, NULL,
     FS_CFG_RELOAD,
     "USD per million input tokens, for the estimated cost of an investigation (0 = unknown)."},
    {"llm.price_output_per_mtok", FS_CFG_NUMBER, OFF(llm.price_output_per_mtok), 0, 1000000, NULL,
     FS_CFG_RELOAD, "USD per million output tokens, for the estimated cost."},
    {"llm.max_steps", FS_CFG_INT, OFF(llm.max_steps), 1, 1000, NULL, FS_CFG_RELOAD,
     "Most model calls in one LLM investigation; past it the planner escalates."},
    {"llm.max_input_tokens", FS_CFG_INT, OFF(llm.max_input_tokens), 1000, 1000000000, NULL,
     FS_CFG_RELOAD,
     "Most input tokens (summed over the calls) one LLM investigation may use; past it the "
     "planner escalates."},
    {"llm.max_output_tokens", FS_CFG_INT, OFF(llm.max_output_tokens), 100, 100000000, NULL,
     FS_CFG_RELOAD, "Most output tokens (summed) one LLM investigation may use."},
    {"llm.max_wall", FS_CFG_DURATION, OFF(llm.max_wall_ms), 1000, 24 * 3600 * 1000LL, NULL,
     FS_CFG_RELOAD, "Longest one LLM investigation may take, model calls and tools included."},
    {"runner.command", FS_CFG_STR, OFF(runner.command), 0, 0, NULL, FS_CFG_RELOAD,
     "The Claude Code program the external-agent runner starts (docs/runner.md): a path, or a "
     "name looked up in PATH."},
    {"runner.model", FS_CFG_STR, OFF(runner.model), 0, 0, NULL, FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "--model for Claude Code; null = llm.model when llm.provider is anthropic, else Claude "
     "Code's default."},
    {"runner.max_turns", FS_CFG_INT, OFF(runner.max_turns), 1, 200, NULL, FS_CFG_RELOAD,
     "--max-turns: most agent turns in one run; the runner also stops a stream that goes past "
     "it."},
    {"runner.wall_time", FS_CFG_DURATION, OFF(runner.wall_time_ms), 5000, 6 * 3600 * 1000LL, NULL,
     FS_CFG_RELOAD,
     "Longest one run may take; at the deadline its process group is killed and the incident "
     "escalated."},
    {"runner.base_url", FS_CFG_URL, OFF(runner.base_url), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "ANTHROPIC_BASE_URL for Claude Code; null = llm.base_url when llm.provider is anthropic, "
     "else Claude Code's default endpoint."},
    {"runner.api_key", FS_CFG_SECRET, OFF(runner.api_key), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "ANTHROPIC_API_KEY for Claude Code, {env: FORESTALL_NAME} or {file: PATH}; null = "
     "llm.api_key. Passed only in the child's environment, redacted from everything else."},
    {"runner.tools", FS_CFG_STRLIST, OFF(runner.tools), 0, 0, NULL, FS_CFG_RELOAD,
     "Gateway tools the agent may call (e.g. [host.fs_usage, action.journal_vacuum]); empty = "
     "every tool the gateway offers. Claude Code's own tools are never allowed."},
    {"runner.image", FS_CFG_STR, OFF(runner.image), 0, 0, NULL, FS_CFG_RELOAD,
     "`forestall runner manifest`: the container image with Claude Code installed (its "
     "command is runner.command)."},
    {"runner.namespace", FS_CFG_STR, OFF(runner.namespace), 0, 0, NULL, FS_CFG_RELOAD,
     "`forestall runner manifest`: the Job's namespace."},
    {"runner.service_account", FS_CFG_STR, OFF(runner.service_account), 0, 0, NULL, FS_CFG_RELOAD,
     "`forestall runner manifest`: the pod's service account."},
    {"runner.secret", FS_CFG_STR, OFF(runner.secret), 0, 0, NULL, FS_CFG_RELOAD,
     "`forestall runner manifest`: the Secret whose keys anthropic-api-key and gateway-token "
     "the pod's environment reads (the manifest never holds either value)."},
    {"runner.gateway_url", FS_CFG_URL, OFF(runner.gateway_url), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "`forestall runner manifest`: where the pod reaches forestall's gateway; null = "
     "http://forestall.NAMESPACE.svc:9797/mcp."},
    {"runner.active_deadline", FS_CFG_DURATION, OFF(runner.active_deadline_ms), 10000,
     24 * 3600 * 1000LL, NULL, FS_CFG_RELOAD,
     "`forestall runner manifest`: the Job's activeDeadlineSeconds."},
    {"runner.ttl_after_finished", FS_CFG_DURATION, OFF(runner.ttl_after_finished_ms), 0,
     30 * DAY, NULL, FS_CFG_RELOAD,
     "`forestall runner manifest`: the Job's ttlSecondsAfterFinished."},
    {"mcp.servers", FS_CFG_MCP_SERVERS, OFF(mcp.servers), 0, 0, NULL, 0,
     "MCP servers of the registry (docs/mcp.md), each {name, command, args, env} (stdio) or "
     "{name, url, headers} (Streamable HTTP), with optional transport, enabled, trust (none, "
     "read_only_hints, listed), read_only_tools and tool_mappings (catalog action: remote "
     "tool). env values and secret header values are {env: FORESTALL_NAME} or {file: PATH} "
     "references, resolved only when used; a header reference may add a prefix (\"Bearer \"). "
     "Loaded into the mcp_servers table at daemon start and by every `forestall mcp` command: "
     "the configuration wins for the servers it names; servers added with `forestall mcp add` "
     "stay."},
    {"mcp.refresh", FS_CFG_DURATION, OFF(mcp.refresh_ms), 1000, 24 * 3600 * 1000LL, NULL, 0,
     "How often the daemon opens the registered servers it could not reach, lists every "
     "server's tools again and records their pins: a remote tool whose definition changed is "
     "disabled, one approved since is added (docs/mcp.md). A server's "
     "notifications/tools/list_changed is acted on at the next call of its tools."},
    {"notify.public_url", FS_CFG_URL, OFF(notify.public_url), 0, 0, NULL, FS_CFG_NULLABLE,
     "Base of the deep links in notifications (PUBLIC_URL/ui/#/incidents/inc-N); null = "
     "http://server.listen."},
    {"notify.retry.initial", FS_CFG_DURATION, OFF(notify.retry_initial_ms), 10, 3600 * 1000LL,
     NULL, 0,
     "Delay before the first retry of a failed delivery; each retry doubles it (with jitter: "
     "between half and all of it)."},
    {"notify.retry.max", FS_CFG_DURATION, OFF(notify.retry_max_ms), 10, 7 * DAY, NULL, 0,
     "Longest delay between two attempts of a delivery."},
    {"notify.retry.give_up", FS_CFG_DURATION, OFF(notify.retry_give_up_ms), 10, 30 * DAY, NULL, 0,
     "A delivery still failing this long after it was queued is given up (dead, logged and "
     "counted)."},
    {"notify.timeout", FS_CFG_DURATION, OFF(notify.timeout_ms), 100, 300 * 1000, NULL, 0,
     "Longest one delivery's exchange with the channel's peer may take (connecting at most 5s)."},
    {"notify.channels", FS_CFG_CHANNELS, OFF(notify.channels), 0, 0, NULL, 0,
     "Where notifications go (docs/notifications.md): each {name (unique), type (webhook, "
     "pagerduty, slack, email, jira), events (default all: proposal_pending, decision, "
     "execution, verification_failed, escalation, resolution), ...the type's keys}. Secrets "
     "only as {env: FORESTALL_NAME} or {file: PATH}, resolved at each delivery. Read at daemon "
     "start."},
    {"executor.enabled", FS_CFG_BOOL, OFF(executor.enabled), 0, 0, NULL, 0,
     "Run the executor process. Off: approved actions wait (nothing is executed)."},
    {"executor.action_timeout", FS_CFG_DURATION, OFF(executor.action_timeout_ms), 1000, 3600 * 1000,
     NULL, FS_CFG_RELOAD,
     "Longest one action's program may run before it is killed (and the step escalated)."},
    {"executor.max_output", FS_CFG_SIZE, OFF(executor.max_output), 1024, 16LL << 20, NULL,
     FS_CFG_RELOAD, "Bytes of an action's stdout and of its stderr kept in the step log."},
    {"executor.max_verify_wait", FS_CFG_DURATION, OFF(executor.max_verify_wait_ms), 0, 3600 * 1000,
     NULL, FS_CFG_RELOAD,
     "Upper bound on an action's verification wait (the catalog's verify.wait), for tests "
     "and impatient operators."},
    {"executor.postmortem_dir", FS_CFG_STR, OFF(executor.postmortem_dir), 0, 0, NULL,
     FS_CFG_NULLABLE | FS_CFG_RELOAD,
     "Directory (relative to data_dir) where each post-mortem is also written as inc-N.md and "
     "inc-N.json; null = only in the store (forestall postmortem ID)."},
    {"audit.checkpoint_file", FS_CFG_STR, OFF(audit.checkpoint_file), 0, 0, NULL, 0,
     "Signed audit checkpoints (JSON lines), relative to data_dir. Keep it where whoever can "
     "write the database cannot rewrite it, e.g. another volume or an append-only mount."},
    {"audit.checkpoint_key", FS_CFG_SECRET, OFF(audit.checkpoint_key), 0, 0, NULL, FS_CFG_NULLABLE,
     "HMAC key that signs the checkpoints, {env: FORESTALL_NAME} or {file: PATH}. null: a "
     "random key is created in data_dir/audit.key (mode 0600) on first start."},
    {"store.driver", FS_CFG_ENUM, OFF(store.driver), 0, 0, "sqlite", 0,
     "Storage engine. sqlite: one file in data_dir, WAL mode, synchronous=FULL."},
    {"store.path", FS_CFG_STR, OFF(store.path), 0, 0, NULL, 0,
     "Database file, relative to data_dir."},
    {"store.busy_timeout", FS_CFG_DURATION, OFF(store.busy_timeout_ms), 0, 600 * 1000, NULL, 0,
     "How long a write waits for the database lock before the request gets 503 store_busy."},
    {"store.group_commit_max", FS_CFG_INT, OFF(store.group_commit_max), 1, 100000, NULL, 0,
     "Most requests that share one durable commit."},
    {"store.inbox_retention", FS_CFG_DURATION, OFF(store.inbox_retention_ms), 60 * 1000, 3650 * DAY,
     NULL, FS_CFG_RELOAD, "Raw webhook bodies are kept this long after they are applied."},
    {"store.dead_letter_retention", FS_CFG_DURATION, OFF(store.dead_letter_retention_ms), 60 * 1000,
     3650 * DAY, NULL, FS_CFG_RELOAD, "Rejected bodies (dead letters) are kept this long."},
    {"store.dead_letter_max_body", FS_CFG_SIZE, OFF(store.dead_letter_max_body), 0, 1LL << 30, NULL,
     FS_CFG_RELOAD, "Bytes of a rejected body kept in the dead-letter table."},
    {"incidents.group_by", FS_CFG_STRLIST, OFF(incidents.group_by), 0, 0, NULL, FS_CFG_RELOAD,
     "Labels whose values put episodes into the same incident. An alert carrying none of them "
     "gets an incident of its own."},
    {"incidents.window", FS_CFG_DURATION, OFF(incidents.window_ms), 0, 30 * DAY, NULL,
     FS_CFG_RELOAD,
     "A resolved incident is reopened by a new episode starting within this long "
     "after it resolved."},
    {"incidents.skew", FS_CFG_DURATION, OFF(incidents.skew_ms), 0, 3600 * 1000, NULL, FS_CFG_RELOAD,
     "startsAt differences treated as the same episode (HA senders disagree by "
     "a few seconds)."},
    {"incidents.default_severity", FS_CFG_ENUM, OFF(incidents.default_severity), 0, 0,
     "info|warning|critical", FS_CFG_RELOAD,
     "Severity of an alert without a recognised severity label."},
    {"incidents.event_ttl", FS_CFG_DURATION, OFF(incidents.event_ttl_ms), 60 * 1000, 30 * DAY, NULL,
     FS_CFG_RELOAD,
     "A generic event with neither ends_at nor a later resolve is closed after this long."},
    {"reconcile.alertmanager_url", FS_CFG_URL, OFF(reconcile.alertmanager_url), 0, 0, NULL,
     FS_CFG_NULLABLE,
     "Alertmanager to poll (GET /api/v2/alerts) for firings and resolves that "
     "did not arrive as webhooks. null disables reconciliation."},
    {"reconcile.interval", FS_CFG_DURATION, OFF(reconcile.interval_ms), 1000, DAY, NULL, 0,
     "Time between reconciliation polls."},
    {"reconcile.receiver", FS_CFG_STR, OFF(reconcile.receiver), 0, 0, NULL, FS_CFG_NULLABLE,
     "Only adopt firing alerts routed to a receiver matching this regular expression "
     "(anchored, like Alertmanager's receiver filter). Alerts routed elsewhere still count as "
     "present, so they are never closed as missing."},
    {"log.level", FS_CFG_ENUM, OFF(log.level), 0, 0, "debug|info|warn|error", FS_CFG_RELOAD,
     "Least severe log level written."},
    {"log.format", FS_CFG_ENUM, OFF(log.format), 0, 0, "logfmt|json", FS_CFG_RELOAD,
     "Log line format on stderr."},
    {NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

const char *fs_config_type_name(enum fs_config_type t)
{
    static const char *const names[] = {"string", "integer",         "boolean", "duration",
                                        "size",   "address",         "url",     "path",
                                        "enum",   "list of strings", "secret",  "list of tokens",
                                        "number", "list of servers", "list of channels"};
    return (unsigned)t < FS_ARRAY_LEN(names) ? names[t] : "?";
}

/* ---- loading ---------------------------------------------------------------------------- */

struct loader {
    struct fs_config *cfg;
    const struct fs_yaml_doc *doc;
    const char *basedir; /* for relative paths; NULL = working directory */
    struct fs_diag d;
};

static int problem(struct loader *L, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int problem(struct loader *L, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fs_diag_vreport(&L->d, L->doc->name, fs_yaml_line(L->doc, path), path, fmt, ap);
    va_end(ap);
    return rc;
}

static const struct fs_config_key *key_find(const char *path)
{
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++)
        if (strcmp(k->path, path) == 0)
            return k;
    return NULL;
}

static bool is_section(const char *path)
{
    size_t n = strlen(path);
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++)
        if (strncmp(k->path, path, n) == 0 && k->path[n] == '.')
            return true;
    return false;
}

/* The closest known key or section ("sever" -> "server"), or NULL. */
static const char *suggest(struct fs_suggest *s, const char *path)
{
    fs_suggest_init(s, path, 4);
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++) {
        /* every prefix that ends at a dot is a section name, the whole path a key */
        for (const char *end = strchr(k->path, '.');; end = strchr(end + 1, '.')) {
            fs_suggest_offer(s, k->path, end ? (size_t)(end - k->path) : strlen(k->path));
            if (!end)
                break;
        }
    }
    return fs_suggest_best(s);
}

static bool host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return false;
}

/* "HOST:PORT", "[v6]:PORT". host/port out are optional. */
static int parse_addr(const char *s, char *host, size_t hostsize, int *port)
{
    const char *colon;
    char h[256];
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(h))
            return -1;
        memcpy(h, s + 1, (size_t)(close - s - 1));
        h[close - s - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || (size_t)(colon - s) >= sizeof(h))
            return -1;
        memcpy(h, s, (size_t)(colon - s));
        h[colon - s] = '\0';
        if (strchr(h, ':'))
            return -1;
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return -1;
    for (const char *c = h; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != ':' && *c != '_')
            return -1;
    if (host)
        fs_strlcpy(host, h, hostsize);
    if (port)
        *port = (int)p;
    return 0;
}

static void strlist_clear(struct fs_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static char *resolve_path(const char *base, const char *p)
{
    if (p[0] == '/' || !base)
        return fs_strdup(p);
    size_t n = strlen(base) + strlen(p) + 2;
    char *r = fs_malloc(n);
    if (r)
        snprintf(r, n, "%s/%s", base, p);
    return r;
}

static int read_secret_file(struct loader *L, const char *path, const char *file, char **out)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return problem(L, path, "secret file %s: %s", file, strerror(errno));
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (more)
        return problem(L, path, "secret file %s is larger than %zu bytes", file, sizeof(buf) - 1);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (n == 0 || strlen(buf) != n)
        return problem(L, path, "secret file %s is empty or contains NUL bytes", file);
    *out = fs_strdup(buf);
    return *out ? 0 : -FS_E_NOMEM;
}

/* A secret reference's variable: FORESTALL_ then A-Z, 0-9 and _, at most 128 bytes. */
static bool env_ref_name_ok(const char *name)
{
    bool ok = name && strncmp(name, "FORESTALL_", 10) == 0 && name[10] && strlen(name) <= 128;
    for (const char *c = name; ok && *c; c++)
        ok = isupper((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_';
    return ok;
}

static int apply_secret(struct loader *L, const struct fs_config_key *k, json_t *v,
                        struct fs_secret *s)
{
    if (json_is_string(v))
        return problem(L, k->path,
                       "a secret is not written in the config; use {env: FORESTALL_NAME} or "
                       "{file: PATH}");
    if (!json_is_object(v) || json_object_size(v) != 1)
        return problem(L, k->path, "expected {env: FORESTALL_NAME} or {file: PATH}");
    json_t *env = json_object_get(v, "env"), *file = json_object_get(v, "file");
    char *value = NULL;
    char source[300];
    if (env) {
        const char *name = json_string_value(env);
        if (!env_ref_name_ok(name))
            return problem(L, k->path,
                           "env: expected a variable name of A-Z, 0-9 and _ starting with "
                           "FORESTALL_");
        const char *val = getenv(name);
        if (!val || !*val)
            return problem(L, k->path, "environment variable %s is not set", name);
        value = fs_strdup(val);
        snprintf(source, sizeof(source), "env:%s", name);
    } else if (file) {
        const char *fname = json_string_value(file);
        if (!fname || !*fname)
            return problem(L, k->path, "file: expected a path");
        char *resolved = resolve_path(L->basedir, fname);
        if (!resolved)
            return -FS_E_NOMEM;
        int rc = read_secret_file(L, k->path, resolved, &value);
        snprintf(source, sizeof(source), "file:%s", resolved);
        free(resolved);
        if (rc < 0)
            return rc;
    } else {
        return problem(L, k->path, "expected {env: FORESTALL_NAME} or {file: PATH}");
    }
    if (!value)
        return -FS_E_NOMEM;
    free(s->value);
    s->value = value;
    memcpy(s->source, source, sizeof(source));
    if (fs_sha256_hex(value, strlen(value), s->sha256) < 0)
        return problem(L, k->path, "cannot hash the secret");
    return 0;
}

static void tokens_clear(struct fs_tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i].name);
        free(t->items[i].role);
        if (t->items[i].token.value) {
            explicit_bzero(t->items[i].token.value, strlen(t->items[i].token.value));
            free(t->items[i].token.value);
        }
    }
    free(t->items);
    t->items = NULL;
    t->n = 0;
}

static bool role_known(const char *r)
{
    const char *c = FS_CONFIG_ROLES;
    size_t n = strlen(r);
    while (c) {
        const char *bar = strchr(c, '|');
        size_t cl = bar ? (size_t)(bar - c) : strlen(c);
        if (cl == n && strncmp(c, r, n) == 0)
            return true;
        c = bar ? bar + 1 : NULL;
    }
    return false;
}

static int apply_secret(struct loader *L, const struct fs_config_key *k, json_t *v,
                        struct fs_secret *s);

/* auth.tokens: [{name, role, token: {env|file}}] */
static int apply_tokens(struct loader *L, const struct fs_config_key *k, json_t *v,
                        struct fs_tokens *out)
{
    if (!json_is_array(v))
        return problem(L, k->path, "expected a list of {name, role, token}, got %s",
                       fs_json_type_name(v));
    struct fs_tokens t = {fs_calloc(json_array_size(v) + 1, sizeof(struct fs_token)), 0};
    if (!t.items)
        return -FS_E_NOMEM;
    size_t i;
    json_t *item;
    int before = L->d.problems;
    json_array_foreach(v, i, item)
    {
        char p[300], kp[340];
        fs_jpath_index(p, sizeof(p), k->path, i);
        if (!json_is_object(item)) {
            problem(L, p, "expected a mapping {name, role, token}");
            continue;
        }
        const char *key;
        json_t *f;
        json_object_foreach(item, key, f) if (strcmp(key, "name") && strcmp(key, "role") &&
                                              strcmp(key, "token"))
        {
            fs_jpath_key(kp, sizeof(kp), p, key);
            problem(L, kp, "unknown key (expected name, role, token)");
        }
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *role = json_string_value(json_object_get(item, "role"));
        bool name_ok = name && *name && strlen(name) <= 64;
        for (const char *c = name; name_ok && *c; c++)
            name_ok = (unsigned char)*c > 0x20 && *c != 0x7f;
        if (!name_ok) {
            fs_jpath_key(kp, sizeof(kp), p, "name");
            problem(L, kp, "expected a name of 1-64 printable characters without spaces");
            continue;
        }
        if (!role || !role_known(role)) {
            fs_jpath_key(kp, sizeof(kp), p, "role");
            problem(L, kp, "expected one of %s", FS_CONFIG_ROLES);
            continue;
        }
        for (size_t j = 0; j < t.n; j++)
            if (strcmp(t.items[j].name, name) == 0) {
                fs_jpath_key(kp, sizeof(kp), p, "name");
                problem(L, kp, "%s is listed twice", name);
            }
        fs_jpath_key(kp, sizeof(kp), p, "token");
        struct fs_config_key tk = {kp, FS_CFG_SECRET, 0, 0, 0, NULL, 0, NULL};
        struct fs_token *tok = &t.items[t.n];
        if (apply_secret(L, &tk, json_object_get(item, "token"), &tok->token) < 0)
            continue;
        tok->name = fs_strdup(name);
        tok->role = fs_strdup(role);
        t.n++;
    }
    for (size_t a = 0; a < t.n; a++)
        for (size_t b = 0; b < a; b++)
            if (strcmp(t.items[a].token.value, t.items[b].token.value) == 0)
                problem(L, k->path, "%s and %s have the same token; each caller needs its own",
                        t.items[b].name, t.items[a].name);
    if (L->d.problems > before) {
        tokens_clear(&t);
        return -FS_E_CONFIG;
    }
    tokens_clear(out);
    *out = t;
    return 0;
}

/* ---- mcp.servers: MCP server definitions ---------------------------------------------------- *
 * The one checker of a server definition: the config file's mcp.servers items and the ones
 * `forestall mcp add` builds (src/mcp/registry.c) go through it, so both accept the same. */

#define MCP_MAX_ARGS 64
#define MCP_MAX_ENV 64
#define MCP_MAX_HEADERS 32
#define MCP_MAX_TOOLS 256
#define MCP_MAX_TEXT 4096
#define MCP_MAX_URL 2048

struct mcp_check {
    fs_config_mcp_report_fn report;
    void *arg;
    const char *basedir;
    int problems;
};

static void mcp_problem(struct mcp_check *c, const char *base, const char *key, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

static void mcp_problem(struct mcp_check *c, const char *base, const char *key, const char *fmt,
                        ...)
{
    char path[400], msg[600];
    if (key)
        fs_jpath_key(path, sizeof(path), base, key);
    else
        fs_strlcpy(path, base, sizeof(path));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->problems++;
    c->report(c->arg, path, msg);
}

/* A name of a registered thing (an MCP server, a notification channel): 1-63 characters of
 * a-z, 0-9, _ and -, starting with a letter or digit. */
static bool slug_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

bool fs_config_mcp_name_ok(const char *s)
{
    return slug_ok(s) && strcmp(s, "forestall") != 0; /* the gateway's own entry in mcp.json */
}

/* Remote tool names (MCP 2025-11-25 guidance): 1-128 of A-Z a-z 0-9 _ - . */
static bool mcp_tool_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return false;
    return true;
}

/* Catalog action names: ^[a-z][a-z0-9_]*$, at most 64 bytes (safety/catalog.c). */
static bool mcp_action_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || !islower((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* No C0 controls or DEL; "" when ok, else what is wrong. */
static const char *mcp_text_problem(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0)
        return "must not be empty";
    if (n > max)
        return "is too long";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "contains control characters";
    return "";
}

static bool mcp_envname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* RFC 9110 token characters. */
static bool mcp_header_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
            return false;
    return true;
}

/* Headers the MCP client sets itself (transport, session, protocol version). */
static bool mcp_header_reserved(const char *s)
{
    static const char *const names[] = {"host",
                                        "content-length",
                                        "content-type",
                                        "accept",
                                        "connection",
                                        "transfer-encoding",
                                        "mcp-session-id",
                                        "mcp-protocol-version",
                                        "last-event-id",
                                        "upgrade",
                                        "te"};
    for (size_t i = 0; i < FS_ARRAY_LEN(names); i++)
        if (strcasecmp(s, names[i]) == 0)
            return true;
    return false;
}

/* Headers whose value is a credential: a literal value would put a secret in the file. */
static bool mcp_header_sensitive(const char *s)
{
    static const char *const parts[] = {"authorization", "cookie", "token", "secret",
                                        "password",      "key",    "auth",  "credential"};
    for (size_t i = 0; i < FS_ARRAY_LEN(parts); i++)
        if (strcasestr(s, parts[i]))
            return true;
    return false;
}

/* {env: FORESTALL_NAME} or {file: PATH}, and with prefix_ok an optional {prefix: TEXT} (a header
 * value such as "Bearer " + the secret). The canonical copy has the file path made absolute. */
static json_t *mcp_ref(struct mcp_check *c, const char *path, const json_t *v, bool prefix_ok)
{
    const char *want = prefix_ok ? "{env: FORESTALL_NAME} or {file: PATH}, optionally with prefix"
                                 : "{env: FORESTALL_NAME} or {file: PATH}";
    if (!json_is_object(v)) {
        mcp_problem(c, path, NULL, "expected a secret reference %s, got %s", want,
                    fs_json_type_name(v));
        return NULL;
    }
    const char *key;
    json_t *f;
    int before = c->problems;
    json_object_foreach((json_t *)v, key, f)
    {
        if (strcmp(key, "env") && strcmp(key, "file") && (!prefix_ok || strcmp(key, "prefix")))
            mcp_problem(c, path, key, "unknown key (expected %s)", want);
    }
    json_t *env = json_object_get(v, "env"), *file = json_object_get(v, "file");
    json_t *prefix = json_object_get(v, "prefix");
    if (!!env == !!file) {
        mcp_problem(c, path, NULL, "expected exactly one of env or file");
        return NULL;
    }
    const char *p = prefix ? json_string_value(prefix) : NULL;
    if (prefix && (!p || *mcp_text_problem(p, 256)))
        mcp_problem(c, path, "prefix",
                    "expected text of 1-256 characters without control "
                    "characters");
    json_t *out = NULL;
    if (env) {
        const char *name = json_string_value(env);
        if (!env_ref_name_ok(name))
            mcp_problem(c, path, "env",
                        "expected a variable name of A-Z, 0-9 and _ starting with FORESTALL_");
        else
            out = json_pack("{ss}", "env", name);
    } else {
        const char *name = json_string_value(file);
        if (!name || *mcp_text_problem(name, MCP_MAX_TEXT)) {
            mcp_problem(c, path, "file", "expected a path");
        } else {
            char cwd[4096];
            const char *base = c->basedir;
            if (name[0] != '/' && !base)
                base = getcwd(cwd, sizeof(cwd));
            char *abs = resolve_path(base, name);
            out = abs ? json_pack("{ss}", "file", abs) : NULL;
            free(abs);
        }
    }
    if (out && p && *p)
        json_object_set_new(out, "prefix", json_string(p));
    if (c->problems > before) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static const char *mcp_str(struct mcp_check *c, const json_t *def, const char *base,
                           const char *key)
{
    json_t *v = json_object_get(def, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        mcp_problem(c, base, key, "expected a string, got %s", fs_json_type_name(v));
        return NULL;
    }
    return json_string_value(v);
}

/* A list of remote tool names. */
static json_t *mcp_tool_list(struct mcp_check *c, const json_t *v, const char *base,
                             const char *key)
{
    char path[400];
    fs_jpath_key(path, sizeof(path), base, key);
    json_t *out = json_array();
    if (!v || json_is_null(v))
        return out;
    if (!json_is_array(v) || json_array_size(v) > MCP_MAX_TOOLS) {
        mcp_problem(c, path, NULL, "expected a list of at most %d tool names", MCP_MAX_TOOLS);
        return out;
    }
    size_t i, j;
    json_t *item, *seen;
    json_array_foreach(v, i, item)
    {
        char ip[420];
        fs_jpath_index(ip, sizeof(ip), path, i);
        const char *t = json_string_value(item);
        bool dup = false;
        json_array_foreach(out, j, seen) dup = dup || fs_streq(json_string_value(seen), t);
        if (!mcp_tool_ok(t))
            mcp_problem(c, ip, NULL, "expected a tool name of 1-128 characters A-Z a-z 0-9 _ - .");
        else if (dup)
            mcp_problem(c, ip, NULL, "%s is listed twice", t);
        else
            json_array_append_new(out, json_string(t));
    }
    return out;
}

int fs_config_mcp_server_check(const json_t *def, const char *base, const char *basedir,
                               fs_config_mcp_report_fn report, void *arg, json_t **out)
{
    static const char *const keys[] = {
        "name",    "transport", "command",         "args",         "env", "url", "headers",
        "enabled", "trust",     "read_only_tools", "tool_mappings"};
    struct mcp_check c = {report, arg, basedir, 0};
    *out = NULL;
    if (!json_is_object(def)) {
        mcp_problem(&c, base, NULL, "expected a mapping {name, command | url, ...}, got %s",
                    fs_json_type_name(def));
        return c.problems;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)def, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < FS_ARRAY_LEN(keys) && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (!known)
            mcp_problem(&c, base, key,
                        "unknown key (expected name, transport, command, args, env, url, "
                        "headers, enabled, trust, read_only_tools, tool_mappings)");
    }
    json_t *o = json_object();
    if (!o)
        return -FS_E_NOMEM;

    const char *name = mcp_str(&c, def, base, "name");
    if (!fs_config_mcp_name_ok(name))
        mcp_problem(&c, base, "name",
                    name && strcmp(name, "forestall") == 0
                        ? "forestall is the name of forestall's own gateway; choose another"
                        : "expected 1-63 characters of a-z, 0-9, _ and -, starting with a letter "
                          "or digit");
    json_object_set_new(o, "name", json_string(name ? name : ""));

    const char *command = mcp_str(&c, def, base, "command");
    const char *url = mcp_str(&c, def, base, "url");
    const char *transport = mcp_str(&c, def, base, "transport");
    if (transport && strcmp(transport, "stdio") && strcmp(transport, "http")) {
        mcp_problem(&c, base, "transport", "expected stdio or http, got \"%s\"", transport);
        transport = NULL;
    }
    if (!transport)
        transport = url && !command ? "http" : "stdio";
    bool stdio = strcmp(transport, "stdio") == 0;
    json_object_set_new(o, "transport", json_string(transport));

    /* stdio: command, args, env */
    if (stdio) {
        static const char *const not_stdio[] = {"url", "headers"};
        for (size_t i = 0; i < FS_ARRAY_LEN(not_stdio); i++)
            if (json_object_get(def, not_stdio[i]))
                mcp_problem(&c, base, not_stdio[i], "only for transport http");
        const char *why = command ? mcp_text_problem(command, MCP_MAX_TEXT) : "";
        if (!command && !json_object_get(def, "command"))
            mcp_problem(&c, base, "command", "required for transport stdio (the program to run)");
        else if (command && *why)
            mcp_problem(&c, base, "command", "%s", why);
        json_object_set_new(o, "command", json_string(command ? command : ""));
    } else {
        static const char *const not_http[] = {"command", "args", "env"};
        for (size_t i = 0; i < FS_ARRAY_LEN(not_http); i++)
            if (json_object_get(def, not_http[i]))
                mcp_problem(&c, base, not_http[i], "only for transport stdio");
        json_object_set_new(o, "command", json_null());
    }
    json_t *args = json_array();
    json_t *av = json_object_get(def, "args");
    if (stdio && av && !json_is_null(av)) {
        char ap[400];
        fs_jpath_key(ap, sizeof(ap), base, "args");
        if (!json_is_array(av) || json_array_size(av) > MCP_MAX_ARGS) {
            mcp_problem(&c, ap, NULL, "expected a list of at most %d strings", MCP_MAX_ARGS);
        } else {
            size_t i;
            json_t *item;
            json_array_foreach(av, i, item)
            {
                char ip[420];
                fs_jpath_index(ip, sizeof(ip), ap, i);
                const char *a = json_string_value(item);
                /* an empty argument is legitimate; control characters are not */
                const char *why = a ? (*a ? mcp_text_problem(a, MCP_MAX_TEXT) : "") : NULL;
                if (!why)
                    mcp_problem(&c, ip, NULL, "expected a string, got %s", fs_json_type_name(item));
                else if (*why)
                    mcp_problem(&c, ip, NULL, "%s", why);
                else
                    json_array_append_new(args, json_string(a));
            }
        }
    }
    json_object_set_new(o, "args", args);
    json_t *env = json_object();
    json_t *ev = json_object_get(def, "env");
    if (stdio && ev && !json_is_null(ev)) {
        char ep[400];
        fs_jpath_key(ep, sizeof(ep), base, "env");
        if (!json_is_object(ev) || json_object_size(ev) > MCP_MAX_ENV) {
            mcp_problem(&c, ep, NULL,
                        "expected a mapping of at most %d NAME: {env: FORESTALL_NAME} or "
                        "{file: PATH}",
                        MCP_MAX_ENV);
        } else {
            json_object_foreach(ev, key, v)
            {
                char kp[420];
                fs_jpath_key(kp, sizeof(kp), ep, key);
                if (!mcp_envname_ok(key)) {
                    mcp_problem(&c, kp, NULL,
                                "not a variable name (A-Z, a-z, 0-9 and _, not starting with a "
                                "digit)");
                    continue;
                }
                if (json_is_string(v)) {
                    mcp_problem(&c, kp, NULL,
                                "a value is not written here (it may be a secret); use "
                                "{env: FORESTALL_NAME} or {file: PATH}");
                    continue;
                }
                json_t *r = mcp_ref(&c, kp, v, false);
                if (r)
                    json_object_set_new(env, key, r);
            }
        }
    }
    json_object_set_new(o, "env", env);

    /* http: url, headers */
    if (!stdio) {
        if (!url) {
            if (!json_object_get(def, "url"))
                mcp_problem(&c, base, "url", "required for transport http");
        } else {
            const char *why = mcp_text_problem(url, MCP_MAX_URL);
            const char *rest = strncmp(url, "https://", 8) == 0  ? url + 8
                               : strncmp(url, "http://", 7) == 0 ? url + 7
                                                                 : NULL;
            size_t alen = rest ? strcspn(rest, "/?#") : 0;
            if (*why)
                mcp_problem(&c, base, "url", "%s", why);
            else if (!rest)
                mcp_problem(&c, base, "url", "expected an http:// or https:// URL, got \"%s\"",
                            url);
            else if (alen == 0 || rest[0] == ':')
                mcp_problem(&c, base, "url", "no host in \"%s\"", url);
            else if (memchr(rest, '@', alen))
                mcp_problem(&c, base, "url",
                            "credentials in the URL would be written in clear; use a header with "
                            "a secret reference");
            else if (strpbrk(url, " \"<>\\^`{|}"))
                mcp_problem(&c, base, "url", "characters not allowed in a URL in \"%s\"", url);
        }
    }
    json_object_set_new(o, "url", !stdio && url ? json_string(url) : json_null());
    json_t *headers = json_object();
    json_t *hv = json_object_get(def, "headers");
    if (!stdio && hv && !json_is_null(hv)) {
        char hp[400];
        fs_jpath_key(hp, sizeof(hp), base, "headers");
        if (!json_is_object(hv) || json_object_size(hv) > MCP_MAX_HEADERS) {
            mcp_problem(&c, hp, NULL, "expected a mapping of at most %d NAME: value",
                        MCP_MAX_HEADERS);
        } else {
            json_object_foreach(hv, key, v)
            {
                char kp[420];
                fs_jpath_key(kp, sizeof(kp), hp, key);
                if (!mcp_header_name_ok(key)) {
                    mcp_problem(&c, kp, NULL, "not a header name");
                    continue;
                }
                if (mcp_header_reserved(key)) {
                    mcp_problem(&c, kp, NULL, "set by the MCP client itself");
                    continue;
                }
                if (json_is_string(v)) {
                    const char *why = mcp_text_problem(json_string_value(v), MCP_MAX_TEXT);
                    if (*why)
                        mcp_problem(&c, kp, NULL, "%s", why);
                    else if (mcp_header_sensitive(key))
                        mcp_problem(&c, kp, NULL,
                                    "a credential is not written here; use {env: FORESTALL_NAME} "
                                    "or {file: PATH} (with prefix: \"Bearer \" if needed)");
                    else
                        json_object_set_new(headers, key, json_string(json_string_value(v)));
                    continue;
                }
                json_t *r = mcp_ref(&c, kp, v, true);
                if (r)
                    json_object_set_new(headers, key, r);
            }
        }
    }
    json_object_set_new(o, "headers", headers);

    json_t *en = json_object_get(def, "enabled");
    if (en && !json_is_boolean(en))
        mcp_problem(&c, base, "enabled", "expected true or false, got %s", fs_json_type_name(en));
    json_object_set_new(o, "enabled", json_boolean(!en || !json_is_false(en)));

    json_t *ro =
        mcp_tool_list(&c, json_object_get(def, "read_only_tools"), base, "read_only_tools");
    const char *trust = mcp_str(&c, def, base, "trust");
    if (trust && strcmp(trust, "none") && strcmp(trust, "read_only_hints") &&
        strcmp(trust, "listed")) {
        mcp_problem(&c, base, "trust", "expected none, read_only_hints or listed, got \"%s\"",
                    trust);
        trust = NULL;
    }
    if (!trust)
        trust = json_array_size(ro) ? "listed" : "none";
    if (json_array_size(ro) && strcmp(trust, "listed") != 0)
        mcp_problem(&c, base, "read_only_tools",
                    "only with trust listed (trust %s decides read-only tools otherwise)", trust);
    json_object_set_new(o, "trust", json_string(trust));
    json_object_set_new(o, "read_only_tools", ro);

    json_t *maps = json_object();
    json_t *mv = json_object_get(def, "tool_mappings");
    if (mv && !json_is_null(mv)) {
        char mp[400];
        fs_jpath_key(mp, sizeof(mp), base, "tool_mappings");
        if (!json_is_object(mv) || json_object_size(mv) > MCP_MAX_TOOLS) {
            mcp_problem(&c, mp, NULL, "expected a mapping of at most %d ACTION: TOOL",
                        MCP_MAX_TOOLS);
        } else {
            json_object_foreach(mv, key, v)
            {
                char kp[420];
                fs_jpath_key(kp, sizeof(kp), mp, key);
                if (!mcp_action_ok(key))
                    mcp_problem(&c, kp, NULL,
                                "not a catalog action name (a-z, 0-9 and _, starting with a "
                                "letter)");
                else if (!mcp_tool_ok(json_string_value(v)))
                    mcp_problem(&c, kp, NULL,
                                "expected a tool name of 1-128 characters A-Z a-z 0-9 _ - .");
                else
                    json_object_set_new(maps, key, json_string(json_string_value(v)));
            }
        }
    }
    json_object_set_new(o, "tool_mappings", maps);

    if (c.problems)
        json_decref(o);
    else
        *out = o;
    return c.problems;
}

static void mcp_config_report(void *arg, const char *path, const char *msg)
{
    struct loader *L = arg;
    fs_diag_put(&L->d, L->doc->name, fs_diag_line(L->doc, path, false), path, msg);
}

/* A list of named definitions (mcp.servers, notify.channels): one() checks an item and gives
 * its canonical definition (NULL after reporting its problems) or fails (<0); a name listed
 * twice is a problem; each definition is kept as canonical JSON text. */
static int apply_named_list(struct loader *L, const struct fs_config_key *k, json_t *v,
                            const char *shape,
                            int (*one)(struct loader *L, const char *path, json_t *item,
                                       json_t **def),
                            struct fs_strlist *out)
{
    if (!json_is_array(v))
        return problem(L, k->path, "expected a list of %s, got %s", shape, fs_json_type_name(v));
    struct fs_strlist l = {fs_calloc(json_array_size(v) + 1, sizeof(char *)), 0};
    json_t *names = json_object();
    if (!l.items || !names) {
        free(l.items);
        json_decref(names);
        return -FS_E_NOMEM;
    }
    int before = L->d.problems, rc = 0;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        char p[300];
        fs_jpath_index(p, sizeof(p), k->path, i);
        json_t *def = NULL;
        if ((rc = one(L, p, item, &def)) < 0)
            break;
        if (!def)
            continue;
        const char *name = json_string_value(json_object_get(def, "name"));
        if (name && json_object_get(names, name)) {
            char np[340];
            fs_jpath_key(np, sizeof(np), p, "name");
            problem(L, np, "%s is listed twice", name);
        } else if (name) {
            json_object_set_new(names, name, json_true());
        }
        char *text = fs_json_canonical(def);
        json_decref(def);
        if (!text) {
            rc = -FS_E_NOMEM;
            break;
        }
        l.items[l.n++] = text;
    }
    json_decref(names);
    if (rc == 0 && L->d.problems > before)
        rc = -FS_E_CONFIG;
    if (rc < 0) {
        strlist_clear(&l);
        return rc;
    }
    strlist_clear(out);
    *out = l;
    return 0;
}

/* mcp.servers: each item checked by fs_config_mcp_server_check. */
static int one_mcp_server(struct loader *L, const char *path, json_t *item, json_t **def)
{
    return fs_config_mcp_server_check(item, path, L->basedir, mcp_config_report, L, def);
}

static int apply_mcp_servers(struct loader *L, const struct fs_config_key *k, json_t *v,
                             struct fs_strlist *out)
{
    return apply_named_list(L, k, v, "servers {name, command | url, ...}", one_mcp_server, out);
}

/* notify.channels: the shape every channel shares (name, type, events); a secret reference
 * anywhere in it ({env: FORESTALL_X} or {file: PATH}, plus an optional prefix) is checked and
 * kept as a reference, a relative file made absolute. The type's own keys are its check()'s
 * (src/notify/channels.c). */
static bool in_choices(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, s, n) == 0)
            return true;
        c += len + (bar ? 1 : 0);
    }
    return false;
}

static json_t *channel_refs(struct loader *L, const char *path, json_t *v)
{
    if (json_is_object(v)) {
        json_t *env = json_object_get(v, "env"), *file = json_object_get(v, "file");
        size_t extra = json_object_get(v, "prefix") ? 1 : 0;
        if ((env || file) && json_object_size(v) == 1 + extra && !(env && file)) {
            const char *name = json_string_value(env ? env : file);
            if (!name || !*name) {
                problem(L, path, "%s: expected %s", env ? "env" : "file",
                        env ? "a variable name" : "a path");
                return NULL;
            }
            if (env) {
                if (!env_ref_name_ok(name)) {
                    problem(L, path, "env: expected a variable name of A-Z, 0-9 and _ starting "
                                     "with FORESTALL_");
                    return NULL;
                }
                return json_deep_copy(v);
            }
            char *abs = resolve_path(L->basedir, name);
            json_t *o = abs ? json_deep_copy(v) : NULL;
            if (o)
                json_object_set_new(o, "file", json_string(abs));
            free(abs);
            return o;
        }
        json_t *o = json_object();
        const char *key;
        json_t *f;
        json_object_foreach(v, key, f)
        {
            char p[400];
            fs_jpath_key(p, sizeof(p), path, key);
            json_t *c = channel_refs(L, p, f);
            if (!c || json_object_set_new(o, key, c) < 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            char p[400];
            fs_jpath_index(p, sizeof(p), path, i);
            json_t *c = channel_refs(L, p, item);
            if (!c || json_array_append_new(a, c) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    return json_deep_copy(v);
}

/* One channel of notify.channels: name, type and events checked, secret references kept. */
static int one_channel(struct loader *L, const char *p, json_t *item, json_t **def)
{
    char kp[340];
    if (!json_is_object(item)) {
        problem(L, p, "expected a mapping {name, type, events, ...}, got %s",
                fs_json_type_name(item));
        return 0;
    }
    int before = L->d.problems;
    fs_jpath_key(kp, sizeof(kp), p, "name");
    if (!slug_ok(json_string_value(json_object_get(item, "name"))))
        problem(L, kp, "expected a name of 1-63 characters a-z, 0-9, _ and -");
    const char *type = json_string_value(json_object_get(item, "type"));
    fs_jpath_key(kp, sizeof(kp), p, "type");
    if (!type || !in_choices(FS_CONFIG_NOTIFY_TYPES, type))
        problem(L, kp, "expected one of %s", FS_CONFIG_NOTIFY_TYPES);
    json_t *ev = json_object_get(item, "events");
    fs_jpath_key(kp, sizeof(kp), p, "events");
    if (ev && !json_is_array(ev)) {
        problem(L, kp, "expected a list of events (%s)", FS_CONFIG_NOTIFY_EVENTS);
    } else if (ev) {
        size_t j;
        json_t *e;
        json_array_foreach(ev, j, e)
        {
            if (!json_is_string(e) || !in_choices(FS_CONFIG_NOTIFY_EVENTS, json_string_value(e))) {
                char ep[360];
                fs_jpath_index(ep, sizeof(ep), kp, j);
                problem(L, ep, "expected one of %s", FS_CONFIG_NOTIFY_EVENTS);
            }
        }
    }
    json_t *d = channel_refs(L, p, item);
    if (d && L->d.problems > before) {
        json_decref(d);
        d = NULL;
    }
    *def = d;
    return 0;
}

static int apply_channels(struct loader *L, const struct fs_config_key *k, json_t *v,
                          struct fs_strlist *out)
{
    return apply_named_list(L, k, v, "channels {name, type, events, ...}", one_channel, out);
}

static int apply_key(struct loader *L, const struct fs_config_key *k, json_t *v)
{
    void *field = (char *)L->cfg + k->offset;
    char tmp[64];
    if (json_is_null(v)) {
        if (!(k->flags & FS_CFG_NULLABLE))
            return problem(L, k->path, "must be set (expected %s)", fs_config_type_name(k->type));
        if (k->type == FS_CFG_SECRET) {
            struct fs_secret *s = field;
            free(s->value);
            s->value = NULL;
            s->source[0] = '\0';
            s->sha256[0] = '\0';
        } else if (k->type == FS_CFG_NUMBER) {
            *(double *)field = -1;
        } else {
            free(*(char **)field);
            *(char **)field = NULL;
        }
        return 0;
    }
    switch (k->type) {
    case FS_CFG_STR:
    case FS_CFG_PATH:
    case FS_CFG_URL:
    case FS_CFG_ADDR:
    case FS_CFG_ENUM: {
        if (!json_is_string(v))
            return problem(L, k->path, "expected %s, got %s", fs_config_type_name(k->type),
                           fs_json_type_name(v));
        const char *s = json_string_value(v);
        if (!*s)
            return problem(L, k->path, "must not be empty");
        if (k->type == FS_CFG_ADDR && parse_addr(s, NULL, 0, NULL) < 0)
            return problem(L, k->path, "expected HOST:PORT, got \"%s\"", s);
        if (k->type == FS_CFG_URL && strncmp(s, "http://", 7) != 0 &&
            strncmp(s, "https://", 8) != 0)
            return problem(L, k->path, "expected an http:// or https:// URL, got \"%s\"", s);
        if (k->type == FS_CFG_ENUM) {
            bool ok = false;
            const char *c = k->choices;
            size_t n = strlen(s);
            while (c && *c) {
                const char *bar = strchr(c, '|');
                size_t cl = bar ? (size_t)(bar - c) : strlen(c);
                if (cl == n && strncmp(c, s, n) == 0)
                    ok = true;
                c = bar ? bar + 1 : NULL;
            }
            if (!ok)
                return problem(L, k->path, "expected one of %s, got \"%s\"", k->choices, s);
        }
        char *copy = k->type == FS_CFG_PATH ? resolve_path(L->basedir, s) : fs_strdup(s);
        if (!copy)
            return -FS_E_NOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case FS_CFG_INT: {
        if (!json_is_integer(v))
            return problem(L, k->path, "expected integer, got %s", fs_json_type_name(v));
        json_int_t i = json_integer_value(v);
        if (i < k->min || (k->max && i > k->max))
            return problem(L, k->path, "must be between %" PRId64 " and %" PRId64 ", got %lld",
                           k->min, k->max, (long long)i);
        *(int64_t *)field = i;
        return 0;
    }
    case FS_CFG_NUMBER: {
        if (!json_is_number(v))
            return problem(L, k->path, "expected a number, got %s", fs_json_type_name(v));
        double d = json_number_value(v);
        if (d < (double)k->min || (k->max && d > (double)k->max))
            return problem(L, k->path, "must be between %" PRId64 " and %" PRId64 ", got %g",
                           k->min, k->max, d);
        *(double *)field = d;
        return 0;
    }
    case FS_CFG_BOOL:
        if (!json_is_boolean(v))
            return problem(L, k->path, "expected true or false, got %s", fs_json_type_name(v));
        *(bool *)field = json_is_true(v);
        return 0;
    case FS_CFG_DURATION: {
        int64_t ms;
        if (!json_is_string(v) || fs_duration_parse(json_string_value(v), &ms) < 0)
            return problem(L, k->path, "expected a duration such as 30s, 5m, 1h or 7d");
        if (ms < k->min || (k->max && ms > k->max)) {
            char a[32], b[32];
            return problem(L, k->path, "must be between %s and %s",
                           fs_duration_format(k->min, a, sizeof(a)),
                           fs_duration_format(k->max, b, sizeof(b)));
        }
        *(int64_t *)field = ms;
        return 0;
    }
    case FS_CFG_SIZE: {
        uint64_t n;
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
            snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
            s = tmp;
        }
        if (!s || fs_size_parse(s, &n) < 0)
            return problem(L, k->path, "expected a size such as 512KiB, 2MiB or 1048576");
        if (n < (uint64_t)k->min || (k->max && n > (uint64_t)k->max))
            return problem(L, k->path, "must be between %" PRId64 " and %" PRId64 " bytes", k->min,
                           k->max);
        *(uint64_t *)field = n;
        return 0;
    }
    case FS_CFG_STRLIST: {
        if (!json_is_array(v))
            return problem(L, k->path, "expected a list of strings, got %s", fs_json_type_name(v));
        struct fs_strlist nl = {fs_calloc(json_array_size(v) + 1, sizeof(char *)), 0};
        if (!nl.items)
            return -FS_E_NOMEM;
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item) || !*json_string_value(item)) {
                strlist_clear(&nl);
                char p[300];
                fs_jpath_index(p, sizeof(p), k->path, i);
                return problem(L, p, "expected a non-empty string");
            }
            nl.items[nl.n++] = fs_strdup(json_string_value(item));
        }
        strlist_clear((struct fs_strlist *)field);
        *(struct fs_strlist *)field = nl;
        return 0;
    }
    case FS_CFG_SECRET: return apply_secret(L, k, v, field);
    case FS_CFG_TOKENS: return apply_tokens(L, k, v, field);
    case FS_CFG_MCP_SERVERS: return apply_mcp_servers(L, k, v, field);
    case FS_CFG_CHANNELS: return apply_channels(L, k, v, field);
    }
    return 0;
}

static int walk(struct loader *L, json_t *node, const char *path)
{
    const char *key;
    json_t *v;
    if (!json_is_object(node))
        return problem(L, *path ? path : "(top level)", "expected a mapping, got %s",
                       fs_json_type_name(node));
    json_object_foreach(node, key, v)
    {
        char child[300];
        if (*path)
            snprintf(child, sizeof(child), "%s.%s", path, key);
        else
            snprintf(child, sizeof(child), "%s", key);
        const struct fs_config_key *k = key_find(child);
        if (k)
            apply_key(L, k, v);
        else if (is_section(child))
            walk(L, v, child);
        else {
            struct fs_suggest sg;
            const char *s = suggest(&sg, child);
            if (s)
                problem(L, child, "unknown key (did you mean %s?)", s);
            else
                problem(L, child, "unknown key");
        }
    }
    return L->d.problems ? -FS_E_CONFIG : 0;
}

static int check_cross(struct loader *L)
{
    struct fs_config *c = L->cfg;
    char host[256];
    int port;
    if (parse_addr(c->server.listen, host, sizeof(host), &port) == 0 && !host_is_loopback(host) &&
        !fs_config_auth_enabled(c) && !c->server.allow_public_without_token)
        problem(L, "server.listen",
                "%s is not a loopback address and no auth.token or auth.tokens is set; set "
                "one (or server.allow_public_without_token: true)",
                c->server.listen);
    if (c->reconcile.receiver) {
        int ec;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)c->reconcile.receiver, PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF, &ec, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof(msg));
            problem(L, "reconcile.receiver", "not a valid regular expression at offset %zu: %s",
                    (size_t)off, (const char *)msg);
        }
        pcre2_code_free(re);
    }
    for (size_t i = 0; i < c->tools.stated_capacity.n; i++) {
        const char *item = c->tools.stated_capacity.items[i];
        const char *eq = strrchr(item, '=');
        uint64_t size = 0;
        if (!eq || item[0] != '/' || eq == item + 1 || fs_size_parse(eq + 1, &size) < 0 ||
            size < 1024 * 1024)
            problem(L, "tools.stated_capacity",
                    "\"%s\": expected ABSOLUTE-PATH=SIZE with a size of at least 1MiB, e.g. "
                    "/srv/sandbox=64MiB",
                    item);
    }
    for (size_t i = 0; i < c->dispatch.llm_alerts.n; i++) {
        char msg[200];
        const char *pat = c->dispatch.llm_alerts.items[i];
        pcre2_code *re = fs_re_compile_checked(pat, strlen(pat), msg, sizeof(msg));
        if (!re)
            problem(L, "dispatch.llm_alerts", "\"%s\": %s", pat, msg);
        pcre2_code_free(re);
    }
    if (fs_streq(c->dispatch.planner, "llm") && !c->llm.provider)
        problem(L, "dispatch.planner", "llm needs a model: set llm.provider (and llm.model)");
    if (fs_streq(c->dispatch.planner, "claude_code") && !c->runner.api_key.value &&
        !c->llm.api_key.value)
        problem(L, "dispatch.planner",
                "claude_code needs an API key for Claude Code: set runner.api_key (or llm.api_key)");
    for (size_t i = 0; i < c->incidents.group_by.n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->incidents.group_by.items[i], c->incidents.group_by.items[j]) == 0)
                problem(L, "incidents.group_by", "label %s is listed twice",
                        c->incidents.group_by.items[i]);
    return L->d.problems ? -FS_E_CONFIG : 0;
}

/* FS_CONFIG_ENV_OVERRIDES over what the file set, each validated like the file (a problem names
 * the variable). A secret key reads its variable as {env: NAME} would. */
static int apply_env(struct fs_config *cfg, struct fs_buf *diag, struct fs_err *err)
{
    static const char *const vars[][2] = {
#define FS_ENV_ROW(var, key) {var, key},
        FS_CONFIG_ENV_OVERRIDES(FS_ENV_ROW)
#undef FS_ENV_ROW
    };
    int problems = 0;
    for (size_t i = 0; i < FS_ARRAY_LEN(vars); i++) {
        const char *val = getenv(vars[i][0]);
        const struct fs_config_key *k = key_find(vars[i][1]);
        if (!val || !*val)
            continue;
        if (!k)
            FS_BUG("environment override %s names no key %s", vars[i][0], vars[i][1]);
        struct fs_yaml_doc doc = {.root = NULL, .lines = NULL};
        snprintf(doc.name, sizeof(doc.name), "environment %s", vars[i][0]);
        struct loader L = {
            .cfg = cfg, .doc = &doc, .d = {.out = diag, .err = err, .code = FS_E_CONFIG}};
        json_t *v;
        if (k->type == FS_CFG_SECRET)
            v = json_pack("{ss}", "env", vars[i][0]);
        else if (!strcmp(k->path, "llm.provider") && !strcmp(val, "none"))
            v = json_null();
        else
            v = json_string(val);
        if (!v)
            problem(&L, k->path, "not valid UTF-8");
        else
            apply_key(&L, k, v);
        json_decref(v);
        problems += L.d.problems;
    }
    return problems ? -FS_E_CONFIG : 0;
}

void fs_config_free(struct fs_config *cfg)
{
    if (!cfg)
        return;
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++) {
        void *field = (char *)cfg + k->offset;
        switch (k->type) {
        case FS_CFG_STR:
        case FS_CFG_PATH:
        case FS_CFG_URL:
        case FS_CFG_ADDR:
        case FS_CFG_ENUM: free(*(char **)field); break;
        case FS_CFG_STRLIST:
        case FS_CFG_MCP_SERVERS:
        case FS_CFG_CHANNELS: strlist_clear(field); break;
        case FS_CFG_TOKENS: tokens_clear(field); break;
        case FS_CFG_SECRET: {
            struct fs_secret *s = field;
            if (s->value) {
                explicit_bzero(s->value, strlen(s->value));
                free(s->value);
            }
            break;
        }
        default: break;
        }
    }
    free(cfg->file);
    free(cfg);
}

int fs_config_load(const char *file, struct fs_config **out, struct fs_buf *diag,
                   struct fs_err *err)
{
    *out = NULL;
    struct fs_config *cfg = fs_calloc(1, sizeof(*cfg));
    if (!cfg)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    cfg->refs = 1;

    const struct fs_embed_file *def = fs_embed_find("etc/forestall.yaml");
    if (!def)
        FS_BUG("the default configuration is not embedded");
    struct fs_yaml_doc doc;
    struct fs_err derr;
    if (fs_yaml_parse((const char *)def->start, fs_embed_len(def), "(embedded)etc/forestall.yaml",
                      &doc, &derr) < 0)
        FS_BUG("embedded default config: %s", derr.msg);
    struct loader L = {.cfg = cfg, .doc = &doc, .d = {.err = &derr, .code = FS_E_CONFIG}};
    if (walk(&L, doc.root, "") < 0)
        FS_BUG("embedded default config: %s", derr.msg);
    fs_yaml_doc_release(&doc);

    int rc = 0;
    if (file) {
        if ((rc = fs_yaml_load_file(file, &doc, err)) < 0) {
            if (diag)
                fs_buf_printf(diag, "%s\n", err->msg);
            fs_config_free(cfg);
            return rc;
        }
        char *dircopy = fs_strdup(file);
        struct loader F = {
            .cfg = cfg, .doc = &doc, .d = {.out = diag, .err = err, .code = FS_E_CONFIG}};
        F.basedir = dircopy ? dirname(dircopy) : ".";
        /* data_dir must be resolved first so store.path can be relative to it */
        if (doc.root && !json_is_null(doc.root))
            rc = walk(&F, doc.root, "");
        if (rc == 0)
            rc = apply_env(cfg, diag, err);
        if (rc == 0)
            rc = check_cross(&F);
        free(dircopy);
        fs_yaml_doc_release(&doc);
        cfg->file = fs_strdup(file);
    } else {
        struct loader F = {
            .cfg = cfg, .doc = &doc, .d = {.out = diag, .err = err, .code = FS_E_CONFIG}};
        snprintf(doc.name, sizeof(doc.name), "(embedded)");
        doc.lines = NULL;
        rc = apply_env(cfg, diag, err);
        if (rc == 0)
            rc = check_cross(&F);
        cfg->file = fs_strdup("(embedded)");
    }
    if (rc < 0) {
        fs_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

char *fs_config_store_path(const struct fs_config *cfg)
{
    return resolve_path(cfg->data_dir, cfg->store.path);
}

char *fs_config_data_path(const struct fs_config *cfg, const char *p)
{
    return resolve_path(cfg->data_dir, p);
}

void fs_config_register_secrets(const struct fs_config *cfg)
{
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++) {
        const void *field = (const char *)cfg + k->offset;
        if (k->type == FS_CFG_SECRET && ((const struct fs_secret *)field)->value)
            fs_redact_register(((const struct fs_secret *)field)->value, k->path);
        if (k->type == FS_CFG_TOKENS) {
            const struct fs_tokens *t = field;
            for (size_t i = 0; i < t->n; i++)
                fs_redact_register(t->items[i].token.value, k->path);
        }
    }
}

bool fs_config_auth_enabled(const struct fs_config *cfg)
{
    return cfg->auth.token.value || cfg->auth.tokens.n > 0;
}

int fs_config_set(struct fs_config *cfg, const char *path, const char *value, struct fs_err *err)
{
    const struct fs_config_key *k = key_find(path);
    if (!k)
        return fs_err_set(err, FS_E_CONFIG, path, "%s: unknown key", path);
    struct fs_yaml_doc doc = {.root = NULL, .lines = NULL};
    snprintf(doc.name, sizeof(doc.name), "command line");
    struct loader L = {.cfg = cfg, .doc = &doc, .d = {.err = err, .code = FS_E_CONFIG}};
    json_t *v = json_string(value);
    if (!v)
        return fs_err_set(err, FS_E_CONFIG, path, "%s: not valid UTF-8", path);
    apply_key(&L, k, v);
    json_decref(v);
    return L.d.problems ? -FS_E_CONFIG : 0;
}

int fs_config_check(struct fs_config *cfg, struct fs_err *err)
{
    struct fs_yaml_doc doc = {.root = NULL, .lines = NULL};
    snprintf(doc.name, sizeof(doc.name), "%s", cfg->file ? cfg->file : "config");
    struct loader L = {.cfg = cfg, .doc = &doc, .d = {.err = err, .code = FS_E_CONFIG}};
    return check_cross(&L);
}

/* ---- the shared current config ---------------------------------------------------------- */

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fs_config *current;

void fs_config_install(struct fs_config *cfg)
{
    pthread_mutex_lock(&current_lock);
    struct fs_config *old = current;
    current = cfg;
    pthread_mutex_unlock(&current_lock);
    if (old)
        fs_config_release(old);
}

struct fs_config *fs_config_acquire(void)
{
    pthread_mutex_lock(&current_lock);
    struct fs_config *c = current;
    if (c)
        c->refs++;
    pthread_mutex_unlock(&current_lock);
    return c;
}

void fs_config_release(struct fs_config *cfg)
{
    if (!cfg)
        return;
    pthread_mutex_lock(&current_lock);
    bool last = --cfg->refs == 0;
    pthread_mutex_unlock(&current_lock);
    if (last)
        fs_config_free(cfg);
}

/* ---- reference ---------------------------------------------------------------------------- */

int fs_config_doc_markdown(struct fs_buf *b)
{
    const struct fs_embed_file *def = fs_embed_find("etc/forestall.yaml");
    struct fs_yaml_doc doc;
    struct fs_err e;
    if (!def || fs_yaml_parse((const char *)def->start, fs_embed_len(def), "default", &doc, &e) < 0)
        return -FS_E_INVALID;
    fs_buf_puts(b, "# Configuration reference\n\n"
                   "<!-- generated by `forestall docs config` from the key table in "
                   "src/core/config.c; do not edit -->\n\n"
                   "forestall reads the embedded default (etc/forestall.yaml) and then the file "
                   "given with `-c FILE`, which only needs the keys it changes. Unknown keys are "
                   "errors. `forestall config check FILE` names the file, line and key of every "
                   "problem.\n\n"
                   "Secrets (type *secret*) are never written in the file: they take "
                   "`{env: FORESTALL_NAME}` or `{file: PATH}`. Relative paths in a file are "
                   "relative to that file's directory. Keys marked *reload* take effect on "
                   "SIGHUP; the others need a restart.\n\n"
                   "These environment variables, when set and not empty, replace a key after "
                   "the file is read (so one run can be pointed elsewhere):");
    const char *sep = " ";
#define FS_ENV_DOC(var, key)                                                                       \
    fs_buf_printf(b, "%s`%s` (`%s`)", sep, var, key);                                              \
    sep = ", ";
    FS_CONFIG_ENV_OVERRIDES(FS_ENV_DOC)
#undef FS_ENV_DOC
    fs_buf_puts(b, ". `FORESTALL_LLM_PROVIDER=none` unsets `llm.provider`; "
                   "`FORESTALL_LLM_API_KEY` is read as `{env: FORESTALL_LLM_API_KEY}` would be.\n\n"
                   "| key | type | default | reload | description |\n"
                   "|---|---|---|---|---|\n");
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++) {
        /* the default as written in the embedded file */
        json_t *v = doc.root;
        char part[128];
        const char *p = k->path;
        while (v && *p) {
            const char *dot = strchr(p, '.');
            size_t n = dot ? (size_t)(dot - p) : strlen(p);
            snprintf(part, sizeof(part), "%.*s", (int)n, p);
            v = json_object_get(v, part);
            p = dot ? dot + 1 : p + n;
        }
        char *dv = v ? fs_json_compact(v) : NULL;
        char type[128], lo[32], hi[32];
        if (k->type == FS_CFG_ENUM)
            snprintf(type, sizeof(type), "%s", k->choices);
        else if (k->type == FS_CFG_DURATION && k->max)
            snprintf(type, sizeof(type), "duration, %s–%s", fs_duration_format(k->min, lo, 32),
                     fs_duration_format(k->max, hi, 32));
        else if ((k->type == FS_CFG_INT || k->type == FS_CFG_SIZE || k->type == FS_CFG_NUMBER) &&
                 k->max)
            snprintf(type, sizeof(type), "%s, %lld–%lld%s", fs_config_type_name(k->type),
                     (long long)k->min, (long long)k->max, k->type == FS_CFG_SIZE ? " bytes" : "");
        else
            snprintf(type, sizeof(type), "%s", fs_config_type_name(k->type));
        for (char *c = type; *c; c++)
            if (*c == '|')
                *c = '/';
        fs_buf_printf(b, "| `%s` | %s | `%s` | %s | %s |\n", k->path, type, dv ? dv : "?",
                      (k->flags & FS_CFG_RELOAD) ? "yes" : "no", k->doc);
        free(dv);
    }
    fs_yaml_doc_release(&doc);
    return 0;
}
