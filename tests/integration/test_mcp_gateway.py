"""The MCP gateway, `forestall mcp serve`, over stdio on a real incident (a tmpfs below /var/log
filled with journal files, recorded with `forestall investigate --no-execute`): the lifecycle,
tools/list with the read-only tools and one action.* tool per catalog action, a read-only call
recorded as an observation of the bound incident, an action call the gate passes that really
runs (the journal shrinks), one held for approval, one the gate blocks (a target outside the
incident) one with bad params and one
refused for want of an incident — each with the MCP result and isError a client acts
on; and the MCP Inspector CLI, the official client, driving the same gateway when installed."""
import json
import os
import subprocess

import lib
from lib import check, fill_journal
from test_engine import with_tmpfs
from test_llm_planner import alert_file


class Gateway:
    def __init__(self, ctx, data, *extra):
        self.p = subprocess.Popen([lib.BIN, "mcp", "serve", "--data-dir", data, *extra],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        ctx.track(self.p)
        self.n = 0

    def send(self, method, params=None, notify=False):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        if not notify:
            self.n += 1
            msg["id"] = self.n
        self.p.stdin.write(json.dumps(msg) + "\n")
        self.p.stdin.flush()
        if notify:
            return None
        reply = json.loads(self.p.stdout.readline())
        check(reply.get("id") == self.n, reply)
        return reply

    def call(self, name, args):
        r = self.send("tools/call", {"name": name, "arguments": args})
        check("result" in r, r)
        return r["result"], r["result"]["content"][0]["text"]

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)


def record_incident(ctx, fs):
    data = os.path.join(ctx.dir, "data")
    r = subprocess.run([lib.BIN, "investigate", "--data-dir", data, "--no-execute", "-o", "json",
                        alert_file(ctx, fs)], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, r.stderr)
    return data, json.loads(r.stdout.splitlines()[-1])["incident"]


