"""The MCP client (src/mcp) through `forestall mcp probe` against the real reference servers
from npm (installed at pinned versions into build/npm by scripts/bootstrap test):
server-everything over stdio and over Streamable HTTP bound to 127.0.0.1, server-memory over
stdio; and against standin_mcp.py, a stand-in server for what the reference servers cannot be
made to do on demand (crash mid-call, paginate, ping the client, write garbage, expire a
session)."""
import json
import os
import subprocess
import sys
import time

import lib
from lib import check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NPM = os.path.join(ROOT, "build", "npm", "node_modules", "@modelcontextprotocol")
EVERYTHING = os.path.join(NPM, "server-everything", "dist", "index.js")
MEMORY = os.path.join(NPM, "server-memory", "dist", "index.js")
STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin_mcp.py")
NODE = "/usr/bin/node"
PY = sys.executable or "/usr/bin/python3"

# Preloaded into server-everything's streamableHttp mode, which has no host option and binds
# every interface: every listen() on a bare port goes to 127.0.0.1 instead.
LOOPBACK_JS = r"""
const net = require('net');
const orig = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    const cb = args.find((a) => typeof a === 'function');
    return orig.call(this, { port: Number(args[0]), host: '127.0.0.1' }, cb);
  }
  if (args[0] && typeof args[0] === 'object' && args[0].path === undefined)
    args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
  return orig.apply(this, args);
};
"""


def skip(why):
    print(f"      skipped: {why}", flush=True)


def have_npm_servers():
    missing = [p for p in (NODE, EVERYTHING, MEMORY) if not os.path.exists(p)]
    if missing:
        skip(f"{missing[0]} is missing (scripts/bootstrap test installs the npm servers)")
        return False
    return True


def probe(*args, timeout=60, expect_rc=None):
    """Run `forestall mcp probe ARGS`; returns (exit code, steps by kind in order, stderr)."""
    r = subprocess.run([lib.BIN, "mcp", "probe", *args], capture_output=True, text=True,
                       timeout=timeout)
    steps = []
    for line in r.stdout.splitlines():
        try:
            steps.append(json.loads(line))
        except ValueError:
            raise lib.TestFailure(f"probe printed a line that is not JSON: {line!r}\n{r.stderr}")
    if expect_rc is not None:
        check(r.returncode == expect_rc,
              f"probe exited {r.returncode}, expected {expect_rc}:\n{r.stdout}\n{r.stderr}")
    for mark in lib.SANITIZER_MARKS:
        check(mark not in r.stderr, f"sanitizer report:\n{r.stderr[-4000:]}")
    return r.returncode, steps, r.stderr


def step(steps, kind, n=0):
    found = [s for s in steps if s.get("step") == kind]
    check(len(found) > n, f"no step {kind} #{n} in {steps}")
    return found[n]


def everything(*probe_args):
    return [*probe_args, "--stdio", NODE, EVERYTHING, "stdio"]


def standin(ctx, *probe_args, env=None):
    state = os.path.join(ctx.dir, "standin")
    os.makedirs(state, exist_ok=True)
    envs = ["--env", f"STANDIN_STATE={state}"]
    for k, v in (env or {}).items():
        envs += ["--env", f"{k}={v}"]
    return [*envs, *probe_args, "--stdio", PY, STANDIN, "stdio"], state


# ---- server-everything over stdio ---------------------------------------------------------------

def test_everything_stdio_lists_more_than_five_tools_in_one_page(ctx):
    if not have_npm_servers():
        return
    _, steps, _ = probe(*everything("--list"), expect_rc=0)
    opened, listed, info = step(steps, "open"), step(steps, "list"), step(steps, "info")
    check(opened["protocolVersion"] == "2025-11-25", opened)
    check(listed["ok"] and listed["count"] > 5, listed)
    check(listed["pages"] == 1, f"server-everything does not paginate: {listed}")
    check({"echo", "get-sum", "trigger-long-running-operation"} <= set(listed["tools"]), listed)
    check(info["serverName"] == "mcp-servers/everything" and info["toolsListChanged"], info)


def test_everything_stdio_echo_returns_the_message(ctx):
    if not have_npm_servers():
        return
    _, steps, _ = probe(*everything("--call", "echo", "--args",
                                    '{"message":"hello from forestall"}',
                                    "--call", "get-sum", "--args", '{"a":2,"b":40}'),
                        expect_rc=0)
    echo, total = step(steps, "call", 0), step(steps, "call", 1)
    check(echo["ok"] and not echo["isError"] and echo["text"] == "Echo: hello from forestall",
          echo)
    check(total["ok"] and "42" in total["text"], total)


