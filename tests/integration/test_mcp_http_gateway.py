"""The MCP gateway over Streamable HTTP at /mcp on the daemon's port, on a real incident (an
alert about a tmpfs below /var/log filled with journal files; the daemon's own dispatch is off so
that the MCP client is the one investigating): bearer tokens and roles, sessions (the
Mcp-Session-Id the initialize answer sets, 400 without one, 404 for an unknown or foreign one,
DELETE ending it), the MCP-Protocol-Version header, GET answered 405, a read-only call recorded
as evidence of the session's incident, an action call the gate passes run by the daemon's
executor (the journal shrinks) and answered with the execution's verdict, one held for
approval, one blocked; a token minted for one incident; and the MCP Inspector CLI, the official
client, driving /mcp."""
import json
import os
import subprocess

import lib
from lib import check, http_request, wait_for
from test_engine import AM_PATH, disk_alert, with_tmpfs
from test_mcp_gateway import inspector

TOKENS = """auth:
  tokens:
    - {name: agent-1, role: agent, token: {env: FORESTALL_T_AGENT}}
    - {name: agent-2, role: agent, token: {env: FORESTALL_T_AGENT2}}
    - {name: viewer-1, role: viewer, token: {env: FORESTALL_T_VIEWER}}
    - {name: root, role: admin, token: {env: FORESTALL_TOKEN}}
"""
ENV = {"FORESTALL_T_AGENT": "agent-secret-1", "FORESTALL_T_AGENT2": "agent-secret-2",
       "FORESTALL_T_VIEWER": "viewer-secret-1", "FORESTALL_TOKEN": "admin-secret-1"}
NO_DISPATCH = "dispatch: {enabled: false}\nexecutor: {max_verify_wait: 3s}\n"


class HttpClient:
    """A minimal Streamable HTTP MCP client: JSON-RPC over POST, the session header kept."""

    def __init__(self, url, token=None, version="2025-11-25"):
        self.url, self.token, self.version = url, token, version
        self.session, self.n = None, 0

    def headers(self):
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if self.session:
            h["Mcp-Session-Id"] = self.session
        if self.version and self.session:
            h["MCP-Protocol-Version"] = self.version
        return h

    def post(self, msg, headers=None):
        h = self.headers()
        h.update(headers or {})
        st, hdrs, body = http_request(self.url, "POST", json.dumps(msg).encode(), h, timeout=90)
        return st, hdrs, body.decode()

    def send(self, method, params=None, notify=False, expect=200):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        if not notify:
            self.n += 1
            msg["id"] = self.n
        st, hdrs, body = self.post(msg)
        check(st == expect, f"{method}: {st} {body[:400]}")
        if method == "initialize" and st == 200:
            self.session = hdrs.get("mcp-session-id")
            check(self.session and len(self.session) == 32, hdrs)
        return json.loads(body) if body else None

    def initialize(self):
        r = self.send("initialize", {"protocolVersion": self.version, "capabilities": {},
                                     "clientInfo": {"name": "http-test", "version": "1"}})
        self.send("notifications/initialized", notify=True, expect=202)
        return r

    def call(self, name, args):
        r = self.send("tools/call", {"name": name, "arguments": args})
        check("result" in r, r)
        return r["result"], r["result"]["content"][0]["text"]


def incident(d, fs):
    st, body = d.post(AM_PATH, disk_alert(fs.path))
    check(st == 200, body)
    return wait_for(lambda: (d.incidents() or [None])[0], 10, what="the incident")["id"]


