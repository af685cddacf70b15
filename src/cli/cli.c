/* cli: the command table of the one forestall binary, dispatch by the longest matching
 * command words, --help for every command, and the generated CLI reference. Commands hold no
 * logic the API lacks: client commands call the daemon over HTTP. */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const struct fs_command fs_commands[] = {
    {"serve", fs_cmd_serve, "[-c FILE] [--listen HOST:PORT] [--data-dir DIR]",
     "Run the daemon: webhook intake, API and metrics, on the embedded defaults unless -c is "
     "given.",
     "  -c, --config FILE     load FILE over the embedded default configuration\n"
     "  --listen HOST:PORT    override server.listen (port 0 picks a free port)\n"
     "  --data-dir DIR        override data_dir\n"
     "Signals: SIGTERM/SIGINT drain in-flight requests and exit 0; SIGHUP reloads the config.\n"
     "Exits 6 when a durable write fails (fail-stop), so a supervisor restarts it."},
    {"alert send", fs_cmd_alert_send, "[--source alertmanager|grafana|event] [--url URL] FILE|-",
     "Post an alert payload to the daemon and print its answer.",
     "  --source S    payload format; default: detected from the body (Grafana has\n"
     "                version \"1\", events have \"type\" or \"events\", else Alertmanager)\n"
     "  --url URL     daemon address (default $FORESTALL_URL or http://127.0.0.1:9797)\n"
     "The token, if the daemon needs one, comes from $FORESTALL_TOKEN."},
    {"incidents list", fs_cmd_incidents_list,
     "[--status open|resolved|all] [--severity S] [--limit N] [-o table|json] [--url URL]",
     "List incidents, newest first.",
     "  --status S    open, resolved or all (default all)\n"
     "  --severity S  info, warning or critical\n"
     "  --limit N     at most N incidents (default 100; 0 = all)\n"
     "  -o FORMAT     table (default) or json: an array of incidents, each with id, status,\n"
     "                severity, title, labels and episodes (fingerprint, status, startsAt, ...)"},
    {"incidents show", fs_cmd_incidents_show, "ID [-o text|json] [--url URL]",
     "Show one incident with its episodes and timeline.",
     "  ID            inc-42 or 42\n"
     "  -o FORMAT     text (default) or json"},
    {"postmortem", fs_cmd_postmortem, "ID [-o md|json] [--url URL | --local [-c CONFIG]]",
     "Print an incident's post-mortem (docs/postmortems.md): the stored one, or one built now "
     "from what is recorded so far when handling has not concluded.",
     "  ID            inc-42 or 42\n"
     "  -o FORMAT     md (default): the Markdown; json: {incidentId, createdAt, markdown,\n"
     "                data, stored}\n"
     "  --local       read the configured store directly instead of asking the daemon\n"
     "                (after `forestall investigate`, which runs without one)\n"
     "  -c FILE       the configuration whose data_dir holds the store (with --local)"},
    {"deadletters list", fs_cmd_dead_letters, "[--limit N] [--body] [-o table|json] [--url URL]",
     "List rejected bodies kept in the dead-letter table.",
     "  --limit N     at most N (default 100)\n"
     "  --body        include the kept bodies (json output)\n"
     "  -o FORMAT     table (default) or json"},
    {"status", fs_cmd_status, "[-o text|json] [--url URL]",
     "Show the daemon's version, readiness and store row counts.", ""},
    {"propose", fs_cmd_propose, "[--as NAME] [-o text|json] [--url URL] FILE|-",
     "Submit a proposal to the daemon's gate and print its decision, explained.",
     "  FILE          {action, params, target, incident: {id}, evidence: {cited}, rationale}\n"
     "                (docs/proposals.md); forestall fills incident, scope, trace and context\n"
     "  --as NAME     who proposes (without tokens; with a token it must be the token's name)\n"
     "Needs role agent or admin."},
    {"proposals list", fs_cmd_proposals_list,
     "[--status S] [--incident inc-N] [--limit N] [-o table|json] [--url URL]",
     "List proposals, newest first.",
     "  --status S    pending, approved, rejected, expired, blocked or shadow\n"
     "  --incident ID only this incident's proposals\n"
     "  --limit N     at most N (default 100)"},
    {"proposals show", fs_cmd_proposals_show, "ID [-o text|json] [--url URL]",
     "Show one proposal: action, params, target, the gate's score, contributions and reasons, "
     "the action hash, and who decided.",
     "  ID            prop-7 or 7"},
    {"approve", fs_cmd_approve,
     "ID --as NAME [--force-override] [--comment TEXT] [-o text|json] [--url URL]",
     "Approve a pending proposal (bound to its action hash; expires with it).",
     "  --as NAME          who approves: never the proposer\n"
     "  --force-override   the only way past needs_force_override (critical incidents);\n"
     "                     needs role overrider, and is logged permanently\n"
     "  --comment TEXT     kept with the approval in the audit trail\n"
     "A plain approve of a proposal that needs FORCE_OVERRIDE is refused (exit 4)."},
    {"reject", fs_cmd_reject, "ID --as NAME --reason TEXT [-o text|json] [--url URL]",
     "Reject a pending proposal, saying why.", ""},
    {"freeze", fs_cmd_freeze, "--reason TEXT [--as NAME] [-o text|json] [--url URL]",
     "Kill switch on: from now on no action starts, whatever the gate or an approval says.",
     "Persisted and audited; needs role approver or above."},
    {"unfreeze", fs_cmd_unfreeze, "[--reason TEXT] [--as NAME] [-o text|json] [--url URL]",
     "Kill switch off (role admin).", ""},
    {"mode set", fs_cmd_mode_set,
     "shadow|supervised|autonomous|clear --reason TEXT [--service S] [--env E] [--as NAME] "
     "[--url URL]",
     "Set the runtime mode for a scope (all, a service, an env, or both); clear hands the scope "
     "back to the policy. Audited; role admin.",
     "A runtime mode wins over the policy's modes for the scope it names; the most specific\n"
     "scope (service+env, service, env, all) applies."},
    {"mode show", fs_cmd_mode_show, "[-o text|json] [--url URL]",
     "Show the kill switch, the policy's default mode and the runtime mode overrides.", ""},
    {"gate explain", fs_cmd_gate_explain,
     "[--policy FILE] [--catalog FILE] [-c CONFIG] [-o text|json] FILE|-",
     "Judge one proposal document locally and explain the decision: score, level, incident "
     "risk, every contribution and the verdict of every rule.",
     "  FILE          a complete proposal (docs/proposals.md), - for stdin\n"
     "  --policy FILE the policy to judge by (default: the config's, else the embedded one)\n"
     "  --catalog FILE an operator catalog over the built-in one\n"
     "Exits 0 whatever the decision; 1 only when the input or the rules cannot be read."},
    {"policy test", fs_cmd_policy_test, "[--policy FILE] [--catalog FILE] [-c CONFIG] [-v] DIR",
     "Run table cases (a proposal and the decision it must get) against a policy, like opa test.",
     "  DIR           *.yaml files with `cases:` (docs/policy.md, \"Testing a policy\")\n"
     "  -v            also list the cases that pass\n"
     "Exits 1 when any case fails."},
    {"policy check", fs_cmd_policy_check, "[--catalog FILE] [-o text|json] FILE",
     "Validate a policy file (read over the embedded default); -o json prints the merged policy.",
     ""},
    {"catalog list", fs_cmd_catalog_list, "[--catalog FILE] [-c CONFIG] [-o table|json]",
     "List the actions of the catalog in force (built-in plus the operator file).", ""},
    {"catalog check", fs_cmd_catalog_check, "FILE",
     "Validate an operator catalog file merged over the built-in one.", ""},
    {"audit verify", fs_cmd_audit_verify, "[-c CONFIG] [--no-checkpoint] [-o text|json]",
     "Verify the audit hash chain in the store and its signed checkpoints; names the first bad "
     "record.",
     "  --no-checkpoint  verify the chain alone, without the checkpoint file\n"
     "Reads the store directly (works while the daemon runs or is stopped). Exits 1 when the\n"
     "chain is broken, a checkpoint is forged, or records after a checkpoint are missing, and\n"
     "when the store has records but no checkpoint (file missing or\n"
     "emptied: truncation of the tail cannot be ruled out) unless --no-checkpoint is given."},
    {"audit export", fs_cmd_audit_export,
     "[-c CONFIG] [--format csv|jsonl] [--since T] [--type T,...] [--actor NAME] "
     "[--output FILE]",
     "Export audit records (seq, ts, type, actor, data, prev_hash, hash).",
     "  --format F    jsonl (default) or csv\n"
     "  --since T     RFC 3339 time, or a duration back from now (24h, 7d)\n"
     "  --type T      record types, comma-separated (docs/audit.md)\n"
     "  --actor NAME  records by this actor"},
    {"investigate", fs_cmd_investigate,
     "[-c CONFIG] [--data-dir DIR] [--planner playbook|llm] [--source alertmanager|grafana|event] "
     "[--no-execute] [-o text|json] FILE|-",
     "Handle one alert without a daemon: record it, investigate it with the playbooks or the LLM "
     "planner, send the proposal through the gate, run what the gate passes in the executor "
     "process, and print the trace live (the model's reasoning, each tool call and result, the "
     "proposal, the gate's decision), then the post-mortem.",
     "  FILE           an Alertmanager webhook, Grafana webhook or generic event (JSON); - reads\n"
     "                 stdin\n"
     "  -c FILE        configuration (tools.*, safety.*, dispatch.*, llm.*); the store in its\n"
     "                 data_dir\n"
     "  --data-dir DIR use this data directory (store, post-mortems, LLM transcripts)\n"
     "  --planner P    playbook or llm (docs/llm.md); default: as dispatch.planner and\n"
     "                 dispatch.llm_alerts say\n"
     "  --source S     how to read FILE; default: from its shape\n"
     "  --no-execute   stop after the gate's decision\n"
     "  -o FORMAT      text (default) or json: one JSON object per trace line, then one object\n"
     "                 {incident, state, outcome, planner (model, calls, tokens, cost), rootCause,\n"
     "                 summary, proposals (with the gate's decisions), executions (with results)}\n"
     "Refuses to run when a daemon holds the data directory (send it the alert instead)."},
    {"executor", fs_cmd_executor, "[-c CONFIG] [--data-dir DIR] [--once [--proposal prop-N]]",
     "Run approved actions (docs/executor.md): resume what a crash interrupted, then run every "
     "approved proposal, verify, roll back or escalate; `serve` runs it as its own process.",
     "  -c FILE          configuration (executor.*, tools.*, safety.*); the store in data_dir\n"
     "  --data-dir DIR   override data_dir\n"
     "  --once           resume, run what is ready now, and exit\n"
     "  --proposal ID    with --once: run only this proposal (prop-N)\n"
     "Prints one line per transition. Without --once it waits for a byte on stdin (a poke) or\n"
     "1 s, and exits at EOF on stdin or on SIGTERM/SIGINT after the step in progress.\n"
     "One executor per data directory (executor.lock)."},
    {"playbook list", fs_cmd_playbook_list, "[--playbooks DIR] [-o table|json]",
     "List the playbooks (built-in, and DIR's over them) with their priority and step count.", ""},
    {"playbook check", fs_cmd_playbook_check, "FILE|DIR",
     "Check a playbook file or directory against the tool registry and the catalog; names the "
     "file, line and key of every problem.",
     ""},
    {"playbook test", fs_cmd_playbook_test, "[--playbooks DIR] [-v] [-o text|json] DIR",
     "Run the playbooks against the recorded tool results of the cases in DIR and check each "
     "case's outcome, action, params and root cause (docs/playbooks.md).",
     "  --playbooks DIR  your playbooks over the built-in ones\n"
     "  -v               print passing cases too\n"
     "  -o json          one record per case: {\"cases\": [{file, name, ok, outcome, action,\n"
     "                   playbook, root_cause, params, summary, error}], \"total\", \"failed\"}\n"
     "Exits 1 when a case fails or DIR holds none."},
    {"eval", fs_cmd_eval,
     "[--planner playbook|llm] [--policy FILE] [--catalog FILE] [--playbooks DIR] [-c CONFIG] "
     "[--min-accuracy PCT] [--only TEXT] [-v] [-o text|json] DIR",
     "Run every scenario of DIR (docs/scenarios.md) against its simulated world through the "
     "planner, the gate and the executor, and print the scorecard: outcome and root-cause "
     "accuracy, unsafe actions executed, escalation precision and recall, steps and tool calls, "
     "time to first action, prevention lead time, and a line per failed scenario.",
     "  DIR               *.yaml scenarios, one incident each\n"
     "  --planner NAME    who investigates: playbook (default) or llm (the model of -c's llm.*)\n"
     "  --policy FILE     judge with this policy instead of the configured one\n"
     "  --catalog FILE    an operator catalog over the built-in one\n"
     "  --playbooks DIR   your playbooks over the built-in ones\n"
     "  --min-accuracy P  exit 1 when the outcome accuracy is under P percent\n"
     "  --only TEXT       run only the scenarios whose file name contains TEXT\n"
     "  -v                a line for every scenario, and the trace of each failure\n"
     "  -o json           {\"summary\": {...}, \"scenarios\": [...]}\n"
     "Exits 1 when an unsafe action was executed (a forbidden one, or one the gate did not\n"
     "pass), under --min-accuracy, or DIR holds no scenario."},
    {"report", fs_cmd_report, "[--since T] [-o text|json] [--url URL]",
     "The KPIs (docs/kpis.md): time to first useful action, incidents handled without a human, "
     "false remediation rate, escalation precision, rollback success — each with the counts it "
     "rests on.",
     "  --since T   incidents created since T: RFC 3339 or a duration back from now (7d);\n"
     "              default 30 days"},
    {"replay", fs_cmd_replay,
     "--since T [--until T] [--policy FILE] [--catalog FILE] [--playbooks DIR] "
     "[--planner playbook] [-c CONFIG] [--data-dir DIR] [-o text|json] [--limit N]",
     "Re-run the investigations recorded since T in shadow (docs/replay.md) under another "
     "policy, catalog or planner, against their recorded tool results, and print what would have "
     "changed: decisions that flip, actions and params that differ.",
     "  --since T        investigations that started since T: RFC 3339 or a duration back\n"
     "                   from now (7d); --until T ends the range (default now)\n"
     "  --policy FILE    judge with this policy (default: the configured one)\n"
     "  --catalog FILE   an operator catalog over the built-in one\n"
     "  --playbooks DIR  your playbooks over the built-in ones\n"
     "  --planner NAME   who investigates again: playbook (default)\n"
     "  -c FILE          configuration; the recorded store in its data_dir\n"
     "  --data-dir DIR   read the store of this data directory\n"
     "  --limit N        at most the N latest investigations (default 0: all)\n"
     "  -o FORMAT        text (default): a line per changed incident and a summary line;\n"
     "                   json: {\"summary\": {...}, \"incidents\": [...]}\n"
     "Reads the store only (a daemon may be running on it): nothing is written to it, no tool\n"
     "and no action runs. Exits 0 when it ran, whatever changed; 2 on a bad command line."},
    {"tool list", fs_cmd_tool_list, "[-o table|json]",
     "List the built-in tools an investigation may call (docs/tools.md); -o json prints the MCP "
     "tools/list result.",
     ""},
    {"tool call", fs_cmd_tool_call, "NAME [JSON-ARGS|-] [-c CONFIG] [--host HOST] [-o text|json]",
     "Run one tool here, as an investigation would (schema check, timeout, sanitizing, "
     "redaction, output cap), with the tool settings (tools.*) of the configuration.",
     "  NAME          a tool name (forestall tool list)\n"
     "  JSON-ARGS     the arguments as a JSON object, e.g. '{\"query\":\"up\"}'; - reads stdin;\n"
     "                default {}\n"
     "  -c FILE       configuration (tools.prometheus_url, tools.loki_url, tools.timeout, ...)\n"
     "  --host HOST   run host tools on HOST over ssh (tools.ssh_*) unless it is this machine\n"
     "  -o FORMAT     text (default): the result text; json: {text, structured, isError,\n"
     "                durationMs, truncated, redactions}\n"
     "Exits 0 when the tool ran, 3 when it ran and reported an error (isError: unreachable,\n"
     "not configured, the peer refused the query), 2 on a bad command line or arguments that\n"
     "do not match the tool's schema (the message names the argument), 1 otherwise."},
    {"mcp probe", fs_cmd_mcp_probe,
     "[--timeout D] [--connect-timeout D] [--backoff D] [--max-message SIZE] [--name NAME] "
     "[STEP...] (--url URL [--header 'Name: value']... | [--env NAME=VALUE]... [--cwd DIR] "
     "--stdio CMD [ARG...])",
     "Drive the MCP client against one server (for operators and tests): open it, run the steps "
     "in order on the same connection, print one JSON line per step and one with the "
     "connection's counters.",
     "  --url URL              a Streamable HTTP endpoint; --header adds a request header\n"
     "  --stdio CMD [ARG...]   a stdio server started with argv only (the rest of the line);\n"
     "                         its environment is --env's, or HOME LOGNAME PATH SHELL TERM USER\n"
     "  --timeout D            per call (default 30s); --connect-timeout D: start + initialize\n"
     "  --backoff D            first restart delay after the server crashed (default 500ms)\n"
     "Steps: --list (tools/list, every page), --call NAME [--args JSON] (tools/call; preceded\n"
     "by --parallel N: N calls at once), --ping, --wait-list-changed D (until the server says\n"
     "its tools changed, at most D), --sleep D.\n"
     "Exits 0 when every step succeeded (a tool result with isError counts as success), 1 when\n"
     "a step or the connection failed, 2 on a bad command line."},
    {"llm check", fs_cmd_llm_check, "[-c CONFIG] [--prompt TEXT] [-o text|json]",
     "Test the LLM configuration (llm.*, docs/llm.md): send one small request offering one "
     "harmless tool (host.fs_usage), and print the provider, endpoint, model, stop reason, "
     "tokens, attempts, latency and the answer.",
     "  -c FILE        configuration; FORESTALL_LLM_PROVIDER, FORESTALL_LLM_BASE_URL,\n"
     "                 FORESTALL_LLM_MODEL and FORESTALL_LLM_API_KEY override its llm.* keys\n"
     "  --prompt TEXT  the user message (default: one sentence, or a host.fs_usage call)\n"
     "  -o FORMAT      text (default) or json: {ok, provider, endpoint, model, stop_reason,\n"
     "                 input_tokens, output_tokens, attempts, latency_ms, content} or\n"
     "                 {ok: false, ..., error: {code, message}}\n"
     "A tool call in the answer is printed, never run. Exits 1 when the call fails (the message\n"
     "says why: credentials, unknown model, context too long, unreachable, ...)."},
    {"mcp add", fs_cmd_mcp_add,
     "NAME (--command CMD [--arg A]... [--env NAME=FORESTALL_VAR]... | --url URL "
     "[--header K=V]...) [--trust none|read_only_hints|listed] [--read-only TOOL]... "
     "[--map ACTION=TOOL]... [--disabled] [--replace] [--as NAME] [-c CONFIG] [--data-dir DIR]",
     "Register an MCP server (docs/mcp.md) in the configured store: a program speaking MCP on "
     "stdio, or a Streamable HTTP endpoint. Audited (mcp_server).",
     "  NAME            1-63 of a-z 0-9 _ -, starting with a letter or digit\n"
     "  --command CMD   stdio: the program (PATH is searched); --arg A adds an argument\n"
     "  --env NAME=REF  stdio: a variable for the server, REF FORESTALL_VAR (env:FORESTALL_VAR)\n"
     "                  or file:PATH: a reference, resolved only when the server starts\n"
     "  --url URL       http: the endpoint (http:// or https://, no credentials in it)\n"
     "  --header K=V    http: a header; V ending in env:FORESTALL_VAR or file:PATH is a\n"
     "                  reference (\"Authorization=Bearer env:FORESTALL_TOKEN\"); credential\n"
     "                  headers (Authorization, *token*, *key*, ...) must be references\n"
     "  --trust T       none (default): no remote tool is read-only; read_only_hints: believe\n"
     "                  the server's readOnlyHint; listed: only the --read-only tools\n"
     "  --read-only T   a tool usable by planners as read-only (implies --trust listed)\n"
     "  --map A=T       catalog action A runs remote tool T (targets of kind mcp)\n"
     "  --disabled      registered but not used (nor written to mcp.json)\n"
     "  --replace       redefine a server that exists\n"
     "  --as NAME       who, in the audit trail (default: the login name)\n"
     "Exits 2 when the definition is invalid (the message names the field), 1 when NAME exists\n"
     "without --replace or is declared in the configuration's mcp.servers."},
    {"mcp list", fs_cmd_mcp_list, "[-o table|json] [-c CONFIG] [--data-dir DIR]",
     "List the registered MCP servers: transport, enabled, trust, source (cli or config), "
     "pinned tools (approved, and waiting for approval) and endpoint.",
     "  -o json   [{name, transport, command, args, env, url, headers, enabled, trust,\n"
     "            read_only_tools, tool_mappings, source, created_at, updated_at,\n"
     "            pins: {approved, changed, new}}] (env and headers hold references)"},
    {"mcp remove", fs_cmd_mcp_remove, "NAME [--as NAME] [-c CONFIG] [--data-dir DIR]",
     "Remove an MCP server and its tool pins from the registry. Audited (mcp_server).",
     "A server declared in the configuration's mcp.servers is removed there instead."},
    {"mcp tools", fs_cmd_mcp_tools,
     "NAME [--refresh] [--approve TOOL | --approve-all] [--as NAME] [-o table|json] "
     "[-c CONFIG] [--data-dir DIR]",
     "List a server's pinned tools: status (approved, changed: disabled until approved again, "
     "new: never approved), the SHA-256 of the definition, who approved it and when.",
     "  --refresh       connect to the server first, list its tools and record their pins\n"
     "                  (new and changed definitions audited, mcp_tool)\n"
     "  --approve TOOL  approve the tool's current definition (needs --as)\n"
     "  --approve-all   approve every tool not approved yet (needs --as)\n"
     "  --as NAME       who approves, kept in the audit trail (mcp_tool approved)\n"
     "  -o json         {server, tools: [{tool, sha256, status, first_seen, last_seen,\n"
     "                  approved_by, approved_at, approved_sha256, definition}], approved,\n"
     "                  listed: [{tool, change}] with --refresh}"},
    {"mcp serve", fs_cmd_mcp_serve, "[-c CONFIG] [--data-dir DIR] [--incident inc-N]",
     "The MCP gateway over stdio (docs/mcp.md): forestall's read-only tools, and every catalog "
     "action as a tool action.NAME that becomes a proposal for the gate — run when it says "
     "execute, else \"pending approval prop-N\" or \"blocked: ...\".",
     "  --incident inc-N  bind the session to an incident: read-only calls are recorded as its\n"
     "                    observations, and action calls propose for it citing them\n"
     "One JSON-RPC message per line on stdin, one reply per line on stdout; diagnostics on\n"
     "stderr. Refuses to run when a daemon holds the data directory."},
    {"mcp config", fs_cmd_mcp_config, "[-o FILE] [-c CONFIG] [--data-dir DIR]",
     "Write a Claude Code compatible mcp.json for the enabled servers, plus forestall's own "
     "gateway (\"forestall\": this binary with mcp serve, and the same -c and --data-dir).",
     "  -o FILE   write FILE (mode 0600, replaced atomically); default: stdout\n"
     "Secret references are resolved now, from this environment and the referenced files: the\n"
     "output holds secret values. Exits 1, naming the server and field, when one cannot be."},
    {"runner run", fs_cmd_runner_run,
     "inc-N [-c CONFIG] [--data-dir DIR] [--max-turns N] [--wall-time S] [-o text|json]",
     "Investigate a recorded incident with Claude Code (docs/runner.md): run headless with "
     "forestall's gateway over stdio as its only MCP server, its reads recorded as observations "
     "and its action calls decided by the gate; the live trace goes to stderr, the outcome to "
     "stdout.",
     "  -c FILE          the configuration (runner.*: command, model, API key, budgets)\n"
     "  --data-dir DIR   override data_dir (no daemon may hold it: its gateway is stdio)\n"
     "  --max-turns N    override runner.max_turns\n"
     "  --wall-time S    override runner.wall_time (seconds, or a duration such as 5m)\n"
     "  -o FORMAT        text (default) or json: {incident, state, planner, proposal,\n"
     "                   decision, rootCause, summary, runner (turns, costUsd, durationMs,\n"
     "                   subtype, timedOut, calls, ...), childMaxRssKb, wallMs}\n"
     "Exits 0 when the run was recorded, whatever it found (look at state)."},
    {"runner manifest", fs_cmd_runner_manifest, "inc-N [-c CONFIG] [--data-dir DIR] [-o yaml|json]",
     "Print the Kubernetes batch/v1 Job that runs the same Claude Code investigation in a "
     "cluster (docs/runner.md): the gateway over HTTP, its API key and token from a Secret.",
     "  -c FILE          the configuration (runner.image, namespace, service_account, secret,\n"
     "                   gateway_url, active_deadline, ttl_after_finished)\n"
     "  -o FORMAT        yaml (default) or json\n"
     "Apply it with kubectl apply -f -; it never holds a secret's value."},
    {"config check", fs_cmd_config_check, "FILE",
     "Validate a configuration file; print every problem with file, line and key.",
     "Exit 0 when valid, 1 otherwise."},
    {"version", fs_cmd_version, "", "Print the version.", ""},
    {"docs", fs_cmd_docs, "config|api|cli|metrics|catalog|audit|tools|expressions|states",
     "Print a reference page (Markdown) generated from the code's own tables.", ""},
    {"help", fs_cmd_help, "[COMMAND...]", "Show the commands, or one command's help.", ""},
    {NULL, NULL, NULL, NULL, NULL},
};