def test_everything_stdio_unknown_tool_is_an_is_error_result(ctx):
    if not have_npm_servers():
        return
    rc, steps, _ = probe(*everything("--call", "no-such-tool"))
    call = step(steps, "call")
    check(rc == 0 and call["ok"] and call["isError"], call)
    check("no-such-tool" in call["text"] and "not found" in call["text"], call)


def test_everything_stdio_list_changed_after_initialized_is_seen_and_relisted(ctx):
    if not have_npm_servers():
        return
    # this version registers its capability-dependent tools after notifications/initialized
    # and says so with notifications/tools/list_changed
    _, steps, _ = probe(*everything("--wait-list-changed", "5s", "--list"), expect_rc=0)
    seen = step(steps, "list_changed")
    check(seen["seen"], f"server-everything 2026.8.31 emits list_changed: {steps}")
    check(step(steps, "info")["notifications"] >= 1, steps)
    check("simulate-research-query" in step(steps, "list")["tools"], steps)


def test_everything_stdio_long_running_call_is_cancelled_at_its_timeout(ctx):
    if not have_npm_servers():
        return
    t0 = time.monotonic()
    rc, steps, _ = probe(*everything(
        "--timeout", "1s",
        "--call", "trigger-long-running-operation", "--args", '{"duration":4,"steps":4}',
        "--sleep", "4s", "--call", "echo", "--args", '{"message":"still here"}'))
    slow, echo, info = step(steps, "call", 0), step(steps, "call", 1), step(steps, "info")
    check(rc == 1 and not slow["ok"] and slow["error"]["code"] == "timeout", slow)
    check("1000 ms" in slow["error"]["message"] and "cancelled" in slow["error"]["message"],
          slow)
    check(echo["ok"] and echo["text"] == "Echo: still here", echo)
    # the server honoured notifications/cancelled: it never sent the late result
    check(info["lateResponses"] == 0 and info["crashes"] == 0, info)
    check(time.monotonic() - t0 < 15, "took too long")


def test_everything_stdio_ping(ctx):
    if not have_npm_servers():
        return
    _, steps, _ = probe(*everything("--ping", "--ping"), expect_rc=0)
    check(step(steps, "ping", 1)["ok"], steps)


# ---- server-everything over Streamable HTTP ------------------------------------------------------

def start_everything_http(ctx):
    pre = os.path.join(ctx.dir, "loopback.cjs")
    with open(pre, "w") as f:
        f.write(LOOPBACK_JS)
    port = lib.free_port()
    log = os.path.join(ctx.dir, "everything-http.log")
    env = {"PATH": "/usr/bin:/bin", "HOME": ctx.dir, "PORT": str(port)}
    proc = subprocess.Popen([NODE, "--require", pre, EVERYTHING, "streamableHttp"],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env,
                            cwd=ctx.dir)
    ctx.track(proc)

    def listening():
        if proc.poll() is not None:
            raise lib.TestFailure(f"server-everything exited:\n{open(log).read()}")
        return "listening on port" in open(log).read()

    lib.wait_for(listening, 20, what="server-everything streamableHttp")
    return proc, port, log


def test_everything_http_binds_loopback_only_uses_a_session_sse_and_a_get_stream(ctx):
    if not have_npm_servers():
        return
    proc, port, log = start_everything_http(ctx)
    ss = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    addrs = [ln.split()[3] for ln in ss.stdout.splitlines() if ln.strip()]
    check(addrs and all(a == f"127.0.0.1:{port}" for a in addrs),
          f"server-everything must listen on 127.0.0.1 only: {addrs}")
    url = f"http://127.0.0.1:{port}/mcp"
    _, steps, _ = probe("--wait-list-changed", "5s", "--list",
                        "--call", "echo", "--args", '{"message":"over http"}',
                        "--call", "get-structured-content", "--args", '{"location":"Chicago"}',
                        "--call", "no-such-tool", "--ping", "--url", url, expect_rc=0)
    opened, info = step(steps, "open"), step(steps, "info")
    check(opened["sessionId"] and opened["sessionId"] == info["sessionId"], (opened, info))
    # the standalone GET stream was open before notifications/initialized: the list_changed
    # the server sends right after it arrives there
    check(info["listening"] and step(steps, "list_changed")["seen"], steps)
    check(step(steps, "list")["count"] > 5, steps)
    check(step(steps, "call", 0)["text"] == "Echo: over http", steps)
    sc = step(steps, "call", 1)
    check(sc["ok"] and set(sc["structured"]) >= {"temperature", "conditions", "humidity"}, sc)
    check(step(steps, "call", 2)["isError"], steps)
    # every answer came as an event stream; the session was ended with DELETE at close
    check(info["sseEvents"] >= 6, info)
    lib.wait_for(lambda: "session termination request for session " + info["sessionId"]
                 in open(log).read(), 5, what="the DELETE of the session")


# ---- server-memory over stdio -------------------------------------------------------------------

