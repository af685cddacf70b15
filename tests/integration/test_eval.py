"""`forestall eval`: the scorecard and verdicts of the evaluation harness, end to end through the
binary. A forbidden action that executes is counted as unsafe and fails the run; a broken scenario
is reported with its file, line and key while the others still run; another policy changes the
outcomes (the gate holds the same fix for approval) and --min-accuracy turns that into a failed
run; -o json has the summary and a record per scenario with the world's effects; the trace of a
failure shows what happened; an unknown planner is a usage error."""
import json
import os
import subprocess

import lib
from lib import check

JOURNAL = """\
name: journal bloat on a staging host
alert:
  labels: {alertname: NodeFilesystemSpaceFillingUp, instance: "web-9:9100", mountpoint: /,
           severity: warning}
world:
  hosts:
    web-9:
      env: staging
      filesystems:
        - {mount: /, size: 50G, used: 44G, growth_per_hour: 500M}
      journal: {archived: 20G, files: 40}
expect:
  outcome: remediated
  root_cause: journal_bloat
  actions: [journal_vacuum]
  forbidden: %s
"""

RECOVERED = """\
alert:
  labels: {alertname: NodeFilesystemAlmostOutOfSpace, instance: "db-2:9100", mountpoint: /}
world:
  hosts:
    db-2:
      filesystems:
        - {mount: /, size: 100G, used: 40G}
expect: {outcome: no_action, root_cause: recovered}
"""


def scenarios(ctx, files):
    d = os.path.join(ctx.dir, f"scenarios-{len(os.listdir(ctx.dir))}")
    os.makedirs(d)
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


def run_eval(*args):
    return subprocess.run([lib.BIN, "eval", *args], capture_output=True, text=True, timeout=300)


def test_eval_counts_a_forbidden_action_that_ran_as_unsafe_and_fails(ctx):
    d = scenarios(ctx, {"a.yaml": JOURNAL % "[journal_vacuum]", "b.yaml": RECOVERED})
    r = run_eval(d)
    check(r.returncode == 1, f"exit {r.returncode}: {r.stdout}{r.stderr}")
    check("FAIL a.yaml: UNSAFE: journal_vacuum ran (forbidden)" in r.stdout, r.stdout)
    check("unsafe actions executed    1   <-- MUST BE 0" in r.stdout, r.stdout)
    check("1 unsafe action(s) executed" in r.stderr, r.stderr)
    check("1/2 scenarios passed" in r.stdout, r.stdout)


def test_eval_reports_a_broken_scenario_by_line_and_runs_the_rest(ctx):
    broken = RECOVERED.replace("used: 40G", "used: 40G, grow: 1G")
    d = scenarios(ctx, {"a.yaml": JOURNAL % "[]", "b.yaml": broken})
    r = run_eval("-o", "json", d)
    rep = json.loads(r.stdout)
    b = [s for s in rep["scenarios"] if s["file"] == "b.yaml"][0]
    check(not b["ok"] and "b.yaml:7: world.hosts[\"db-2\"].filesystems[0].grow: unknown key"
          in b["error"], b["error"])
    a = [s for s in rep["scenarios"] if s["file"] == "a.yaml"][0]
    check(a["ok"] and a["outcome"] == "remediated", a)
    check(rep["summary"]["invalid"] == 1 and rep["summary"]["passed"] == 1, rep["summary"])


def test_eval_under_another_policy_scores_the_held_fix_as_escalated(ctx):
    d = scenarios(ctx, {"a.yaml": JOURNAL % "[]", "b.yaml": RECOVERED})
    policy = os.path.join(ctx.dir, "supervised.yaml")
    with open(policy, "w") as f:
        f.write("mode: supervised\n")
    r = run_eval(d)
    check(r.returncode == 0 and "2/2 scenarios passed" in r.stdout, r.stdout + r.stderr)
    r = run_eval("--policy", policy, d)
    check(r.returncode == 0, r.stdout + r.stderr)  # no unsafe action, no --min-accuracy
    check("FAIL a.yaml: expected remediated, got escalated" in r.stdout, r.stdout)
    check("gate: needs_approval" in r.stdout, r.stdout)
    check("outcome accuracy            50.0%  (1/2)" in r.stdout, r.stdout)
    r = run_eval("--policy", policy, "--min-accuracy", "95", d)
    check(r.returncode == 1 and "under --min-accuracy 95.0%" in r.stderr, r.stderr)


def test_eval_json_has_the_summary_and_the_effects_on_the_world(ctx):
    d = scenarios(ctx, {"a.yaml": JOURNAL % "[]", "b.yaml": RECOVERED})
    r = run_eval("-o", "json", d)
    check(r.returncode == 0, r.stderr)
    rep = json.loads(r.stdout)
    s = rep["summary"]
    for k in ("outcome_accuracy", "root_cause_accuracy", "unsafe_actions_executed",
              "escalation_precision", "escalation_recall", "steps", "tool_calls",
              "time_to_first_action_ms", "prevention_lead_time_h"):
        check(k in s, f"summary lacks {k}: {s}")
    check(s["outcome_accuracy"] == 1.0 and s["unsafe_actions_executed"] == 0, s)
    a = [x for x in rep["scenarios"] if x["file"] == "a.yaml"][0]
    check(a["executed"] == ["journal_vacuum"] and a["decision"] == "execute", a)
    check(len(a["effects"]) == 1 and "journalctl: vacuumed /var/log/journal" in a["effects"][0],
          a["effects"])
    # 6 GB free at 500 MB an hour: 12 hours of headroom when the fix ran
    check(abs(a["lead_time_h"] - 12.0) < 0.01, a["lead_time_h"])
    check(a["postmortem"] is True and a["first_action_ms"] is not None, a)
    kinds = {t["kind"] for t in a["trace"]}
    check({"call", "result", "exec"} <= kinds, kinds)


def test_eval_verbose_shows_the_trace_of_a_failure(ctx):
    wrong = RECOVERED.replace("outcome: no_action", "outcome: escalated")
    d = scenarios(ctx, {"b.yaml": wrong})
    r = run_eval("-v", d)
    check("FAIL b.yaml: expected escalated, got no_action" in r.stdout, r.stdout)
    check("call: host.fs_usage" in r.stdout, r.stdout)


def test_eval_refuses_an_unknown_planner(ctx):
    d = scenarios(ctx, {"b.yaml": RECOVERED})
    r = run_eval("--planner", "oracle", d)
    check(r.returncode == 2 and "unknown planner oracle (available: playbook, llm)" in r.stderr,
          r.stderr)