/* Commands for operators and tests, left out of the `forestall --help` overview (they are in
 * docs/cli.md and `forestall help NAME`). */
static const char *const hidden_commands[] = {"tool list", "tool call", "mcp probe"};

static bool hidden(const struct fs_command *c)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(hidden_commands); i++)
        if (strcmp(c->name, hidden_commands[i]) == 0)
            return true;
    return false;
}

static const char *const exit_docs[][2] = {
#define FS_EXIT_DOC(e, v, doc) {#v, doc},
    FS_EXIT_CODES(FS_EXIT_DOC)
#undef FS_EXIT_DOC
};

int fs_cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("forestall: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int fs_cli_output_json(const char *arg, bool *json)
{
    /* "table" is the text form of the listing commands */
    if (strcmp(arg, "json") == 0)
        *json = true;
    else if (strcmp(arg, "text") == 0 || strcmp(arg, "table") == 0)
        *json = false;
    else
        return fs_cli_fail(FS_EXIT_USAGE, "-o: expected text or json"), -1;
    return 0;
}

int fs_cli_diag_fail(struct fs_buf *diag, const struct fs_err *err)
{
    fputs(diag->len ? fs_buf_str(diag) : err->msg, stderr);
    if (!diag->len)
        fputc('\n', stderr);
    fs_buf_release(diag);
    return FS_EXIT_FAILURE;
}

void fs_cli_diag_into(struct fs_buf *diag, struct fs_err *err)
{
    if (diag->len) {
        /* every problem, not only the first */
        snprintf(err->msg, sizeof(err->msg), "%s", fs_buf_str(diag));
        size_t n = strlen(err->msg);
        while (n && err->msg[n - 1] == '\n')
            err->msg[--n] = '\0';
    }
    fs_buf_release(diag);
}

static const struct fs_command *find(const char *name)
{
    for (const struct fs_command *c = fs_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

void fs_cli_usage(const char *name, bool full)
{
    const struct fs_command *c = find(name);
    FILE *f = full ? stdout : stderr;
    if (!c)
        return;
    fprintf(f, "usage: forestall %s%s%s\n", c->name, *c->usage ? " " : "", c->usage);
    if (full) {
        fprintf(f, "\n%s\n", c->summary);
        if (*c->help)
            fprintf(f, "\n%s\n", c->help);
    }
}

bool fs_cli_wants_help(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fs_cli_usage(name, true);
            return true;
        }
    }
    return false;
}

static void overview(FILE *f)
{
    fprintf(f, "forestall — an SRE agent that acts at the warning threshold\n\n"
               "usage: forestall COMMAND [ARGS]\n\ncommands:\n");
    for (const struct fs_command *c = fs_commands; c->name; c++)
        if (!hidden(c))
            fprintf(f, "  %-18s %s\n", c->name, c->summary);
    fprintf(f, "\n`forestall COMMAND --help` for a command's options. Exit codes:\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(exit_docs); i++)
        fprintf(f, "  %s  %s\n", exit_docs[i][0], exit_docs[i][1]);
}

int fs_cmd_help(int argc, char **argv)
{
    if (argc <= 1) {
        overview(stdout);
        return FS_EXIT_OK;
    }
    char name[128] = "";
    for (int i = 1; i < argc; i++)
        snprintf(name + strlen(name), sizeof(name) - strlen(name), "%s%s", i > 1 ? " " : "",
                 argv[i]);
    if (!find(name))
        return fs_cli_fail(FS_EXIT_USAGE, "no command \"%s\"", name);
    fs_cli_usage(name, true);
    return FS_EXIT_OK;
}

int fs_cli_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        overview(argc < 2 ? stderr : stdout);
        return argc < 2 ? FS_EXIT_USAGE : FS_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return fs_cmd_version(1, argv);
    /* longest match: "incidents list" before "incidents" */
    const struct fs_command *best = NULL;
    int words = 0;
    for (const struct fs_command *c = fs_commands; c->name; c++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", c->name);
        int n = 0;
        bool ok = true;
        char *save = NULL;
        for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            if (1 + n >= argc || strcmp(argv[1 + n], w) != 0) {
                ok = false;
                break;
            }
            n++;
        }
        if (ok && n > words) {
            best = c;
            words = n;
        }
    }
    if (!best) {
        /* a known group with a missing or unknown subcommand */
        bool group = false;
        for (const struct fs_command *c = fs_commands; c->name; c++) {
            size_t l = strlen(argv[1]);
            if (strncmp(c->name, argv[1], l) == 0 && c->name[l] == ' ') {
                if (!group)
                    fprintf(stderr, "forestall: \"%s\" needs a subcommand:\n", argv[1]);
                group = true;
                fprintf(stderr, "  forestall %s %s\n", c->name, c->usage);
            }
        }
        if (!group)
            fprintf(stderr, "forestall: unknown command \"%s\" (see forestall --help)\n", argv[1]);
        return FS_EXIT_USAGE;
    }
    /* the command sees argv[0] = its name, then its own arguments */
    int sub_argc = argc - words;
    char **sub_argv = argv + words;
    static char prog[160]; /* getopt names the program in its messages */
    snprintf(prog, sizeof(prog), "forestall %s", best->name);
    sub_argv[0] = prog;
    if (fs_cli_wants_help(sub_argc, sub_argv, best->name))
        return FS_EXIT_OK;
    return best->fn(sub_argc, sub_argv);
}