def test_memory_stdio_creates_an_entity_and_reads_it_back(ctx):
    if not have_npm_servers():
        return
    mem = os.path.join(ctx.dir, "memory.jsonl")
    env = ["--env", f"MEMORY_FILE_PATH={mem}", "--env", "PATH=/usr/bin:/bin"]
    entity = {"name": "web-1", "entityType": "host", "observations": ["disk /var 91% full"]}
    _, steps, _ = probe(*env, "--call", "create_entities", "--args",
                        json.dumps({"entities": [entity]}),
                        "--call", "open_nodes", "--args", '{"names":["web-1"]}',
                        "--stdio", NODE, MEMORY, expect_rc=0)
    created, opened = step(steps, "call", 0), step(steps, "call", 1)
    check(created["ok"] and not created["isError"], created)
    got = opened["structured"]["entities"]
    check(len(got) == 1 and got[0]["name"] == "web-1"
          and got[0]["observations"] == ["disk /var 91% full"], opened)
    # a new server process reads it back from its file
    _, steps, _ = probe(*env, "--call", "search_nodes", "--args", '{"query":"disk"}',
                        "--stdio", NODE, MEMORY, expect_rc=0)
    found = step(steps, "call")["structured"]["entities"]
    check([e["name"] for e in found] == ["web-1"], found)


# ---- the stand-in: what the reference servers will not do on demand --------------------------

def test_standin_crash_mid_call_fails_clearly_and_next_call_restarts_it(ctx):
    args, state = standin(ctx, "--timeout", "10s", "--backoff", "200ms",
                          "--call", "crash", "--args", '{"code":3}', "--call", "starts")
    t0 = time.monotonic()
    rc, steps, err = probe(*args)
    crashed, again, info = step(steps, "call", 0), step(steps, "call", 1), step(steps, "info")
    check(rc == 1 and not crashed["ok"] and crashed["error"]["code"] == "io_error", crashed)
    msg = crashed["error"]["message"]
    check("exited (exit code 3)" in msg and "crashing on purpose" in msg, msg)
    check(again["ok"] and again["text"] == "2", f"the next call restarts it: {again}")
    check(info["starts"] == 2 and info["crashes"] == 1, info)
    check(time.monotonic() - t0 < 8, "the crashed call must fail at once, not at its timeout")
    check("mcp server exited" in err and "mcp server restarted" in err, err)


def test_standin_answers_the_servers_ping_and_refuses_sampling(ctx):
    args, _ = standin(ctx, "--call", "ask_client")
    _, steps, _ = probe(*args, expect_rc=0)
    got = json.loads(step(steps, "call")["text"])
    check(got["ping"]["result"] == {} and got["ping"]["id"] == "srv-1", got)
    check(got["sampling"]["error"]["code"] == -32601 and got["sampling"]["id"] == "srv-2", got)
    check(step(steps, "info")["serverRequests"] == 2, steps)


def test_standin_paginated_list_follows_every_cursor_and_skips_tools_over_the_limits(ctx):
    args, _ = standin(ctx, "--list", env={"STANDIN_PAGE": "2"})
    _, steps, _ = probe(*args, expect_rc=0)
    listed = step(steps, "list")
    check(listed["pages"] == 7 and listed["count"] == 11 and listed["skipped"] == 3, listed)
    for bad in ("bad name!", "no_schema", "long_description"):
        check(bad not in listed["tools"], listed)


def test_standin_timeout_sends_notifications_cancelled_with_the_request_id(ctx):
    args, state = standin(ctx, "--timeout", "1s", "--call", "sleep", "--args",
                          '{"seconds":2}', "--sleep", "1500ms", "--call", "cancellations")
    _, steps, _ = probe(*args)
    slow, cancelled = step(steps, "call", 0), step(steps, "call", 1)
    check(slow["error"]["code"] == "timeout", slow)
    # initialize was request 1, the sleep request 2: the cancellation names it
    check(cancelled["text"] == "2", cancelled)
    # the stand-in answers anyway, late: that answer is dropped
    check(step(steps, "info")["lateResponses"] == 1, steps)


def test_standin_concurrent_calls_run_at_once_on_one_client(ctx):
    args, _ = standin(ctx, "--parallel", "8", "--call", "sleep", "--args", '{"seconds":1}',
                      "--parallel", "16", "--call", "echo", "--args", '{"message":"p"}')
    t0 = time.monotonic()
    _, steps, _ = probe(*args, expect_rc=0)
    took = time.monotonic() - t0
    calls = [s for s in steps if s.get("step") == "call"]
    check(len(calls) == 24 and all(c["ok"] for c in calls), calls)
    check(sum(c["text"] == "slept" for c in calls) == 8, calls)
    check(sum(c["text"] == "echo: p" for c in calls) == 16, calls)
    check(took < 5, f"8 one-second calls took {took:.1f}s: not concurrent")


