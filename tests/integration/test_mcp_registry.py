"""The MCP server registry through the CLI (docs/mcp.md): `forestall mcp add|list|remove|tools|
config` on the configured store, validation errors that name the field, the configuration's
mcp.servers loaded next to servers added by hand, the Claude Code mcp.json (its shape, mode
0600, secret references resolved only there) and the audit records of every change."""
import json
import os
import stat
import subprocess

import lib
from lib import check


def setup(ctx, servers=""):
    """A config file whose data_dir is inside the test directory, optionally with mcp.servers."""
    path = os.path.join(ctx.dir, "forestall.yaml")
    with open(path, "w") as f:
        f.write(f"data_dir: {os.path.join(ctx.dir, 'data')}\n")
        if servers:
            f.write("mcp:\n  servers:\n" + servers)
    return path


def mcp(cfg, *args, env=None, expect=0):
    e = {k: v for k, v in os.environ.items() if not k.startswith("FORESTALL_")}
    e.update(env or {})
    r = subprocess.run([lib.BIN, "mcp", *args, "-c", cfg], capture_output=True, text=True, env=e,
                       timeout=30)
    for mark in lib.SANITIZER_MARKS:
        check(mark not in r.stderr, f"mcp {' '.join(args)}: {r.stderr}")
    if expect is not None:
        check(r.returncode == expect,
              f"mcp {' '.join(args)}: exit {r.returncode}, expected {expect}: {r.stderr}")
    return r


def listing(cfg):
    return {s["name"]: s for s in json.loads(mcp(cfg, "list", "-o", "json").stdout)}