int fs_cli_doc_markdown(struct fs_buf *b)
{
    fs_buf_puts(b, "# Command-line reference\n\n"
                   "<!-- generated by `forestall docs cli` from the command table in "
                   "src/cli/cli.c; do not edit -->\n\n"
                   "One binary, `forestall`. Commands that talk to a running daemon find it "
                   "through `--url` or `FORESTALL_URL` (default `http://127.0.0.1:9797`) and "
                   "send `FORESTALL_TOKEN` as the bearer token when it is set.\n\n");
    for (const struct fs_command *c = fs_commands; c->name; c++) {
        fs_buf_printf(b, "## forestall %s\n\n```\nforestall %s%s%s\n```\n\n%s\n\n", c->name,
                      c->name, *c->usage ? " " : "", c->usage, c->summary);
        if (*c->help)
            fs_buf_printf(b, "```\n%s\n```\n\n", c->help);
        if (hidden(c))
            fs_buf_puts(b, "(For operators and tests; not listed by `forestall --help`.)\n\n");
    }
    fs_buf_puts(b, "## Exit codes\n\n| code | meaning |\n|---|---|\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(exit_docs); i++)
        fs_buf_printf(b, "| %s | %s |\n", exit_docs[i][0], exit_docs[i][1]);
    return 0;
}