@with_tmpfs
def test_gateway_lists_tools_records_reads_and_gates_actions(ctx, fs):
    data, inc = record_incident(ctx, fs)
    g = Gateway(ctx, data, "--incident", inc)
    init = g.send("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                 "clientInfo": {"name": "gateway-test", "version": "1"}})
    check(init["result"]["protocolVersion"] == "2025-11-25" and
          init["result"]["serverInfo"]["name"] == "forestall", init)
    g.send("notifications/initialized", notify=True)
    check(g.send("ping")["result"] == {}, "ping")
    tools = {t["name"]: t for t in g.send("tools/list")["result"]["tools"]}
    check("host.fs_usage" in tools and tools["host.fs_usage"]["annotations"]["readOnlyHint"],
          list(tools)[:5])
    check("action.journal_vacuum" in tools and
          not tools["action.journal_vacuum"]["annotations"]["readOnlyHint"], list(tools))
    check("max_size" in json.dumps(tools["action.journal_vacuum"]["inputSchema"]), "schema")

    # a read-only call runs and becomes evidence of the incident
    res, text = g.call("host.journal_disk_usage",
                       {"directory": os.path.join(fs.path, "journal")})
    check(not res["isError"] and "[recorded as obs-" in text, text)
    obs = text.rsplit("recorded as ", 1)[1].rstrip("]")

    # bad params: the gate's rule 2 blocks them, saying which
    res, text = g.call("action.journal_vacuum", {"params": {"max_size": "lots"}, "cited": [obs]})
    check(res["isError"] and text.startswith("blocked:") and "params.max_size" in text, text)
    # no incident to act for: refused before the gate
    g2 = Gateway(ctx, data + "-unbound")
    g2.send("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "unbound", "version": "1"}})
    res, text = g2.call("action.journal_vacuum", {"params": {"max_size": "8M"}})
    check(res["isError"] and text.startswith("refused:") and "incident" in text, text)
    g2.close()
    # a target outside the incident: the gate blocks it
    res, text = g.call("action.journal_vacuum", {
        "params": {"directory": os.path.join(fs.path, "journal"), "max_size": "8M"},
        "target": {"host": "somewhere-else"}, "cited": [obs]})
    check(res["isError"] and text.startswith("blocked:"), text)
    # a production service restart: held for a person
    res, text = g.call("action.service_restart", {"params": {"unit": "demo-logs.service"},
                                                  "cited": [obs]})
    check(not res["isError"] and text.startswith("pending approval prop-"), text)
    # what the gate passes runs now, and the journal shrinks
    before = sum(os.path.getsize(os.path.join(fs.path, "journal", f))
                 for f in os.listdir(os.path.join(fs.path, "journal")))
    res, text = g.call("action.journal_vacuum", {
        "params": {"directory": os.path.join(fs.path, "journal"), "max_size": "8M",
                   "below_pct": 80}, "cited": [obs]})
    check(not res["isError"] and text.startswith("executed prop-") and "succeeded" in text, text)
    after = sum(os.path.getsize(os.path.join(fs.path, "journal", f))
                for f in os.listdir(os.path.join(fs.path, "journal")))
    check(after < before, (before, after))
    # an unknown tool is an error result, an unknown method a JSON-RPC error
    res, text = g.call("shell.exec", {"cmd": "rm -rf /"})
    check(res["isError"], text)
    check(g.send("resources/list")["error"]["code"] == -32601, "method not found")
    g.close()
    # the audit chain holds the proposals and who made them
    cfg = os.path.join(ctx.dir, "audit.yaml")
    with open(cfg, "w") as f:
        f.write(f"data_dir: {data}\n")
    r = subprocess.run([lib.BIN, "audit", "export", "-c", cfg, "--format", "jsonl"],
                       capture_output=True, text=True)
    recs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    props = [x for x in recs if x["type"] == "proposal" and x["actor"] == "mcp:gateway-test"]
    check(len(props) >= 3, [x["type"] for x in recs])
    r = subprocess.run([lib.BIN, "audit", "verify", "-c", cfg], capture_output=True, text=True)
    check(r.returncode == 0, r.stdout + r.stderr)


def inspector():
    root = os.path.join(os.path.dirname(lib.BIN), "..", "npm")
    for base in (root, os.path.join(os.path.dirname(__file__), "..", "..", "build", "npm")):
        cli = os.path.join(base, "node_modules", "@modelcontextprotocol", "inspector", "cli",
                           "build", "cli.js")
        if os.path.exists(cli):
            return cli
    return None


@with_tmpfs
def test_inspector_cli_drives_the_gateway(ctx, fs):
    cli = inspector()
    if not cli:
        raise AssertionError("the MCP Inspector is not installed (scripts/bootstrap test "
                             "installs it under build/npm)")
    data, inc = record_incident(ctx, fs)
    base = ["node", cli, "--cli", lib.BIN, "mcp", "serve", "--data-dir", data, "--incident", inc]

    def run(*args):
        r = subprocess.run(base + list(args), capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, r.stdout[-800:] + r.stderr[-800:])
        return json.loads(r.stdout)

    def text(res):
        return res["content"][0]["text"], res.get("isError", False)

    tools = [t["name"] for t in run("--method", "tools/list")["tools"]]
    check("host.load" in tools and "action.journal_vacuum" in tools, tools[:8])
    jdir = os.path.join(fs.path, "journal")
    t, err = text(run("--method", "tools/call", "--tool-name", "host.journal_disk_usage",
                      "--tool-arg", f"directory={jdir}"))
    check(not err and "archived_bytes" in t and "[recorded as obs-" in t, t)
    obs = t.rsplit("recorded as ", 1)[1].rstrip("]")
    cited = json.dumps([obs])
    vacuum = json.dumps({"directory": jdir, "max_size": "8M", "below_pct": 80})
    t, err = text(run("--method", "tools/call", "--tool-name", "action.service_restart",
                      "--tool-arg", 'params={"unit": "demo-logs.service"}',
                      "--tool-arg", f"cited={cited}"))
    check(not err and t.startswith("pending approval prop-"), t)
    t, err = text(run("--method", "tools/call", "--tool-name", "action.journal_vacuum",
                      "--tool-arg", f"params={vacuum}", "--tool-arg",
                      'target={"host": "somewhere-else"}', "--tool-arg", f"cited={cited}"))
    check(err and t.startswith("blocked:"), t)
    t, err = text(run("--method", "tools/call", "--tool-name", "action.journal_vacuum",
                      "--tool-arg", f"params={vacuum}", "--tool-arg", f"cited={cited}"))
    check(not err and t.startswith("executed prop-") and "succeeded" in t, t)