@with_tmpfs
def test_http_gateway_sessions_tokens_and_the_gate(ctx, fs):
    d = ctx.daemon(config=TOKENS + NO_DISPATCH, env=ENV).start()
    inc = incident(d, fs)
    url = d.url + "/mcp"
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "x", "version": "1"}}}
    # who may use it: a token, with a role that may propose
    st, _, body = HttpClient(url).post(init)
    check(st == 401 and json.loads(body)["error"]["code"] == "unauthorized", (st, body))
    st, _, body = HttpClient(url, ENV["FORESTALL_T_VIEWER"]).post(init)
    check(st == 403 and json.loads(body)["error"]["code"] == "forbidden", (st, body))
    # no server-initiated stream: GET is 405 and says what is allowed
    st, hdrs, _ = http_request(url, "GET", None,
                                   {"Authorization": "Bearer " + ENV["FORESTALL_T_AGENT"],
                                    "Accept": "text/event-stream"})
    check(st == 405 and hdrs.get("allow") == "POST, DELETE", (st, hdrs))

    c = HttpClient(url + f"?incident={inc}", ENV["FORESTALL_T_AGENT"])
    r = c.initialize()
    check(r["result"]["protocolVersion"] == "2025-11-25" and
          r["result"]["serverInfo"]["name"] == "forestall", r)
    # the session is required, must exist, and belongs to whoever opened it
    sess = c.session
    c.session = None
    st, _, body = c.post({"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
    check(st == 400 and "Mcp-Session-Id" in body, (st, body))
    c.session = "0" * 32
    st, _, body = c.post({"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
    check(st == 404 and json.loads(body)["error"]["data"]["code"] == "not_found", (st, body))
    other = HttpClient(url, ENV["FORESTALL_T_AGENT2"])
    other.session = sess
    st, _, body = other.post({"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
    check(st == 404, f"another token used the session: {st} {body[:200]}")
    c.session = sess
    st, _, body = c.post({"jsonrpc": "2.0", "id": 9, "method": "ping"},
                         {"MCP-Protocol-Version": "1999-01-01"})
    check(st == 400 and "MCP-Protocol-Version" in body, (st, body))
    st, _, body = c.post({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": 5})
    e = json.loads(body)  # an invalid request: 400 with the JSON-RPC error for its id
    check(st == 400 and e["id"] == 9 and e["error"]["code"] == -32600, (st, body))

    tools = {t["name"] for t in c.send("tools/list")["result"]["tools"]}
    check("host.fs_usage" in tools and "action.journal_vacuum" in tools, sorted(tools)[:6])
    jdir = os.path.join(fs.path, "journal")
    res, text = c.call("host.journal_disk_usage", {"directory": jdir})
    check(not res["isError"] and "[recorded as obs-" in text, text)
    obs = text.rsplit("recorded as ", 1)[1].rstrip("]")
    st, _, body = http_request(d.url + f"/api/v1/incidents/{inc}/observations",
                               headers={"Authorization": "Bearer " + ENV["FORESTALL_T_AGENT"]})
    check(st == 200 and obs in body.decode(), body[:300])

    res, text = c.call("action.service_restart", {"params": {"unit": "demo-logs.service"},
                                                  "cited": [obs]})
    check(not res["isError"] and text.startswith("pending approval prop-"), text)
    res, text = c.call("action.journal_vacuum", {
        "params": {"directory": jdir, "max_size": "8M"}, "target": {"host": "elsewhere"},
        "cited": [obs]})
    check(res["isError"] and text.startswith("blocked:"), text)
    before = len(os.listdir(jdir))
    res, text = c.call("action.journal_vacuum", {
        "params": {"directory": jdir, "max_size": "8M", "below_pct": 80}, "cited": [obs]})
    check(not res["isError"] and text.startswith("executed prop-") and "succeeded" in text, text)
    check(len(os.listdir(jdir)) < before, "the daemon's executor did not vacuum the journal")

    # who did it is in the audit trail: the token's name and the MCP client's
    st, _, body = d.get("/api/v1/audit?format=jsonl&type=proposal", raw=True)
    recs = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
    props = [x for x in recs if x["type"] == "proposal"]
    check(props and all(x["actor"] == "agent-1 via mcp:http-test" for x in props),
          [x["actor"] for x in props])

    # DELETE ends the session
    st, _, _ = http_request(url, "DELETE", None, c.headers())
    check(st == 204, st)
    st, _, _ = c.post({"jsonrpc": "2.0", "id": 10, "method": "ping"})
    check(st == 404, st)
    d.stop()


@with_tmpfs
def test_inspector_cli_drives_the_http_gateway(ctx, fs):
    cli = inspector()
    if not cli:
        raise AssertionError("the MCP Inspector is not installed (scripts/bootstrap test "
                             "installs it under build/npm)")
    d = ctx.daemon(config=NO_DISPATCH).start()  # loopback without tokens
    inc = incident(d, fs)
    base = ["node", cli, "--cli", d.url + f"/mcp?incident={inc}", "--transport", "http"]

    def run(*args):
        r = subprocess.run(base + list(args), capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, r.stdout[-800:] + r.stderr[-800:])
        return json.loads(r.stdout)

    tools = [t["name"] for t in run("--method", "tools/list")["tools"]]
    check("host.load" in tools and "action.journal_vacuum" in tools, tools[:8])
    jdir = os.path.join(fs.path, "journal")
    res = run("--method", "tools/call", "--tool-name", "host.journal_disk_usage",
              "--tool-arg", f"directory={jdir}")
    t = res["content"][0]["text"]
    check(not res.get("isError") and "[recorded as obs-" in t, t)
    res = run("--method", "tools/call", "--tool-name", "action.journal_vacuum",
              "--tool-arg", 'params={"max_size": "lots"}')
    check(res.get("isError") and res["content"][0]["text"].startswith("blocked:"), res)
    d.stop()
