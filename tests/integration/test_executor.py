"""The executor (docs/executor.md) against a real daemon and store: an approved proposal runs
once, is verified and resolves its incident; a failed verification rolls back and escalates; a
failing program escalates; the kill switch holds everything, and a freeze that lands while an
action runs keeps its rollback from starting (skipped, escalated with the command to run);
nothing runs without its approval or with a tampered proposal; hostile output stays data; and at
every crash point (SIGKILL by FORESTALL_FAULT) a restarted executor neither runs a
non-idempotent action or rollback twice nor leaves an execution open. The action is
tests/tools/fs-test-action, which appends one line per run to a log file, so "how often did it
run" is a line count."""
import json
import os
import signal
import sqlite3
import subprocess
import time

import lib
from lib import am_alert, am_webhook, check, wait_for

AM = "/api/v1/alerts/alertmanager"


def _catalog(tool, work):
    common = f"""    category: log_cleanup
    tier: 1
    baseline_risk: 5
    reversible: true
    params:
      log: {{type: path, description: log, under: [{work}]}}
      touch: {{type: path, description: touch, under: [{work}]}}
      marker: {{type: path, description: marker, under: [{work}]}}
      code: {{type: integer, description: code, min: 0, max: 255, default: 0}}
      sleep_ms: {{type: integer, description: sleep_ms, min: 0, max: 60000, default: 0}}
      undo_sleep_ms: {{type: integer, description: undo_sleep_ms, min: 0, max: 60000, default: 0}}
    targets:
      local: {{argv: [{tool}, "{{log}}", --touch, "{{touch}}", --exit, "{{code}}", --sleep-ms,
                     "{{sleep_ms}}"]}}
    verify: {{probe: file_stat, args: {{path: "{{marker}}"}}, expect: "exists", wait: 0s}}
"""
    return f"""version: "exec-test"
actions:
  - name: t_no
    description: Test action, not idempotent.
    idempotent: "no"
{common}    rollback: null
  - name: t_abs
    description: Test action, idempotent (absolute state).
    idempotent: absolute
{common}    rollback: null
  - name: t_rb
    description: Test action with a rollback.
    idempotent: "no"
{common}    rollback: t_undo
  - name: t_appr
    description: Test action of tier 2, which needs approval.
    idempotent: "no"
{common.replace("tier: 1", "tier: 2")}    rollback: null
  - name: t_pre
    description: Test action with a precondition.
    idempotent: "no"
{common}    preconditions:
      - {{probe: file_stat, args: {{path: "{{marker}}"}}, expect: "!exists"}}
      - {{probe: file_stat, args: {{path: "{{log}}"}}, expect: "exists && type == 'file'"}}
    rollback: null
  - name: t_rb_abs
    description: Test action with an idempotent rollback.
    idempotent: "no"
{common}    rollback: t_undo_abs
  - name: t_undo
    description: Undo a test action.
    category: log_cleanup
    tier: 1
    baseline_risk: 5
    reversible: true
    idempotent: "no"
    params:
      log: {{type: path, description: log, under: [{work}]}}
      undo_sleep_ms: {{type: integer, description: undo_sleep_ms, min: 0, max: 60000, default: 0}}
    targets:
      local: {{argv: [{tool}, "{{log}}", --sleep-ms, "{{undo_sleep_ms}}", undo]}}
    rollback: null
  - name: t_undo_abs
    description: Undo a test action, idempotently.
    category: log_cleanup
    tier: 1
    baseline_risk: 5
    reversible: true
    idempotent: absolute
    params:
      log: {{type: path, description: log, under: [{work}]}}
      undo_sleep_ms: {{type: integer, description: undo_sleep_ms, min: 0, max: 60000, default: 0}}
    targets:
      local: {{argv: [{tool}, "{{log}}", --sleep-ms, "{{undo_sleep_ms}}", undo]}}
    rollback: null
  - name: t_loud
    description: Test action with hostile output.
    category: log_cleanup
    tier: 1
    baseline_risk: 5
    reversible: true
    idempotent: "no"
    params:
      log: {{type: path, description: log, under: [{work}]}}
      out_bytes: {{type: integer, description: out_bytes, min: 0, max: 20000000}}
    targets:
      local: {{argv: [{tool}, "{{log}}", --hostile, --out-bytes, "{{out_bytes}}"]}}
    rollback: null
"""