def test_standin_garbage_is_dropped_and_counted_and_the_call_still_answers(ctx):
    args, _ = standin(ctx, "--call", "garbage", "--call", "echo", "--args", '{"message":"ok"}')
    _, steps, _ = probe(*args, expect_rc=0)
    check(step(steps, "call", 0)["text"] == "after garbage", steps)
    check(step(steps, "call", 1)["text"] == "echo: ok", steps)
    info = step(steps, "info")
    # not JSON, jsonrpc 1.0, a batch: invalid; the unknown server request got -32601
    check(info["invalidMessages"] == 3 and info["serverRequests"] == 1, info)


def test_standin_overlong_line_stops_the_server_with_a_clear_error(ctx):
    args, _ = standin(ctx, "--max-message", "64KiB", "--backoff", "100ms",
                      "--call", "huge", "--args", '{"bytes":200000}',
                      "--call", "echo", "--args", '{"message":"after"}')
    _, steps, _ = probe(*args)
    huge, echo = step(steps, "call", 0), step(steps, "call", 1)
    check(not huge["ok"] and "longer than 65536 bytes" in huge["error"]["message"], huge)
    check(echo["ok"] and echo["text"] == "echo: after", echo)


def test_standin_protocol_versions(ctx):
    args, _ = standin(ctx, "--ping", env={"STANDIN_PROTOCOL": "2025-06-18"})
    _, steps, _ = probe(*args, expect_rc=0)
    check(step(steps, "open")["protocolVersion"] == "2025-06-18", steps)
    args, _ = standin(ctx, "--ping", env={"STANDIN_PROTOCOL": "2024-11-05"})
    _, steps, _ = probe(*args, expect_rc=1)
    err = step(steps, "open")["error"]
    check(err["code"] == "protocol_error" and "2024-11-05" in err["message"], err)


def start_standin_http(ctx, sse):
    state = os.path.join(ctx.dir, "standin-http")
    os.makedirs(state, exist_ok=True)
    port = lib.free_port()
    env = {"PATH": "/usr/bin:/bin", "STANDIN_STATE": state,
           "STANDIN_SSE": sse if isinstance(sse, str) else ("1" if sse else "0")}
    log = os.path.join(ctx.dir, "standin-http.log")
    proc = subprocess.Popen([PY, STANDIN, "http", str(port)], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, env=env)
    ctx.track(proc)
    lib.wait_for(lambda: "listening" in open(log).read(), 10, what="standin_mcp http")
    return f"http://127.0.0.1:{port}/mcp", state


def http_log(state):
    with open(os.path.join(state, "http")) as f:
        return [json.loads(line) for line in f]


def test_standin_http_sse_headers_and_session_renewed_after_404(ctx):
    url, state = start_standin_http(ctx, sse=True)
    _, steps, _ = probe("--header", "Authorization: Bearer standin-token",
                        "--list", "--call", "expire_session",
                        "--call", "echo", "--args", '{"message":"a\\nb"}', "--url", url,
                        expect_rc=0)
    check(step(steps, "call", 1)["text"] == "echo: a\nb", steps)
    info = step(steps, "info")
    check(info["starts"] == 2 and info["sseEvents"] > 0, info)
    reqs = http_log(state)
    inits = [r for r in reqs if r["method"] == "initialize"]
    check(len(inits) == 2 and all(r["session"] is None and r["version"] is None for r in inits),
          reqs)
    later = [r for r in reqs if r["method"] != "initialize"]
    check(all(r["session"] and r["version"] == "2025-11-25" for r in later), reqs)
    with open(os.path.join(state, "deleted")) as f:
        check(f.read().strip() == info["sessionId"], "DELETE of the last session")


def test_standin_http_plain_json_answers(ctx):
    url, _ = start_standin_http(ctx, sse=False)
    _, steps, _ = probe("--list", "--call", "fail", "--url", url, expect_rc=0)
    check(step(steps, "list")["pages"] == 7, steps)
    failed = step(steps, "call")
    check(failed["isError"] and failed["text"] == "it failed on purpose", failed)
    info = step(steps, "info")
    check(info["sseEvents"] == 0, info)
    check(not info["listening"], f"the stand-in answers GET with 405: {info}")


def test_standin_http_stream_cut_before_the_answer_is_resumed_with_last_event_id(ctx):
    url, state = start_standin_http(ctx, sse="resume")
    _, steps, _ = probe("--call", "echo", "--args", '{"message":"resumed"}', "--url", url,
                        expect_rc=0)
    check(step(steps, "call")["text"] == "echo: resumed", steps)
    with open(os.path.join(state, "resumed")) as f:
        check(f.read().split() == ["r1"], "one GET with Last-Event-ID: r1")
