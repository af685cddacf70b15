"""The safety core through the daemon: proposals judged by the gate from what forestall knows,
approvals bound to roles, identities and the action hash, FORCE_OVERRIDE for critical incidents,
expiry, the kill switch and runtime modes, all recorded in a verifiable audit chain — over HTTP
with bearer tokens and through the CLI."""
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess

import lib
from lib import am_alert, am_webhook, check, wait_for

AM = "/api/v1/alerts/alertmanager"
TOKENS = {"alice": ("approver", "tok-alice-0123456789"), "bob": ("overrider", "tok-bob-0123456789"),
          "planner": ("agent", "tok-planner-0123456789"), "vera": ("viewer", "tok-vera-0123456789"),
          "root": ("admin", "tok-root-0123456789")}


# These tests drive the gate, approvals and the audit trail by hand: the daemon's own
# investigations and executor stay off so that every record is one the test made
# (test_engine.py and test_executor.py cover them).
ENGINE_OFF = "dispatch: {enabled: false}\nexecutor: {enabled: false}\n"


def _config(extra=""):
    lines = ["auth:", "  tokens:"]
    for name, (role, _) in TOKENS.items():
        lines.append(f"    - {{name: {name}, role: {role}, "
                     f"token: {{env: FORESTALL_TOKEN_{name.upper()}}}}}")
    return ENGINE_OFF + "\n".join(lines) + "\n" + extra


def _env():
    e = {f"FORESTALL_TOKEN_{n.upper()}": t for n, (_, t) in TOKENS.items()}
    e["FORESTALL_TOKEN"] = TOKENS["root"][1]  # the harness's own requests (d.get, d.incidents)
    return e


def _as(name):
    return {"Authorization": "Bearer " + TOKENS[name][1]}


def _code(body):
    return (body or {}).get("error", {}).get("code")


def _incident(d, severity="warning", host="web-1", service="monitoring", env="production",
              who=None):
    """Fire one alert; return the incident id forestall opened for it."""
    labels = {"alertname": "DiskSpaceWarning", "instance": f"{host}:9100", "service": service,
              "severity": severity, "env": env}
    st, body = d.post(AM, am_webhook([am_alert(labels)]), headers=who)
    check(st == 200, f"alert: {st} {body}")
    incs = [i for i in d.incidents() if i["labels"].get("instance") == f"{host}:9100"]
    check(len(incs) == 1, f"incidents: {incs}")
    return incs[0]["id"]


def _observe(d, inc, who, output="/dev/sda1 50G 42G 8.0G 84% /"):
    obs = {"incident": inc, "tool": "host.df", "input": {"path": "/"}, "output": output}
    if who is None:
        obs["as"] = "probe"  # no tokens: callers name themselves
    st, body = d.post("/api/v1/observations", obs, headers=who)
    check(st == 201, f"observe: {st} {body}")
    return body["id"]


def _propose(d, inc, obs, who, action="service_restart", params=None, host="web-1",
             service="monitoring", expect=201):
    body = {"action": action, "params": params if params is not None else {"unit": "nginx.service"},
            "target": {"host": host, "service": service}, "incident": {"id": inc},
            "evidence": {"cited": [obs]}, "rationale": "nginx leaks memory; a restart frees it"}
    st, reply = d.post("/api/v1/proposals", body, headers=who)
    check(st == expect, f"propose: {st} {reply}")
    return reply