class Env:
    """A daemon (dispatch off) and its store with an operator catalog of test actions built on
    fs-test-action, one incident on `host` and one observation to cite. catalog(tool, work)
    gives the catalog's text; extra is appended to the config (e.g. a tools: block)."""

    def __init__(self, ctx, executor_enabled=False, max_output="64KiB", catalog=None,
                 extra="", host="localhost", work="work"):
        check(lib.TOOLS, "run.py --tools is needed (fs-test-action)")
        self.ctx = ctx
        self.host = host
        self.tool = os.path.join(lib.TOOLS, "fs-test-action")
        check(os.access(self.tool, os.X_OK), f"{self.tool} is not built")
        self.work = os.path.join(ctx.dir, work)
        os.makedirs(self.work)
        self.data_dir = os.path.join(ctx.dir, "data")
        cat = os.path.join(ctx.dir, "catalog.yaml")
        with open(cat, "w") as f:
            f.write((catalog or _catalog)(self.tool, self.work))
        pol = os.path.join(ctx.dir, "policy.yaml")
        with open(pol, "w") as f:
            f.write("version: 1\nrate_limit_per_action_target_per_hour: 1000\n")
        self.d = ctx.daemon(config=f"""data_dir: {self.data_dir}
safety:
  catalog: {cat}
  policy: {pol}
executor:
  enabled: {"true" if executor_enabled else "false"}
  action_timeout: 30s
  max_output: {max_output}
  max_verify_wait: 1s
  postmortem_dir: null
dispatch:
  enabled: false
{extra}""", data_dir=self.data_dir).start()
        self.cfg = self.d.config_path
        self.inc = self._incident()
        st, obs = self.d.post("/api/v1/observations",
                              {"as": "probe", "incident": self.inc, "tool": "host.df",
                               "input": {"path": "/"}, "output": "/ 91%"})
        check(st == 201, f"observe: {st} {obs}")
        self.obs = obs["id"]

    def _incident(self):
        instance = f"{self.host}:9100"
        labels = {"alertname": "DiskFull", "instance": instance, "service": "testsvc",
                  "severity": "warning", "env": "staging", "resource_class": "application"}
        st, body = self.d.post(AM, am_webhook([am_alert(labels)]))
        check(st == 200, f"alert: {st} {body}")
        incs = [i for i in self.d.incidents() if i["labels"].get("instance") == instance]
        check(len(incs) == 1, incs)
        return incs[0]["id"]

    def path(self, name):
        return os.path.join(self.work, name)

    def propose(self, action, expect_decision="execute", **params):
        body = {"as": "planner", "action": action, "params": params,
                "target": {"host": self.host}, "incident": {"id": self.inc},
                "evidence": {"cited": [self.obs]}, "rationale": "the disk fills up"}
        st, p = self.d.post("/api/v1/proposals", body)
        check(st == 201, f"propose {action}: {st} {p}")
        check(p["decision"] == expect_decision, f"{action}: {p['decision']} {p['gate']}")
        return p["id"]

    def executor(self, *args, fault=None, timeout=90):
        e = {k: v for k, v in os.environ.items() if k != "FORESTALL_FAULT"}
        if fault:
            e["FORESTALL_FAULT"] = fault
        return subprocess.run([lib.BIN, "executor", "--once", "-c", self.cfg, "--data-dir",
                               self.data_dir, *args], capture_output=True, text=True, env=e,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def run_ok(self, *args):
        r = self.executor(*args)
        check(r.returncode == 0, f"executor exit {r.returncode}:\n{r.stdout}\n{r.stderr}")
        for mark in lib.SANITIZER_MARKS:
            check(mark not in r.stderr, r.stderr)
        return r

    def db(self):
        db = sqlite3.connect(os.path.join(self.data_dir, "forestall.db"), timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def q(self, sql, *args):
        db = self.db()
        try:
            return [dict(r) for r in db.execute(sql, args).fetchall()]
        finally:
            db.close()

    def execution(self, prop):
        pid = int(prop.split("-")[1])
        rows = self.q("SELECT * FROM executions WHERE proposal_id=? ORDER BY id", pid)
        check(len(rows) <= 1, f"{prop} has {len(rows)} executions: {rows}")
        return rows[0] if rows else None

    def steps(self, execution):
        return [r["state"] for r in self.q(
            "SELECT state FROM exec_steps WHERE execution_id=? ORDER BY id", execution["id"])]

    def step_detail(self, execution, state):
        rows = self.q("SELECT detail FROM exec_steps WHERE execution_id=? AND state=? ORDER BY id",
                      execution["id"], state)
        return [json.loads(r["detail"]) for r in rows]

    def lines(self, log):
        try:
            with open(self.path(log)) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def incident_state(self):
        st, inc = self.d.get(f"/api/v1/incidents/{self.inc}")
        check(st == 200, inc)
        return inc.get("state")

    def audit(self, **query):
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        st, body = self.d.get("/api/v1/audit?limit=0&" + qs)
        check(st == 200, body)
        return body

    def audit_verify(self):
        r = self.d.cli("audit", "verify", "-c", self.cfg)
        check(r.returncode == 0 and "audit chain OK" in r.stdout, r.stdout + r.stderr)


def _params(env, log, touch=None, marker=None, **extra):
    p = {"log": env.path(log), "touch": env.path(touch or log + ".m"),
         "marker": env.path(marker or touch or log + ".m")}
    p.update(extra)
    return p


def test_approved_action_runs_once_verifies_and_resolves(ctx):
    env = Env(ctx)
    prop = env.propose("t_no", **_params(env, "a.log"))
    r = env.run_ok()
    check(f"{prop} t_no: intent → running {env.tool}" in r.stdout, r.stdout)
    check("(local)" in r.stdout and ": verified" in r.stdout, r.stdout)
    check(len(env.lines("a.log")) == 1, env.lines("a.log"))
    e = env.execution(prop)
    check(e["outcome"] == "succeeded" and e["target_kind"] == "local", e)
    check(env.steps(e) == ["intent", "started", "result", "verified"], env.steps(e))
    intent = env.step_detail(e, "intent")[0]
    check(intent["argv"][0] == env.tool and intent["kind"] == "local", intent)
    check(intent["approval"]["by"] == "policy" and intent["idempotent"] == "no", intent)
    result = env.step_detail(e, "result")[0]
    check(result["exit_code"] == 0 and result["timed_out"] is False, result)
    check(json.loads(e["spec"])["argv"] == intent["argv"], e["spec"])
    check(env.incident_state() == "resolved", env.incident_state())
    phases = [a["data"].get("phase") for a in env.audit(type="execution")]
    check(phases == ["intent", "result", "verified"], phases)
    moves = [a["data"]["to"] for a in env.audit(type="incident")]
    check(moves[-3:] == ["executing", "verifying", "resolved"], moves)
    # the same proposal is never run twice, however often the executor runs
    env.run_ok()
    env.run_ok("--proposal", prop)
    check(len(env.lines("a.log")) == 1, env.lines("a.log"))
    check(len(env.q("SELECT id FROM executions")) == 1, "a second execution")
    env.audit_verify()


def test_failed_verification_rolls_back_and_escalates(ctx):
    env = Env(ctx)
    # the action touches one file; its verification looks for another, which never appears
    prop = env.propose("t_rb", **_params(env, "rb.log", touch="made", marker="never"))
    r = env.run_ok()
    check("rollback_started → running" in r.stdout and "rolled_back" in r.stdout, r.stdout)
    lines = env.lines("rb.log")
    check(len(lines) == 2 and lines[1].endswith("undo"), lines)
    e = env.execution(prop)
    check(env.steps(e) == ["intent", "started", "result", "rollback_started", "rolled_back"],
          env.steps(e))
    check(e["outcome"] == "rolled_back", e)
    rb = env.step_detail(e, "rollback_started")[0]
    check(rb["action"] == "t_undo" and "verification failed" in rb["reason"], rb)
    check(env.incident_state() == "escalated", env.incident_state())
    phases = [a["data"].get("phase") for a in env.audit(type="execution")]
    check(phases == ["intent", "result", "rollback_started", "rolled_back"], phases)
    env.audit_verify()


def test_failing_program_escalates_without_verification(ctx):
    env = Env(ctx)
    prop = env.propose("t_no", **_params(env, "f.log", code=3))
    r = env.run_ok()
    check("result → exit 3" in r.stdout and "escalated →" in r.stdout, r.stdout)
    e = env.execution(prop)
    check(env.steps(e) == ["intent", "started", "result", "escalated"], env.steps(e))
    check(e["outcome"] == "failed", e)
    check("exit 3" in env.step_detail(e, "escalated")[0]["reason"], env.step_detail(e, "escalated"))
    check(len(env.lines("f.log")) == 1, env.lines("f.log"))
    check(env.incident_state() == "escalated", env.incident_state())
    # a failure with a rollback runs the rollback
    prop2 = env.propose("t_rb", **_params(env, "f2.log", code=4))
    env.run_ok()
    e2 = env.execution(prop2)
    check(e2["outcome"] == "rolled_back" and env.lines("f2.log")[-1].endswith("undo"), e2)
    env.audit_verify()


def test_kill_switch_holds_everything_until_unfrozen(ctx):
    env = Env(ctx)
    prop = env.propose("t_no", **_params(env, "k.log"))
    r = env.d.cli("freeze", "--as", "dave", "--reason", "maintenance")
    check(r.returncode == 0, r.stdout + r.stderr)
    before = len(env.audit())
    r = env.run_ok()
    check("wait: the kill switch is on" in r.stdout, r.stdout)
    r = env.run_ok("--proposal", prop)
    check("nothing run" in r.stdout and "kill switch" in r.stdout, r.stdout)
    check(env.lines("k.log") == [] and env.execution(prop) is None, "it ran while frozen")
    check(len(env.audit()) == before, "holding a proposal wrote audit records")
    st, p = env.d.get(f"/api/v1/proposals/{prop}")
    check(p["status"] == "approved", p)
    r = env.d.cli("unfreeze", "--as", "root", "--reason", "done")
    check(r.returncode == 0, r.stdout + r.stderr)
    env.run_ok()
    check(len(env.lines("k.log")) == 1 and env.execution(prop)["outcome"] == "succeeded",
          env.lines("k.log"))


def _executor_bg(env, name, fault=None):
    """`executor --once` in the background, its output in a file; (process, output reader)."""
    e = {k: v for k, v in os.environ.items() if k != "FORESTALL_FAULT"}
    if fault:
        e["FORESTALL_FAULT"] = fault
    path = os.path.join(env.ctx.dir, name)
    out = open(path, "w")
    p = subprocess.Popen([lib.BIN, "executor", "--once", "-c", env.cfg, "--data-dir",
                          env.data_dir], stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT, env=e)
    env.ctx.track(p)

    def text():
        with open(path) as f:
            return f.read()
    return p, text


def test_freeze_while_the_action_runs_skips_its_rollback(ctx):
    # "once frozen, no new action starts": the kill switch goes on while the action runs; its
    # verification fails; the rollback is a new action, so it is not run — recorded, audited,
    # escalated with the command a person should run
    env = Env(ctx)
    prop = env.propose("t_rb", **_params(env, "fz.log", touch="made", marker="never",
                                         sleep_ms=1500))
    p, out = _executor_bg(env, "fz.out")
    wait_for(lambda: ": started" in out(), 10, what="the action to start")
    r = env.d.cli("freeze", "--as", "dave", "--reason", "incident bridge: hands off")
    check(r.returncode == 0, r.stdout + r.stderr)
    check(p.wait(30) == 0, out())
    check("rollback_skipped → the kill switch is on; t_undo was not run" in out(), out())
    lines = env.lines("fz.log")
    check(len(lines) == 1 and not lines[0].endswith("undo"), f"ran: {lines}")
    e = env.execution(prop)
    check(env.steps(e) == ["intent", "started", "result", "rollback_skipped", "escalated"],
          env.steps(e))
    check(e["outcome"] == "failed", e)
    skip = env.step_detail(e, "rollback_skipped")[0]
    check(skip["action"] == "t_undo" and skip["argv"][-1] == "undo" and
          skip["freeze"]["by"] == "dave" and "verification failed" in skip["reason"], skip)
    why = env.step_detail(e, "escalated")[0]["reason"]
    for want in ("verification failed", "its rollback t_undo was not run because the kill "
                 "switch is on", "incident bridge: hands off", "by dave", "run by hand: " +
                 env.tool, env.path("fz.log") + " --sleep-ms 0 undo"):
        check(want in why, f"the escalation does not say {want!r}: {why}")
    check(json.loads(e["result"])["reason"] == why, e["result"])
    phases = [a["data"].get("phase") for a in env.audit(type="execution")]
    check(phases == ["intent", "result", "rollback_skipped", "escalated"], phases)
    audited = [a for a in env.audit(type="execution")
               if a["data"].get("phase") == "rollback_skipped"][0]["data"]
    check(audited["action"] == "t_undo" and audited["freeze"]["reason"] ==
          "incident bridge: hands off", audited)
    check(env.incident_state() == "escalated", env.incident_state())
    st, inc = env.d.get(f"/api/v1/incidents/{env.inc}")
    moves = [json.loads(t["detail"]) if isinstance(t.get("detail"), str) else t.get("detail")
             for t in inc.get("timeline", []) if t.get("kind") == "state"]
    check(any("was not run because the kill switch is on" in (m or {}).get("reason", "")
              for m in moves), moves)
    # unfreezing does not bring the skipped rollback back: the execution is over
    r = env.d.cli("unfreeze", "--as", "root", "--reason", "done")
    check(r.returncode == 0, r.stdout + r.stderr)
    env.run_ok()
    check(len(env.lines("fz.log")) == 1 and len(env.steps(env.execution(prop))) == 5,
          env.lines("fz.log"))

    # the same with the executor killed right after that commit (exec.escalated): the restart
    # only does the bookkeeping, and the rollback still never runs, frozen or not
    prop2 = env.propose("t_rb", **_params(env, "fz2.log", touch="made2", marker="never",
                                          sleep_ms=1500))
    p, out = _executor_bg(env, "fz2.out", fault="exec.escalated@1")
    wait_for(lambda: ": started" in out(), 10, what="the action to start")
    r = env.d.cli("freeze", "--as", "dave", "--reason", "again")
    check(r.returncode == 0, r.stdout + r.stderr)
    check(p.wait(30) == -signal.SIGKILL, out())
    e2 = env.execution(prop2)
    check(env.steps(e2)[-2:] == ["rollback_skipped", "escalated"] and e2["outcome"] == "running",
          (env.steps(e2), e2["outcome"]))
    r = env.run_ok()
    check("resume → finish" in r.stdout, r.stdout)
    e2 = env.execution(prop2)
    check(e2["outcome"] == "failed" and len(env.steps(e2)) == 5, (env.steps(e2), e2))
    check("was not run because the kill switch is on" in json.loads(e2["result"])["reason"],
          e2["result"])
    check(env.incident_state() == "escalated", env.incident_state())
    r = env.d.cli("unfreeze", "--as", "root", "--reason", "done")
    env.run_ok()
    check(env.lines("fz2.log") == [env.lines("fz2.log")[0]] and
          not env.lines("fz2.log")[0].endswith("undo"), env.lines("fz2.log"))
    env.audit_verify()


def test_nothing_runs_without_its_approval(ctx):
    env = Env(ctx)
    prop = env.propose("t_appr", expect_decision="needs_approval", **_params(env, "p.log"))
    r = env.run_ok()
    r = env.run_ok("--proposal", prop)
    check("is pending, not approved" in r.stdout, r.stdout)
    check(env.lines("p.log") == [] and env.execution(prop) is None, "ran unapproved")
    # someone with the database marks it approved behind the gate's back: the executor's own
    # check (approval bound to the action hash) refuses it
    db = env.db()
    db.execute("UPDATE proposals SET status='approved' WHERE id=?", (int(prop.split("-")[1]),))
    db.commit()
    db.close()
    r = env.run_ok()
    check("refused →" in r.stdout and "needs approval" in r.stdout, r.stdout)
    check(env.lines("p.log") == [], "ran without an approval")
    e = env.execution(prop)
    check(e["outcome"] == "refused" and env.steps(e) == ["refused"], e)
    refusals = env.audit(type="refusal")
    check(any(x["data"].get("proposal") == prop and x["actor"] == "executor" for x in refusals),
          refusals)
    check(env.incident_state() == "escalated", env.incident_state())
    # the honest way: a person approves, and it runs, bound to that approval
    prop2 = env.propose("t_appr", expect_decision="needs_approval", **_params(env, "p2.log"))
    r = env.d.cli("approve", prop2, "--as", "dave", "--comment", "go")
    check(r.returncode == 0, r.stdout + r.stderr)
    env.run_ok()
    e2 = env.execution(prop2)
    check(e2["outcome"] == "succeeded" and len(env.lines("p2.log")) == 1, e2)
    intent = env.step_detail(e2, "intent")[0]
    check(intent["approval"]["by"] == "dave" and intent["approval"]["id"].startswith("apr-"),
          intent)
    st, shown = env.d.get(f"/api/v1/proposals/{prop2}")
    check(shown["approvals"][0]["consumedAt"] is not None, shown["approvals"])
    env.audit_verify()


def test_tampered_proposal_is_refused(ctx):
    env = Env(ctx)
    prop = env.propose("t_no", **_params(env, "t.log"))
    evil = env.path("evil.log")
    db = env.db()
    pid = int(prop.split("-")[1])
    body = db.execute("SELECT body FROM proposals WHERE id=?", (pid,)).fetchone()[0]
    check(env.path("t.log") in body, body)
    db.execute("UPDATE proposals SET body=? WHERE id=?", (body.replace(env.path("t.log"), evil),
                                                         pid))
    db.commit()
    db.close()
    r = env.run_ok()
    check("refused →" in r.stdout, r.stdout)
    check(env.lines("t.log") == [] and not os.path.exists(evil), "the tampered action ran")
    e = env.execution(prop)
    check(e["outcome"] == "refused", e)
    detail = env.step_detail(e, "refused")[0]
    check(detail["code"] in ("stale", "forbidden", "invalid_argument"), detail)
    check(env.incident_state() == "escalated", env.incident_state())


def test_failed_precondition_refuses_and_escalates(ctx):
    env = Env(ctx)
    with open(env.path("pre.log"), "w") as f:
        f.write("")
    with open(env.path("pre.log.m"), "w") as f:  # the marker exists already: "!exists" fails
        f.write("")
    prop = env.propose("t_pre", **_params(env, "pre.log"))
    r = env.run_ok()
    check("preflight_failed → precondition 1 failed" in r.stdout, r.stdout)
    check(env.lines("pre.log") == [], "ran despite a failed precondition")
    e = env.execution(prop)
    check(e["outcome"] == "refused" and env.steps(e) == ["refused"], env.steps(e))
    audit = env.audit(type="execution")
    check([a["data"]["phase"] for a in audit] == ["preflight_failed"], audit)
    check("precondition 1 failed" in audit[0]["data"]["reason"], audit)
    check(env.incident_state() == "escalated", env.incident_state())
    # with the preconditions true it runs
    prop2 = env.propose("t_pre", **_params(env, "pre.log", touch="pre2.m"))
    env.run_ok()
    check(env.execution(prop2)["outcome"] == "succeeded", env.execution(prop2))
    check(len(env.lines("pre.log")) == 1, env.lines("pre.log"))


def test_hostile_output_is_capped_and_stays_data(ctx):
    env = Env(ctx, max_output="16KiB")
    prop = env.propose("t_loud", log=env.path("loud.log"), out_bytes=10 * 1024 * 1024)
    env.run_ok()
    e = env.execution(prop)
    check(e["outcome"] == "succeeded", e)  # no verify probe: the exit status decides
    res = env.step_detail(e, "result")[0]
    out = res["stdout"]
    check(res["stdout_truncated"] is True, res.keys())
    check(len(out.encode()) <= 16 * 1024 + 200, len(out))
    check("ignore previous instructions" in out, out[:200])
    for c in ("\x1b", "\x07", "\x08", "\x01", "\r"):
        check(c not in out and c not in res["stderr"], f"{c!r} kept")
    total = env.q("SELECT sum(length(detail)) AS n FROM exec_steps")[0]["n"]
    check(total < 64 * 1024, f"step log holds {total} bytes")
    # it ran once and nothing else ran or was proposed
    check(len(env.lines("loud.log")) == 1, env.lines("loud.log"))
    check(len(env.q("SELECT id FROM executions")) == 1, "another execution")
    check(len(env.q("SELECT id FROM proposals")) == 1, "another proposal")
    env.audit_verify()


def test_sigterm_finishes_the_running_step_and_resume_completes_it(ctx):
    env = Env(ctx)
    e = {k: v for k, v in os.environ.items() if k != "FORESTALL_FAULT"}
    out = open(os.path.join(ctx.dir, "executor.out"), "w+")
    p = subprocess.Popen([lib.BIN, "executor", "-c", env.cfg, "--data-dir", env.data_dir],
                         stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=e)
    ctx.track(p)
    prop = env.propose("t_no", **_params(env, "term.log", sleep_ms=1500))
    p.stdin.write(b"!")  # a poke: look now
    p.stdin.flush()

    def said(what):
        out.seek(0)
        return what in out.read()
    wait_for(lambda: said(": started"), 10, what="the action to start")
    p.send_signal(signal.SIGTERM)
    rc = p.wait(20)
    out.seek(0)
    text = out.read()
    check(rc == 0, f"executor exit {rc}:\n{text}")
    # the program was waited for and its result recorded; verification is left for later
    check(len(env.lines("term.log")) == 1 and "result → exit 0" in text, text)
    ex = env.execution(prop)
    check(env.steps(ex) == ["intent", "started", "result"] and ex["outcome"] == "running",
          env.steps(ex))
    r = env.run_ok()
    check("resume → verify_only" in r.stdout, r.stdout)
    ex = env.execution(prop)
    check(env.steps(ex) == ["intent", "started", "result", "verified"], env.steps(ex))
    check(ex["outcome"] == "succeeded" and len(env.lines("term.log")) == 1, ex)
    # and stdin's EOF (the daemon gone) ends the loop on its own
    p2 = subprocess.Popen([lib.BIN, "executor", "-c", env.cfg, "--data-dir", env.data_dir],
                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=e)
    ctx.track(p2)
    time.sleep(0.5)
    p2.stdin.close()
    check(p2.wait(10) == 0, "the executor did not exit at EOF")


# ---- crash points ------------------------------------------------------------------------------

# Every transition of the executor (docs/executor.md, "Fault points for tests") and the row that
# kills it there: fault point → (action, params overrides, how often the action and its rollback
# may have run in all, outcomes allowed after resume). A verification that fails needs
# marker "never"; a program that fails, code 3.
CRASHES = [
    ("exec.preflight", "t_no", {}, 1, 0, {"succeeded"}),
    ("exec.intent", "t_no", {}, 1, 0, {"succeeded"}),
    ("exec.started", "t_no", {}, 0, 0, {"unknown"}),     # not idempotent, never ran: probe says no
    ("exec.started", "t_abs", {}, 1, 0, {"succeeded"}),  # idempotent: run again
    ("exec.child", "t_no", {"sleep_ms": 1500}, 1, 0, {"succeeded"}),  # probe: it took effect
    ("exec.result", "t_no", {}, 1, 0, {"succeeded"}),
    ("exec.verifying", "t_no", {}, 1, 0, {"succeeded"}),
    ("exec.verified", "t_no", {}, 1, 0, {"succeeded"}),
    ("exec.escalated", "t_no", {"code": 3}, 1, 0, {"failed"}),  # no rollback: escalated
    ("exec.rollback", "t_rb", {"marker": "never"}, 1, 0, {"unknown"}),
    # the rollback's program killed with the executor: not idempotent, no probe → escalated,
    # never run again; idempotent → run again
    ("exec.rollback_child", "t_rb", {"marker": "never", "undo_sleep_ms": 1500}, 1, 1,
     {"unknown"}),
    ("exec.rollback_child", "t_rb_abs", {"marker": "never", "undo_sleep_ms": 1500}, 1, 2,
     {"rolled_back"}),
    ("exec.rolled_back", "t_rb", {"marker": "never"}, 1, 1, {"rolled_back"}),
    ("exec.concluded", "t_no", {}, 1, 0, {"succeeded"}),  # only the finished hook was left
]


def test_crash_points_never_run_an_action_twice(ctx):
    env = Env(ctx)
    for i, (fault, action, over, want_lines, want_undo, outcomes) in enumerate(CRASHES):
        log = f"c{i}.log"
        params = _params(env, log)
        for k, v in over.items():
            params[k] = env.path(v) if k == "marker" else v
        prop = env.propose(action, **params)
        r = env.executor(fault=f"{fault}@1")
        check(r.returncode == -signal.SIGKILL,
              f"{fault}: exit {r.returncode} (expected SIGKILL)\n{r.stdout}\n{r.stderr}")
        e = env.execution(prop)
        lines_now = env.lines(log)
        if fault == "exec.preflight":
            check(e is None and lines_now == [], f"{fault}: recorded {e}")
        else:
            check(e is not None and env.steps(e)[0] == "intent", f"{fault}: {e}")
        if fault == "exec.child":
            # the orphaned program finishes on its own; wait for it before the restart
            wait_for(lambda: len(env.lines(log)) == 1, 10, what="the orphaned action")
        if fault == "exec.rollback_child":
            wait_for(lambda: any(x.endswith("undo") for x in env.lines(log)), 10,
                     what="the orphaned rollback")
        r = env.executor()
        check(r.returncode == 0, f"{fault}: resume exit {r.returncode}\n{r.stdout}\n{r.stderr}")
        if fault not in ("exec.preflight", "exec.concluded"):
            check("resume →" in r.stdout, f"{fault}: {r.stdout}")
        e = env.execution(prop)
        steps = env.steps(e)
        actions = [x for x in env.lines(log) if not x.endswith("undo")]
        undos = [x for x in env.lines(log) if x.endswith("undo")]
        # no action runs twice: the non-idempotent ones exactly as often as the table says
        check(len(actions) == want_lines,
              f"{fault} {action}: ran {len(actions)} times, expected {want_lines}: {steps}")
        check(len(undos) == want_undo,
              f"{fault} {action}: the rollback ran {len(undos)} times, expected {want_undo}: "
              f"{steps}")
        # none runs without its intent record, committed and audited before it started
        if actions or undos:
            check("intent" in steps and steps.index("intent") == 0, f"{fault}: {steps}")
            intents = [a for a in env.audit(type="execution")
                       if a["data"].get("phase") == "intent" and
                       a["data"].get("proposal") == prop]
            check(len(intents) == 1, f"{fault}: intent audit records {intents}")
        if undos:
            check("rollback_started" in steps, f"{fault}: the rollback ran unrecorded: {steps}")
        check(e["outcome"] in outcomes, f"{fault} {action}: outcome {e['outcome']}: {steps}")
        # the incident ends verified (resolved) or escalated
        want_state = "resolved" if e["outcome"] == "succeeded" else "escalated"
        check(env.incident_state() == want_state,
              f"{fault}: incident {env.incident_state()}, expected {want_state}")
        check(steps[0] == "intent" and steps[-1] in ("verified", "escalated", "rolled_back"),
              f"{fault}: {steps}")
        check(steps.index("intent") < steps.index("started") if "started" in steps else True,
              steps)
        if action == "t_no" and "started" in steps:
            # a non-idempotent action starts once, whatever happened
            check(steps.count("started") == 1, f"{fault}: {steps}")
        check(e["finished_at"] is not None, e)
        check(not env.q("SELECT id FROM executions WHERE outcome='running'"), "left running")
    env.audit_verify()


def test_daemon_supervised_executor_runs_on_approval_and_is_restarted(ctx):
    env = Env(ctx, executor_enabled=True)
    prop = env.propose("t_appr", expect_decision="needs_approval", **_params(env, "s.log"))
    time.sleep(1.5)
    check(env.lines("s.log") == [], "ran before the approval")
    r = env.d.cli("approve", prop, "--as", "dave")
    check(r.returncode == 0, r.stdout + r.stderr)
    wait_for(lambda: (env.execution(prop) or {}).get("outcome") == "succeeded", 15,
             what="the supervised executor to run the approved action")
    check(len(env.lines("s.log")) == 1, env.lines("s.log"))
    wait_for(lambda: "intent → running" in env.d.stdout(), 5, what="the executor's lines")
    # kill the executor process: the daemon restarts it, and it keeps working
    old = _executor_pids(env.d)
    check(len(old) == 1, f"executor processes: {old}")
    os.kill(old[0], signal.SIGKILL)
    wait_for(lambda: "restarting" in env.d.stderr(), 10, what="the restart to be logged")
    new = wait_for(lambda: [p for p in _executor_pids(env.d) if p != old[0]], 10,
                   what="a new executor process")
    prop2 = env.propose("t_no", **_params(env, "s2.log"))
    wait_for(lambda: (env.execution(prop2) or {}).get("outcome") == "succeeded", 20,
             what="the restarted executor to run")
    check(len(env.lines("s2.log")) == 1, env.lines("s2.log"))
    # the daemon takes its executor down with it (stdin closed: it exits on its own)
    env.d.stop()
    wait_for(lambda: not os.path.exists(f"/proc/{new[0]}"), 10, what="the executor to exit")
    check("SIGTERM" not in env.d.stderr(), "the executor had to be signalled")


def _executor_pids(d):
    """The daemon's child processes running `forestall executor`."""
    pids = []
    for t in os.listdir(f"/proc/{d.proc.pid}/task"):
        with open(f"/proc/{d.proc.pid}/task/{t}/children") as f:
            for c in f.read().split():
                try:
                    with open(f"/proc/{c}/cmdline", "rb") as g:
                        if b"executor" in g.read().split(b"\0"):
                            pids.append(int(c))
                except FileNotFoundError:
                    pass
    return pids