def audit(cfg):
    r = subprocess.run([lib.BIN, "audit", "export", "-c", cfg, "--type", "mcp_server,mcp_tool"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"audit export: {r.stderr}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_add_list_remove_with_audit(ctx):
    cfg = setup(ctx)
    r = mcp(cfg, "add", "prom", "--command", "/usr/local/bin/prom-mcp", "--arg", "--read-only",
            "--arg", "-v", "--env", "PROM_TOKEN=FORESTALL_PROM_TOKEN", "--read-only", "query",
            "--map", "restart_service=restart", "--as", "alice")
    check("added MCP server prom" in r.stdout, r.stdout)
    mcp(cfg, "add", "remote", "--url", "https://mcp.example.com/mcp", "--header",
        "Authorization=Bearer env:FORESTALL_MCP_TOKEN", "--header", "X-Team=sre", "--trust",
        "read_only_hints", "--disabled", "--as", "alice")
    servers = listing(cfg)
    check(sorted(servers) == ["prom", "remote"], f"list: {sorted(servers)}")
    prom, remote = servers["prom"], servers["remote"]
    check(prom["transport"] == "stdio" and prom["command"] == "/usr/local/bin/prom-mcp"
          and prom["args"] == ["--read-only", "-v"], f"prom: {prom}")
    check(prom["env"] == {"PROM_TOKEN": {"env": "FORESTALL_PROM_TOKEN"}}, f"prom env: {prom}")
    check(prom["trust"] == "listed" and prom["read_only_tools"] == ["query"], f"prom: {prom}")
    check(prom["tool_mappings"] == {"restart_service": "restart"}, f"prom: {prom}")
    check(prom["source"] == "cli" and prom["enabled"] is True, f"prom: {prom}")
    check(remote["transport"] == "http" and remote["url"] == "https://mcp.example.com/mcp"
          and remote["enabled"] is False and remote["trust"] == "read_only_hints", f"{remote}")
    check(remote["headers"] == {"Authorization": {"env": "FORESTALL_MCP_TOKEN",
                                                  "prefix": "Bearer "}, "X-Team": "sre"},
          f"remote headers: {remote['headers']}")
    text = mcp(cfg, "list").stdout
    check("prom" in text and "https://mcp.example.com/mcp" in text and "config" not in text,
          f"text listing: {text}")

    # an existing name needs --replace; the replacement is audited as a change
    r = mcp(cfg, "add", "prom", "--command", "other", expect=1)
    check("exists" in r.stderr and "--replace" in r.stderr, r.stderr)
    mcp(cfg, "add", "prom", "--command", "/usr/local/bin/prom-mcp", "--replace", "--as", "bob")
    check(listing(cfg)["prom"]["args"] == [], "the replaced definition is not the stored one")

    r = mcp(cfg, "remove", "remote", "--as", "carol")
    check("removed MCP server remote" in r.stdout, r.stdout)
    check(sorted(listing(cfg)) == ["prom"], "remote was not removed")
    r = mcp(cfg, "remove", "remote", expect=1)
    check("no MCP server remote" in r.stderr, r.stderr)

    recs = audit(cfg)
    got = [(a["type"], a["data"]["event"], a["data"]["server"], a["actor"]) for a in recs]
    want = [("mcp_server", "added", "prom", "alice"), ("mcp_server", "added", "remote", "alice"),
            ("mcp_server", "changed", "prom", "bob"), ("mcp_server", "removed", "remote", "carol")]
    check(got == want, f"audit records: {got}")
    check(recs[2]["data"]["previous"]["args"] == ["--read-only", "-v"], f"{recs[2]}")
    # the chain with the new record types verifies
    r = subprocess.run([lib.BIN, "audit", "verify", "-c", cfg], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 0, f"audit verify: {r.stdout}{r.stderr}")


def test_validation_errors_name_the_field(ctx):
    cfg = setup(ctx)
    cases = [
        (["add", "Prom", "--command", "x"], "name"),
        (["add", "forestall", "--command", "x"], "name"),
        (["add", "a", "--url", "ftp://h/mcp"], "url"),
        (["add", "a", "--url", "https://user:pw@h/mcp"], "url"),
        (["add", "a", "--url", "https://h/mcp", "--header", "Authorization=Bearer abc"],
         "headers.Authorization"),
        (["add", "a", "--url", "https://h/mcp", "--header", "Mcp-Session-Id=1"],
         "Mcp-Session-Id"),
        (["add", "a", "--command", "x", "--env", "TOKEN=HOME"], "env.TOKEN.env"),
        (["add", "a", "--command", "x", "--trust", "everything"], "trust"),
        (["add", "a", "--command", "x", "--trust", "none", "--read-only", "q"],
         "read_only_tools"),
        (["add", "a", "--command", "x", "--map", "Restart=r"], "tool_mappings.Restart"),
    ]
    for args, field in cases:
        r = mcp(cfg, *args, expect=2)
        check(field in r.stderr, f"{args}: the error does not name {field}: {r.stderr!r}")
    for args, needle in ((["add", "a"], "--command"),
                         (["add", "a", "--command", "x", "--url", "https://h/"], "exclude"),
                         (["add", "a", "--command", "x", "--env", "NOEQUALS"], "--env")):
        r = mcp(cfg, *args, expect=2)
        check(needle in r.stderr, f"{args}: {r.stderr!r}")
    check(listing(cfg) == {}, "a refused definition was stored")
    check(audit(cfg) == [], "a refused definition was audited")


def test_config_declared_servers(ctx):
    token = os.path.join(ctx.dir, "token")
    with open(token, "w") as f:
        f.write("file-secret-123\n")
    cfg = setup(ctx, "    - name: everything\n"
                     "      command: npx\n"
                     "      args: [-y, \"@modelcontextprotocol/server-everything\"]\n"
                     "      env: {API_KEY: {file: token}}\n"
                     "    - name: remote\n"
                     "      url: http://127.0.0.1:3001/mcp\n"
                     "      headers: {Authorization: {env: FORESTALL_TOK, prefix: \"Bearer \"}}\n"
                     "      trust: read_only_hints\n")
    mcp(cfg, "add", "mine", "--command", "/bin/true", "--as", "alice")
    servers = listing(cfg)
    check(sorted(servers) == ["everything", "mine", "remote"], f"list: {sorted(servers)}")
    check(servers["everything"]["source"] == "config" and servers["mine"]["source"] == "cli",
          f"sources: {servers}")
    # a relative {file:} is relative to the config file, and nothing was read
    check(servers["everything"]["env"] == {"API_KEY": {"file": token}}, f"{servers}")
    check(servers["remote"]["trust"] == "read_only_hints", f"{servers['remote']}")
    # the configuration's servers are changed there, not here
    r = mcp(cfg, "remove", "everything", expect=1)
    check("mcp.servers" in r.stderr, r.stderr)
    r = mcp(cfg, "add", "remote", "--url", "http://elsewhere/", "--replace", expect=1)
    check("mcp.servers" in r.stderr, r.stderr)
    # loading them again changes nothing
    before = audit(cfg)
    listing(cfg)
    check(audit(cfg) == before, "an unchanged configuration was audited again")
    check([(a["actor"], a["data"]["server"]) for a in before]
          == [("config", "everything"), ("config", "remote"), ("alice", "mine")],
          f"audit: {before}")
    # a bad mcp.servers names file, line and key
    bad = os.path.join(ctx.dir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("mcp:\n  servers:\n    - name: x\n      url: https://h/\n"
                "      headers: {X-Api-Key: \"abc\"}\n")
    r = subprocess.run([lib.BIN, "config", "check", bad], capture_output=True, text=True)
    check(r.returncode == 1 and f"{bad}:5:" in r.stderr
          and "mcp.servers[0].headers" in r.stderr and "X-Api-Key" in r.stderr, r.stderr)


def test_mcp_json(ctx):
    cfg = setup(ctx)
    secret_file = os.path.join(ctx.dir, "ca-token")
    with open(secret_file, "w") as f:
        f.write("from-file-456\n")
    mcp(cfg, "add", "prom", "--command", "/usr/local/bin/prom-mcp", "--arg", "--read-only",
        "--env", "PROM_TOKEN=FORESTALL_PROM_TOKEN", "--env", f"CA_TOKEN=file:{secret_file}")
    mcp(cfg, "add", "remote", "--url", "https://mcp.example.com/mcp", "--header",
        "Authorization=Bearer env:FORESTALL_MCP_TOKEN", "--header", "X-Team=sre")
    mcp(cfg, "add", "off", "--command", "x", "--env", "T=FORESTALL_NOT_SET", "--disabled")
    out = os.path.join(ctx.dir, "mcp.json")
    env = {"FORESTALL_PROM_TOKEN": "prom-secret-789", "FORESTALL_MCP_TOKEN": "http-secret-012"}

    # a reference that cannot be resolved names the server and the field; nothing is written
    r = mcp(cfg, "config", "-o", out, env={"FORESTALL_PROM_TOKEN": "x"}, expect=1)
    check("remote.headers.Authorization" in r.stderr and "FORESTALL_MCP_TOKEN" in r.stderr,
          r.stderr)
    check(not os.path.exists(out), "a failed mcp config left a file")

    with open(out, "w") as f:  # an existing file with a wider mode is replaced, not reused
        f.write("{}")
    os.chmod(out, 0o644)
    r = mcp(cfg, "config", "-o", out, env=env)
    check(stat.S_IMODE(os.stat(out).st_mode) == 0o600,
          f"mcp.json mode {oct(stat.S_IMODE(os.stat(out).st_mode))}")
    with open(out) as f:
        doc = json.load(f)
    check(list(doc) == ["mcpServers"], f"top level: {list(doc)}")
    servers = doc["mcpServers"]
    check(sorted(servers) == ["forestall", "prom", "remote"], f"servers: {sorted(servers)}")
    check(servers["prom"] == {"command": "/usr/local/bin/prom-mcp", "args": ["--read-only"],
                              "env": {"PROM_TOKEN": "prom-secret-789",
                                      "CA_TOKEN": "from-file-456"}}, f"prom: {servers['prom']}")
    check(servers["remote"] == {"type": "http", "url": "https://mcp.example.com/mcp",
                                "headers": {"Authorization": "Bearer http-secret-012",
                                            "X-Team": "sre"}}, f"remote: {servers['remote']}")
    gw = servers["forestall"]
    check(gw["command"] == lib.BIN and gw["args"][:2] == ["mcp", "serve"], f"gateway: {gw}")
    check(os.path.samefile(gw["args"][gw["args"].index("-c") + 1], cfg), f"gateway: {gw}")

    # stdout without -o; the secrets never reach the store or the audit trail
    r = mcp(cfg, "config", env=env)
    check(json.loads(r.stdout)["mcpServers"]["prom"]["env"]["PROM_TOKEN"] == "prom-secret-789",
          r.stdout)
    data = os.path.join(ctx.dir, "data")
    for name in os.listdir(data):
        with open(os.path.join(data, name), "rb") as f:
            blob = f.read()
        for secret in (b"prom-secret-789", b"http-secret-012", b"from-file-456"):
            check(secret not in blob, f"{secret!r} was written to {name}")
    check(all("secret" not in json.dumps(a) for a in audit(cfg)), "a secret in the audit trail")


def test_tools_listing_and_approval_rules(ctx):
    cfg = setup(ctx)
    mcp(cfg, "add", "ev", "--command", "server-everything")
    r = mcp(cfg, "tools", "ev")
    check("no tools pinned for ev" in r.stdout, r.stdout)
    got = json.loads(mcp(cfg, "tools", "ev", "-o", "json").stdout)
    check(got == {"server": "ev", "tools": [], "approved": []}, f"{got}")
    r = mcp(cfg, "tools", "ev", "--approve-all", expect=2)
    check("--as" in r.stderr, r.stderr)
    r = mcp(cfg, "tools", "ev", "--approve", "echo", "--as", "alice", expect=1)
    check("no pinned tool echo" in r.stderr, r.stderr)
    r = mcp(cfg, "tools", "nope", expect=1)
    check("no MCP server nope" in r.stderr, r.stderr)