def _audit(d, who=None, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    st, body = d.get("/api/v1/audit?limit=0&" + qs, headers=who)
    check(st == 200, f"audit: {st} {body}")
    return body


def test_roles_identity_and_approval_over_http(ctx):
    d = ctx.daemon(config=_config(), env=_env()).start()
    inc = _incident(d, who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    p = _propose(d, inc, obs, _as("planner"))
    # service restart in production: a human decides (rule 10); forestall filled env and scope
    check(p["decision"] == "needs_approval" and p["status"] == "pending", p)
    check(p["gate"]["rule"] == 10, p["gate"])
    check(p["proposal"]["target"]["env"] == "production", p["proposal"]["target"])
    check(p["proposal"]["incident"]["scope"]["hosts"] == ["web-1"], p["proposal"]["incident"])
    check(p["proposal"]["evidence"]["trace"] == [obs], p["proposal"]["evidence"])
    check(p["proposal"]["proposer"] == "planner", p["proposal"])
    pid = p["id"]
    path = f"/api/v1/proposals/{pid}/approve"

    # no token: 401; a viewer: 403 by role; the agent that proposed: 403 by role
    st, body = d.post(path, {}, headers={"Authorization": ""})
    check(st == 401 and _code(body) == "unauthorized", (st, body))
    st, body = d.post(path, {}, headers=_as("vera"))
    check(st == 403 and _code(body) == "forbidden", (st, body))
    st, body = d.post(path, {}, headers=_as("planner"))
    check(st == 403 and _code(body) == "forbidden", (st, body))
    # a token cannot speak for someone else
    st, body = d.post(path, {"as": "bob"}, headers=_as("alice"))
    check(st == 403 and _code(body) == "forbidden" and "belongs to alice" in body["error"]["message"],
          (st, body))
    # the proposer may not supply what the gate judges it by
    st, body = d.post("/api/v1/proposals", {"action": "journal_vacuum", "params": {},
                                            "target": {"host": "web-1"}, "incident": {"id": inc},
                                            "context": {"mode": "autonomous"}},
                      headers=_as("planner"))
    check(st == 400 and body["error"]["path"] == "context", (st, body))
    st, body = d.post("/api/v1/proposals", {"action": "journal_vacuum", "params": {},
                                            "target": {"host": "web-1", "env": "staging"},
                                            "incident": {"id": inc}}, headers=_as("planner"))
    check(st == 400 and body["error"]["path"] == "target.env", (st, body))

    st, body = d.post(path, {"comment": "checked the graphs"}, headers=_as("alice"))
    check(st == 200 and body["status"] == "approved" and body["approvedBy"] == "alice", (st, body))
    check(body["actionHash"] == p["actionHash"], body)
    # one approval per proposal: a second one is refused
    st, body = d.post(path, {}, headers=_as("bob"))
    check(st == 409 and _code(body) == "not_pending", (st, body))

    st, shown = d.get(f"/api/v1/proposals/{pid}", headers=_as("vera"))
    check(st == 200 and shown["status"] == "approved" and shown["decidedBy"] == "alice", shown)
    check([a["kind"] for a in shown["approvals"]] == ["approve"], shown["approvals"])
    check(shown["approvals"][0]["actionHash"] == p["actionHash"], shown)

    # self-approval: an admin may propose and approve, but not its own proposal
    p2 = _propose(d, inc, obs, _as("root"))
    st, body = d.post(f"/api/v1/proposals/{p2['id']}/approve", {}, headers=_as("root"))
    check(st == 403 and _code(body) == "self_approval", (st, body))

    recs = _audit(d, _as("vera"))
    types = [r["type"] for r in recs]
    for t in ("observation", "proposal", "decision", "approval", "refusal"):
        check(t in types, f"audit lacks {t}: {types}")
    approval = [r for r in recs if r["type"] == "approval"][0]
    check(approval["actor"] == "alice" and approval["data"]["action_hash"] == p["actionHash"],
          approval)
    refusal = [r for r in recs if r["type"] == "refusal"]
    check(any(r["data"]["code"] == "self_approval" and r["actor"] == "root" for r in refusal),
          refusal)
    st, v = d.get("/api/v1/audit/verify", headers=_as("vera"))
    check(st == 200 and v["ok"] and v["checkpoints"] >= 1, v)

    m = lib.scrape(d)
    check(lib.metric_value(m, "forestall_gate_decisions_total", decision="needs_approval") == 2, m)
    check(lib.metric_value(m, "forestall_approvals_total", kind="approve") == 1, m)
    check(lib.metric_value(m, "forestall_approval_refusals_total", code="self_approval") == 1, m)
    check(lib.metric_value(m, "forestall_proposals_pending") == 1, m)
    check(lib.metric_value(m, "forestall_frozen") == 0, m)


def test_critical_incident_needs_force_override(ctx):
    d = ctx.daemon(config=_config(), env=_env()).start()
    inc = _incident(d, severity="critical", who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    p = _propose(d, inc, obs, _as("planner"), action="journal_vacuum", params={"max_size": "1G"})
    check(p["decision"] == "needs_force_override" and p["gate"]["rule"] == 9, p["gate"])
    path = f"/api/v1/proposals/{p['id']}/approve"
    st, body = d.post(path, {}, headers=_as("alice"))
    check(st == 409 and _code(body) == "force_override_required", (st, body))
    st, body = d.post(path, {"force_override": True}, headers=_as("alice"))
    check(st == 403 and _code(body) == "forbidden", (st, body))
    st, body = d.post(path, {"force_override": True, "comment": "disk fills in 10 min"},
                      headers=_as("bob"))
    check(st == 200 and body["kind"] == "force_override", (st, body))
    recs = _audit(d, _as("vera"), type="override,refusal")
    check([r["type"] for r in recs].count("override") == 1, recs)
    check(any(r["data"].get("code") == "force_override_required" for r in recs), recs)


def test_cli_force_override(ctx):
    """`forestall approve ID --as NAME [--force-override]` against a needs_force_override
    proposal: a plain approve is refused (exit 4, force_override_required), the override by an
    overrider-role token goes through and is audited as an override."""
    d = ctx.daemon(config=_config(), env=_env()).start()
    inc = _incident(d, severity="critical", who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    p = _propose(d, inc, obs, _as("planner"), action="journal_vacuum", params={"max_size": "1G"})
    check(p["decision"] == "needs_force_override", p["gate"])
    pid = p["id"]
    r = d.cli("approve", pid, "--as", "alice", env={"FORESTALL_TOKEN": TOKENS["alice"][1]})
    check(r.returncode == 4 and "force_override_required" in r.stderr and
          "FORCE_OVERRIDE" in r.stderr, r.stdout + r.stderr)
    # an approver may not override even when asking for it
    r = d.cli("approve", pid, "--as", "alice", "--force-override",
              env={"FORESTALL_TOKEN": TOKENS["alice"][1]})
    check(r.returncode == 4 and "forbidden" in r.stderr, r.stdout + r.stderr)
    st, shown = d.get(f"/api/v1/proposals/{pid}", headers=_as("vera"))
    check(shown["status"] == "pending", shown)
    r = d.cli("approve", pid, "--as", "bob", "--force-override", "--comment", "disk full in 5 min",
              "-o", "json", env={"FORESTALL_TOKEN": TOKENS["bob"][1]})
    check(r.returncode == 0, r.stdout + r.stderr)
    out = json.loads(r.stdout)
    check(out["kind"] == "force_override" and out["approvedBy"] == "bob" and
          out["status"] == "approved", out)
    overrides = _audit(d, _as("vera"), type="override")
    check(len(overrides) == 1 and overrides[0]["actor"] == "bob", overrides)
    check(overrides[0]["data"]["action_hash"] == p["actionHash"], overrides[0])
    refusals = _audit(d, _as("vera"), type="refusal")
    check([(x["actor"], x["data"]["code"]) for x in refusals] ==
          [("alice", "force_override_required"), ("alice", "forbidden")], refusals)
    check(_audit(d, _as("vera"), type="approval") == [], "an override is not a plain approval")


def test_policy_change_by_sighup_is_audited(ctx):
    """Modes set in the policy file change with it: a reload (SIGHUP) or a start with another
    policy is a `policy` audit record with the old and new version, hash, mode and modes."""
    pol = os.path.join(ctx.dir, "policy.yaml")
    with open(pol, "w") as f:
        f.write("version: 3\nmode: autonomous\n")
    d = ctx.daemon(config=_config(f"safety:\n  policy: {pol}\n"), env=_env()).start()
    v1 = d.get("/api/v1/controls", headers=_as("vera"))[1]["policy"]["version"]
    check(v1.startswith("3+"), v1)
    check(_audit(d, _as("vera"), type="policy") == [], "a first start is no change")
    with open(pol, "w") as f:
        f.write("version: 4\nmode: supervised\nmodes:\n"
                "  - match: {service: billing, env: production}\n    mode: shadow\n")
    d.send(signal.SIGHUP)
    wait_for(lambda: d.get("/api/v1/controls", headers=_as("vera"))[1]["policy"]["version"]
             .startswith("4+"), 10, what="policy reload")
    recs = _audit(d, _as("vera"), type="policy")
    check(len(recs) == 1, recs)
    rec = recs[0]
    v2 = d.get("/api/v1/controls", headers=_as("vera"))[1]["policy"]["version"]
    check(rec["actor"] == "system:sighup", rec)
    data = rec["data"]
    check(data["from"]["version"] == v1 and data["to"]["version"] == v2, data)
    check(len(data["from"]["hash"]) == 64 and data["from"]["hash"].startswith(v1.split("+")[1]),
          data)
    check(data["to"]["hash"].startswith(v2.split("+")[1]), data)
    check(data["mode"] == {"from": "autonomous", "to": "supervised"}, data)
    check(data["modes"]["from"] == [] and len(data["modes"]["to"]) == 1 and
          data["modes"]["to"][0]["mode"] == "shadow", data)
    check({"mode", "modes", "version"} <= set(data["changed"]), data)
    # the new modes are in force: monitoring in production is supervised now
    inc = _incident(d, who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    p = _propose(d, inc, obs, _as("planner"), action="journal_vacuum", params={"max_size": "1G"})
    check(p["decision"] == "needs_approval" and p["gate"]["rule"] == 12, p["gate"])
    # the same file again: nothing changed, nothing recorded
    d.send(signal.SIGHUP)
    d.stop()
    # a start with another policy is a change too
    with open(pol, "w") as f:
        f.write("version: 5\nmode: supervised\nmodes:\n"
                "  - match: {service: billing, env: production}\n    mode: shadow\n"
                "threshold: 30\n")
    d.start()
    recs = _audit(d, _as("vera"), type="policy")
    check([r["actor"] for r in recs] == ["system:sighup", "system:start"], recs)
    check("mode" not in recs[1]["data"] and "modes" not in recs[1]["data"] and
          recs[1]["data"]["changed"] == ["threshold", "version"], recs[1])
    st, v = d.get("/api/v1/audit/verify", headers=_as("vera"))
    check(st == 200 and v["ok"], v)


def test_pending_survive_restart_expire_and_policy_change_makes_stale(ctx):
    pol = os.path.join(ctx.dir, "policy.yaml")
    with open(pol, "w") as f:
        f.write("version: 7\napproval_ttl: 4s\n")
    d = ctx.daemon(config=_config(f"safety:\n  policy: {pol}\n"), env=_env()).start()
    inc = _incident(d, who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    a = _propose(d, inc, obs, _as("planner"))
    b = _propose(d, inc, obs, _as("planner"))
    check(a["gate"]["policy_version"].startswith("7+"), a["gate"])
    d.stop()
    d.start()
    st, pend = d.get("/api/v1/proposals?status=pending", headers=_as("vera"))
    check(st == 200 and {x["id"] for x in pend} == {a["id"], b["id"]}, pend)

    # the policy changes (SIGHUP): an approval now would bind to rules no longer in force
    with open(pol, "w") as f:
        f.write("version: 8\napproval_ttl: 4s\nthreshold: 35\n")
    d.send(signal.SIGHUP)
    wait_for(lambda: d.get("/api/v1/controls", headers=_as("vera"))[1]["policy"]["version"]
             .startswith("8+"), 10, what="policy reload")
    st, body = d.post(f"/api/v1/proposals/{a['id']}/approve", {}, headers=_as("alice"))
    check(st == 409 and _code(body) == "stale", (st, body))

    # nobody decides b: the housekeeper expires it and says so in the audit trail
    def expired():
        st, x = d.get(f"/api/v1/proposals/{b['id']}", headers=_as("vera"))
        return x["status"] == "expired"
    wait_for(expired, 15, what="expiry")
    st, body = d.post(f"/api/v1/proposals/{b['id']}/approve", {}, headers=_as("alice"))
    check(st == 409 and _code(body) in ("not_pending", "expired"), (st, body))
    check(any(r["data"]["proposal"] == b["id"] for r in _audit(d, _as("vera"), type="expiry")),
          "no expiry record")


def test_kill_switch_persists_blocks_and_is_audited(ctx):
    d = ctx.daemon(config=_config(), env=_env()).start()
    inc = _incident(d, who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    r = d.cli("freeze", "--reason", "database migration in progress",
              env={"FORESTALL_TOKEN": TOKENS["alice"][1]})
    check(r.returncode == 0 and "frozen by alice" in r.stdout, r.stdout + r.stderr)
    # a second freeze keeps the first one (why everything stopped) and is recorded itself
    r = d.cli("freeze", "--reason", "disk alarm on db-2", env={"FORESTALL_TOKEN": TOKENS["bob"][1]})
    check(r.returncode == 0 and "already frozen by alice" in r.stdout and
          "database migration in progress" in r.stdout, r.stdout + r.stderr)
    r = d.cli("mode", "show", "-o", "json", env={"FORESTALL_TOKEN": TOKENS["vera"][1]})
    f = json.loads(r.stdout)["freeze"]
    check(f["by"] == "alice" and f["reason"] == "database migration in progress", f)
    d.stop()
    d.start()
    p = _propose(d, inc, obs, _as("planner"), action="journal_vacuum", params={"max_size": "1G"})
    check(p["decision"] == "blocked" and p["gate"]["rule"] == 1, p["gate"])
    check(p["proposal"]["context"]["frozen"] is True, p["proposal"]["context"])
    # an approver may stop everything, only an admin may start it again
    r = d.cli("unfreeze", env={"FORESTALL_TOKEN": TOKENS["alice"][1]})
    check(r.returncode == 4 and "forbidden" in r.stderr, r.stdout + r.stderr)
    r = d.cli("unfreeze", "--reason", "migration done", env={"FORESTALL_TOKEN": TOKENS["root"][1]})
    check(r.returncode == 0, r.stdout + r.stderr)
    r = d.cli("mode", "show", "-o", "json", env={"FORESTALL_TOKEN": TOKENS["vera"][1]})
    check(r.returncode == 0 and json.loads(r.stdout)["frozen"] is False, r.stdout + r.stderr)
    p = _propose(d, inc, obs, _as("planner"), action="journal_vacuum", params={"max_size": "1G"})
    check(p["decision"] == "execute", p["gate"])
    recs = _audit(d, _as("vera"), type="freeze,unfreeze")
    check([(x["type"], x["actor"]) for x in recs] ==
          [("freeze", "alice"), ("freeze", "bob"), ("unfreeze", "root")], recs)
    check([x["data"]["already_frozen"] for x in recs[:2]] == [False, True], recs)
    check(recs[1]["data"]["reason"] == "disk alarm on db-2" and
          recs[1]["data"]["frozen_by"] == "alice", recs[1])
    check(recs[2]["data"]["was"]["by"] == "alice", recs[2])


def test_runtime_mode_overrides_policy_and_is_audited(ctx):
    d = ctx.daemon(config=_config(), env=_env()).start()
    inc = _incident(d, who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    env = {"FORESTALL_TOKEN": TOKENS["root"][1]}
    r = d.cli("mode", "set", "shadow", "--service", "monitoring", "--reason", "new playbook",
              env=env)
    check(r.returncode == 0, r.stdout + r.stderr)
    p = _propose(d, inc, obs, _as("planner"), action="journal_vacuum", params={"max_size": "1G"})
    check(p["decision"] == "shadow" and p["status"] == "shadow", p["gate"])
    check("runtime override mode:monitoring:*" in p["gate"]["mode"]["source"], p["gate"]["mode"])
    r = d.cli("mode", "set", "shadow", "--reason", "x", env={"FORESTALL_TOKEN": TOKENS["bob"][1]})
    check(r.returncode == 4, "an overrider may not change modes")
    r = d.cli("mode", "set", "clear", "--service", "monitoring", "--reason", "trusted", env=env)
    check(r.returncode == 0, r.stdout + r.stderr)
    p = _propose(d, inc, obs, _as("planner"), action="journal_vacuum", params={"max_size": "1G"})
    check(p["decision"] == "execute", p["gate"])
    modes = _audit(d, _as("vera"), type="mode")
    check([(m["data"]["from"], m["data"]["to"]) for m in modes] == [(None, "shadow"),
                                                                     ("shadow", None)], modes)


def test_cli_flow_without_tokens(ctx):
    d = ctx.daemon(config=ENGINE_OFF).start()
    inc = _incident(d)
    obs = _observe(d, inc, None)
    prop = os.path.join(ctx.dir, "p.json")
    with open(prop, "w") as f:
        json.dump({"action": "package_upgrade", "params": {"package": "openssl"},
                   "target": {"host": "web-1"}, "incident": {"id": inc},
                   "evidence": {"cited": [obs]}}, f)
    r = d.cli("propose", prop)
    check(r.returncode == 4 and "as: required" in r.stderr, r.stdout + r.stderr)
    r = d.cli("propose", "--as", "carol", "-o", "json", prop)
    check(r.returncode == 0, r.stdout + r.stderr)
    p = json.loads(r.stdout)
    check(p["decision"] == "needs_approval" and p["status"] == "pending", p)
    r = d.cli("proposals", "list", "--status", "pending")
    check(r.returncode == 0 and p["id"] in r.stdout and "package_upgrade" in r.stdout, r.stdout)
    r = d.cli("approve", p["id"], "--as", "carol")
    check(r.returncode == 4 and "self_approval" in r.stderr, r.stdout + r.stderr)
    r = d.cli("approve", p["id"])
    check(r.returncode == 2, "--as is required")
    r = d.cli("approve", p["id"], "--as", "dave", "--comment", "patch Tuesday")
    check(r.returncode == 0 and "approved by dave" in r.stdout, r.stdout + r.stderr)
    r = d.cli("proposals", "show", p["id"])
    check(r.returncode == 0 and "decided by dave" in r.stdout and "score" not in r.stderr,
          r.stdout + r.stderr)
    r2 = d.cli("propose", "--as", "carol", "-o", "json", prop)
    q = json.loads(r2.stdout)
    r = d.cli("reject", q["id"], "--as", "erin")
    check(r.returncode == 2, "--reason is required")
    r = d.cli("reject", q["id"], "--as", "erin", "--reason", "not during the sale")
    check(r.returncode == 0 and "rejected by erin" in r.stdout, r.stdout + r.stderr)
    r = d.cli("approve", q["id"], "--as", "dave")
    check(r.returncode == 4 and "not_pending" in r.stderr, r.stdout + r.stderr)
    r = d.cli("approve", "prop-999", "--as", "dave")
    check(r.returncode == 4 and "not_found" in r.stderr, r.stdout + r.stderr)


def test_audit_api_refuses_an_unknown_type(ctx):
    """GET /api/v1/audit?type=... with a type that is not a record type answers 400 with the
    error shape naming the valid types, instead of an empty (and misleading) list; known types,
    blanks around them and an empty item still select as before."""
    d = ctx.daemon(config=_config(), env=_env()).start()
    d.cli("freeze", "--as", "root", "--reason", "audit type filter",
          env={"FORESTALL_TOKEN": TOKENS["root"][1]})
    for bad in ("bogus", "freeze,bogus", "freezes", "Freeze"):
        st, body = d.get("/api/v1/audit?limit=0&type=" + bad, headers=_as("vera"))
        check(st == 400 and set(body) == {"error"} and
              set(body["error"]) == {"code", "message", "path"}, (bad, st, body))
        e = body["error"]
        check(e["code"] == "invalid_argument" and e["path"] == "type", (bad, e))
        check(e["message"].startswith(f'type: unknown record type "{bad.split(",")[-1]}"') and
              "freeze, unfreeze" in e["message"] and "policy" in e["message"], (bad, e))
    # the CSV form is refused the same way, not answered with a header and no rows
    st, body = d.get("/api/v1/audit?format=csv&type=bogus", headers=_as("vera"))
    check(st == 400 and body["error"]["path"] == "type", (st, body))
    recs = _audit(d, _as("vera"), type="freeze")
    check([r["type"] for r in recs] == ["freeze"], recs)
    recs = _audit(d, _as("vera"), type="unfreeze,%20freeze,")
    check([r["type"] for r in recs] == ["freeze"], recs)


def test_audit_verify_export_and_tampering_cli(ctx):
    d = ctx.daemon(config=ENGINE_OFF).start()
    inc = _incident(d)
    obs = _observe(d, inc, None)
    for _ in range(3):
        st, p = d.post("/api/v1/proposals", {"as": "carol", "action": "journal_vacuum",
                                             "params": {"max_size": "2G"},
                                             "target": {"host": "web-1"}, "incident": {"id": inc},
                                             "evidence": {"cited": [obs]}})
        check(st == 201, p)
    d.cli("freeze", "--as", "dave", "--reason", "audit test, with a comma, and \"quotes\"")
    cfg = os.path.join(ctx.dir, "c.yaml")
    with open(cfg, "w") as f:
        f.write(f"data_dir: {d.data_dir}\n")
    r = d.cli("audit", "verify", "-c", cfg)
    check(r.returncode == 0 and "audit chain OK" in r.stdout, r.stdout + r.stderr)
    r = d.cli("audit", "export", "-c", cfg, "--format", "csv", "--type", "freeze")
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and lines[0] == "seq,ts,type,actor,data,prev_hash,hash", r.stdout)
    rows = list(csv.reader(io.StringIO(r.stdout)))
    check(len(rows) == 2 and json.loads(rows[1][4])["reason"] ==
          'audit test, with a comma, and "quotes"', rows)
    # an unknown record type is a usage error, not an empty export
    for bad in ("bogus", "freeze,bogus", "freezes"):
        r = d.cli("audit", "export", "-c", cfg, "--type", bad)
        check(r.returncode == 2 and r.stdout == "", (bad, r.stdout, r.stderr))
        check(f'unknown record type "{bad.split(",")[-1]}"' in r.stderr and
              "freeze, unfreeze" in r.stderr and "policy" in r.stderr, r.stderr)
    r = d.cli("audit", "export", "-c", cfg, "--type", "freeze, unfreeze", "--format", "jsonl")
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 1, r.stdout + r.stderr)
    r = d.cli("audit", "export", "-c", cfg, "--format", "jsonl")
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    check([x["seq"] for x in recs] == list(range(1, len(recs) + 1)), recs)
    check(len(recs) == 1 + 3 * 2 + 1, [x["type"] for x in recs])
    d.stop()

    db = sqlite3.connect(os.path.join(d.data_dir, "forestall.db"))
    # the table refuses updates and deletes; an attacker with the file drops that guard first
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND "
                              "tbl_name='audit_log'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    orig = db.execute("SELECT data FROM audit_log WHERE seq=4").fetchone()[0]
    db.execute("UPDATE audit_log SET data=? WHERE seq=4", (orig.replace("2G", "9G"),))
    db.commit()
    r = d.cli("audit", "verify", "-c", cfg)
    check(r.returncode == 1 and "seq 4" in r.stdout, r.stdout + r.stderr)
    db.execute("UPDATE audit_log SET data=? WHERE seq=4", (orig,))
    db.commit()
    r = d.cli("audit", "verify", "-c", cfg)
    check(r.returncode == 0, r.stdout + r.stderr)
    # cutting the tail leaves a sound chain; only the signed checkpoint shows what is missing
    db.execute("DELETE FROM audit_log WHERE seq >= (SELECT MAX(seq) - 1 FROM audit_log)")
    db.commit()
    db.close()
    r = d.cli("audit", "verify", "-c", cfg, "-o", "json")
    v = json.loads(r.stdout)
    check(r.returncode == 1 and not v["ok"] and "2" in v["problem"], v)
    # ... so whoever cuts the tail removes the checkpoints too: with records and no checkpoint
    # the chain is not verified (the daemon writes one at start, after commits and at stop)
    ck = os.path.join(d.data_dir, "audit-checkpoints.jsonl")
    for how in ("deleted", "emptied"):
        if how == "deleted":
            os.unlink(ck)
        else:
            open(ck, "w").close()
        r = d.cli("audit", "verify", "-c", cfg)
        check(r.returncode == 1 and "audit chain OK" not in r.stdout and
              f"no checkpoint found at {ck}: truncation of the tail cannot be ruled out"
              in r.stdout, (how, r.stdout, r.stderr))
        v = json.loads(d.cli("audit", "verify", "-c", cfg, "-o", "json").stdout)
        check(not v["ok"] and v["noCheckpoint"] == ck and v["badSeq"] == 0, v)
    # the operator may accept a chain without checkpoints, and is told what that cannot show
    r = d.cli("audit", "verify", "-c", cfg, "--no-checkpoint")
    check(r.returncode == 0 and "audit chain OK" in r.stdout and
          "truncation of the tail cannot be ruled out" in r.stdout, r.stdout + r.stderr)


def _local(*args, input=None):
    """A command that needs no daemon."""
    return subprocess.run([lib.BIN, *args], capture_output=True, text=True, input=input,
                          timeout=30)


def test_gate_explain_and_policy_test_cli(ctx):
    ex = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "proposal-journal-vacuum.json")
    r = _local("gate", "explain", ex)
    check(r.returncode == 0 and "execute" in r.stdout, r.stdout + r.stderr)
    r = _local("gate", "explain", "-o", "json", ex)
    g = json.loads(r.stdout)
    check(set(g) >= {"decision", "risk", "incident_risk", "reasons", "policy_version"}, g)
    check(g["risk"]["score"] == 35 and g["risk"]["level"] == "MEDIUM", g["risk"])
    check(len(g["risk"]["contributions"]) == 6, g["risk"])
    # a blocked decision is still a successful explanation
    with open(ex) as f:
        doc = json.load(f)
    doc["params"] = {"max_size": "1G; rm -rf /"}
    r = _local("gate", "explain", "-o", "json", "-", input=json.dumps(doc))
    check(r.returncode == 0 and json.loads(r.stdout)["decision"] == "blocked", r.stdout + r.stderr)
    r = _local("gate", "explain", "-", input="{not json")
    check(r.returncode == 1 and r.stderr.startswith("forestall: "), r.stderr)
    # the path of the problem once, as docs/proposals.md shows it
    r = _local("gate", "explain", "-", input='{"action": "journal_vacuum"}')
    check(r.returncode == 1 and
          r.stderr == "forestall: -: target: required field is missing\n", r.stderr)
    r = _local("gate", "explain", "-", input='{"action": "journal_vacuum", "target": {"host": 7}}')
    check(r.returncode == 1 and
          r.stderr == "forestall: -: target.host: expected string, got number\n", r.stderr)
    bad = os.path.join(ctx.dir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("version: 2\nthreshold: 40\nlevels:\n  medium: 30\n  hihg: 60\n")
    r = _local("gate", "explain", "--policy", bad, ex)
    check(r.returncode == 1 and "bad.yaml:5" in r.stderr and "hihg" in r.stderr, r.stderr)

    cases = os.path.join(os.path.dirname(__file__), "..", "cases", "gate")
    r = _local("policy", "test", cases)
    check(r.returncode == 0 and "PASS" in r.stdout, r.stdout + r.stderr)
    mine = os.path.join(ctx.dir, "cases")
    os.makedirs(mine)
    with open(mine + "/t.yaml", "w") as f:
        f.write("cases:\n  - name: vacuum must run on its own\n    proposal:\n" +
                "".join(f"      {line}\n" for line in json.dumps(doc).splitlines()) +
                "    expect: {decision: execute}\n")
    r = _local("policy", "test", mine)
    check(r.returncode == 1 and "vacuum must run on its own" in r.stdout and "t.yaml:2" in r.stdout,
          r.stdout + r.stderr)


def test_target_cannot_dodge_policy_by_leaving_fields_out(ctx):
    pol = os.path.join(ctx.dir, "policy.yaml")
    with open(pol, "w") as f:
        f.write("deny:\n  - match: {service: payments}\n    actions: [journal_vacuum]\n"
                "    reason: payments hosts keep their journal for the auditors\n")
    d = ctx.daemon(config=_config(f"safety:\n  policy: {pol}\nincidents:\n  group_by: [instance]\n"),
                   env=_env()).start()
    inc = _incident(d, host="pay-1", service="payments", who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    # the proposer names only the host; forestall fills the service from the incident
    st, p = d.post("/api/v1/proposals", {"action": "journal_vacuum", "params": {"max_size": "1G"},
                                         "target": {"host": "pay-1"}, "incident": {"id": inc},
                                         "evidence": {"cited": [obs]}}, headers=_as("planner"))
    check(st == 201 and p["proposal"]["target"]["service"] == "payments", p)
    check(p["decision"] == "blocked" and p["gate"]["rule"] == 4, p["gate"])
    check(any("auditors" in r for r in p["gate"]["reasons"]), p["gate"]["reasons"])
    # an incident spanning two services: the target must say which
    labels = [{"alertname": "HighLatency", "instance": "lb-1:9100", "service": s,
               "severity": "warning"} for s in ("payments", "checkout")]
    st, body = d.post(AM, am_webhook([am_alert(l) for l in labels]), headers=_as("root"))
    check(st == 200, body)
    # (grouped by instance only, so both alerts are one incident)
    inc2 = [i for i in d.incidents() if i["labels"].get("instance") == "lb-1:9100"]
    check(len(inc2) == 1 and len(inc2[0]["episodes"]) == 2, inc2)
    obs2 = _observe(d, inc2[0]["id"], _as("planner"))
    st, body = d.post("/api/v1/proposals", {"action": "journal_vacuum",
                                            "params": {"max_size": "1G"},
                                            "target": {"host": "lb-1"},
                                            "incident": {"id": inc2[0]["id"]},
                                            "evidence": {"cited": [obs2]}},
                      headers=_as("planner"))
    check(st == 400 and body["error"]["path"] == "target.service", (st, body))


def test_stored_proposal_can_be_explained_again(ctx):
    """What the daemon stored is a complete gate input: `gate explain` judges it again as is."""
    d = ctx.daemon(config=ENGINE_OFF).start()
    inc = _incident(d)
    obs = _observe(d, inc, None)
    st, p = d.post("/api/v1/proposals", {"as": "carol", "action": "journal_vacuum",
                                         "params": {"max_size": "1G"}, "target": {"host": "web-1"},
                                         "incident": {"id": inc}, "evidence": {"cited": [obs]}})
    check(st == 201, p)
    r = d.cli("proposals", "show", "-o", "json", p["id"])
    stored = json.loads(r.stdout)["proposal"]
    check(stored.get("key") and len(stored["key"]) == 32, stored)
    r = _local("gate", "explain", "-o", "json", "-", input=json.dumps(stored))
    check(r.returncode == 0, r.stderr)
    again = json.loads(r.stdout)
    check(again["decision"] == p["decision"] and again["risk"] == p["gate"]["risk"], (again, p))


def test_knowledge_graph_feeds_the_gate(ctx):
    """env, resource class, blast radius and change freezes come from the knowledge graph."""
    graph = os.path.join(ctx.dir, "graph.yaml")
    with open(graph, "w") as f:
        f.write("""entities:
  - {name: web-1, kind: host, env: production, resource_class: application}
  - {name: api, kind: service, env: production, runs_on: web-1}
  - {name: shop, kind: service, env: production, depends_on: api}
  - {name: admin, kind: service, env: production, depends_on: api}
  - {name: pay-1, kind: host, env: production, resource_class: database}
windows:
  - {name: payday, kind: freeze, entities: [pay-1], start: 2020-01-01T00:00:00Z,
     end: 2099-01-01T00:00:00Z, reason: quarter close}
  - {name: lab-move, kind: freeze, match: {env: lab}, start: 2020-01-01T00:00:00Z,
     end: 2099-01-01T00:00:00Z}
""")
    d = ctx.daemon(config=_config(f"context:\n  graph: {graph}\n"), env=_env()).start()
    # the alert says env=staging; the graph, which the operator maintains, says production
    inc = _incident(d, host="web-1", service="api", env="staging", who=_as("root"))
    obs = _observe(d, inc, _as("planner"))
    p = _propose(d, inc, obs, _as("planner"), action="journal_vacuum", params={"max_size": "1G"})
    target, context = p["proposal"]["target"], p["proposal"]["context"]
    check(target["env"] == "production" and target["resource_class"] == "application", target)
    # api runs on web-1; shop and admin depend on api: three entities in web-1's blast radius
    check(context["dependents"] == 3 and context["change_freeze"] is False, context)
    dep = [c for c in p["gate"]["risk"]["contributions"] if c["factor"] == "dependents"][0]
    check(dep["points"] == 15, dep)
    # a frozen entity: blocked by rule 5, whatever else holds
    inc2 = _incident(d, host="pay-1", service="payments", who=_as("root"))
    obs2 = _observe(d, inc2, _as("planner"))
    p2 = _propose(d, inc2, obs2, _as("planner"), action="journal_vacuum",
                  params={"max_size": "1G"}, host="pay-1", service="payments")
    check(p2["decision"] == "blocked" and p2["gate"]["rule"] == 5, p2["gate"])
    check(p2["freezeWindow"]["name"] == "payday" and p2["freezeWindow"]["reason"] == "quarter close",
          p2)
    check(p2["proposal"]["target"]["resource_class"] == "database", p2["proposal"]["target"])
    # a host the graph does not know is still frozen by a window selecting its env
    inc3 = _incident(d, host="lab-7", service="bench", env="lab", who=_as("root"))
    obs3 = _observe(d, inc3, _as("planner"))
    p3 = _propose(d, inc3, obs3, _as("planner"), action="journal_vacuum",
                  params={"max_size": "1G"}, host="lab-7", service="bench")
    check(p3["decision"] == "blocked" and p3["gate"]["rule"] == 5, p3["gate"])
    check(p3["proposal"]["context"]["dependents"] == 0, p3["proposal"]["context"])


def test_observations_are_kept_clean_and_redacted(ctx):
    """What outsiders report is untrusted: control characters go, secrets (including the
    daemon's own tokens) never reach the store or the audit trail."""
    d = ctx.daemon(config=_config(), env=_env()).start()
    inc = _incident(d, who=_as("root"))
    leak = ("\x1b[31mERROR\x1b[0m upstream said: Authorization: Bearer abcdef0123456789abcdef\n"
            f"retrying with {TOKENS['alice'][1]}\x07\n"
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    st, body = d.post("/api/v1/observations",
                      {"incident": inc, "tool": "logs.tail", "output": leak,
                       "input": {"password": "hunter2-hunter2", "path": "/var/log/app.log"}},
                      headers=_as("planner"))
    check(st == 201, body)
    st, obs = d.get(f"/api/v1/incidents/{inc}/observations", headers=_as("vera"))
    check(st == 200 and len(obs) == 1, obs)
    out, inp = obs[0]["output"], obs[0]["input"]
    for secret in ("abcdef0123456789abcdef", TOKENS["alice"][1], "wJalrXUtnFEMI", "hunter2"):
        check(secret not in out and secret not in json.dumps(inp), f"{secret} leaked: {obs[0]}")
    check("\x1b" not in out and "\x07" not in out and "ERROR upstream said" in out, out)
    check("[REDACTED:" in out and inp["path"] == "/var/log/app.log", obs[0])
    rec = [r for r in _audit(d, _as("vera"), type="observation")][0]
    check(rec["data"]["secrets_redacted"] >= 3, rec)
