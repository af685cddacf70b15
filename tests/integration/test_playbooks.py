"""The shipped playbooks against their recorded cases (tests/cases/playbooks, docs/playbooks.md):
`forestall playbook test -o json` passes every case, and every shipped playbook has a passing
case where it remediates and one where it escalates (generic, which by design never proposes,
has escalations only and must never propose); each of disk_pressure's cleanups is proposed
somewhere. The harness itself must fail a case that expects the wrong thing or that makes a
call nobody recorded. And `forestall playbook check` names file, line and key of each kind of
broken playbook. No daemon: the CLI only."""
import json
import os
import shutil
import subprocess

import lib
from lib import check

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.normpath(os.path.join(HERE, "..", "cases", "playbooks"))

# the playbooks that must never propose an action, and why
NEVER_PROPOSE = {"generic": "gathers evidence and escalates; it has no action to take"}
DISK_CLEANUPS = ("journal_vacuum", "logs_cleanup_rotated", "tmp_cleanup", "package_cache_clean",
                 "core_dump_cleanup")


def forestall(*args, cwd=None):
    return subprocess.run([lib.BIN, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def run_cases(directory):
    out = forestall("playbook", "test", "-o", "json", directory)
    try:
        doc = json.loads(out.stdout)
    except ValueError:
        raise AssertionError(f"playbook test -o json printed no JSON (exit {out.returncode}): "
                             f"{out.stdout[:2000]} {out.stderr[:2000]}")
    return out, doc


def shipped_playbooks():
    out = forestall("playbook", "list", "-o", "json")
    check(out.returncode == 0, f"playbook list: {out.stderr}")
    names = [p["name"] for p in json.loads(out.stdout)
             if p.get("source", "").startswith("etc/playbooks/")]
    check(len(names) >= 7, f"shipped playbooks: {names}")
    return names


def test_playbook_cases_pass_and_cover_every_playbook(ctx):
    out, doc = run_cases(CASES)
    cases = doc["cases"]
    failed = [c for c in cases if not c["ok"]]
    check(out.returncode == 0 and not failed and doc["failed"] == 0,
          "failing cases:\n" + "\n".join(f"{c['file']} ({c.get('name')}): {c.get('error')}"
                                         for c in failed) + out.stderr)
    check(doc["total"] == len(cases) and len(cases) >= 30, f"{doc['total']} cases")
    for c in cases:
        for k in ("file", "name", "ok", "outcome", "action", "playbook"):
            check(k in c, f"case record without {k}: {c}")
        check((c["action"] is not None) == (c["outcome"] == "propose"), f"action/outcome: {c}")

    names = shipped_playbooks()
    for name in names:
        mine = [c for c in cases if c["playbook"] == name]
        outcomes = {c["outcome"] for c in mine}
        check("escalate" in outcomes, f"{name}: no passing case where it escalates")
        if name in NEVER_PROPOSE:
            check("propose" not in outcomes,
                  f"{name} proposed an action ({NEVER_PROPOSE[name]}): "
                  f"{[c for c in mine if c['outcome'] == 'propose']}")
        else:
            check("propose" in outcomes, f"{name}: no passing case where it remediates")
    # every case ran a shipped playbook, and every disk cleanup is proposed in some case
    check({c["playbook"] for c in cases} <= set(names), "a case ran a playbook not shipped")
    disk = {c["action"] for c in cases if c["playbook"] == "disk_pressure"}
    for action in DISK_CLEANUPS:
        check(action in disk, f"disk_pressure never proposes {action} in the cases: {disk}")


def test_playbook_test_fails_a_wrong_expectation_and_an_unrecorded_call(ctx):
    """The case runner can fail: a copied case that expects another action, and one whose
    recording lacks a call the playbook makes, are both reported with why."""
    d = os.path.join(ctx.dir, "cases")
    os.makedirs(d)
    with open(os.path.join(CASES, "cpu_recovered.yaml")) as f:
        good = f.read()
    # the load is high in this copy, so the playbook calls host.top_processes: not recorded
    unrecorded = good.replace("load1: 1.1\n", "load1: 9.5\n").replace(
        "load1_per_core: 0.28", "load1_per_core: 2.38")
    check(unrecorded != good, "the case to copy changed shape")
    wrong = good.replace('outcome: "no_action"', 'outcome: "propose"\n  action: "process_kill"')
    check(wrong != good, "the case to copy changed shape")
    for name, text in (("a_good.yaml", good), ("b_unrecorded.yaml", unrecorded),
                       ("c_wrong.yaml", wrong)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    out, doc = run_cases(d)
    check(out.returncode == 1, f"exit {out.returncode} with failing cases")
    by_file = {os.path.basename(c["file"]): c for c in doc["cases"]}
    check(doc["total"] == 3 and doc["failed"] == 2, f"{doc}")
    check(by_file["a_good.yaml"]["ok"], f"{by_file['a_good.yaml']}")
    b = by_file["b_unrecorded.yaml"]
    check(not b["ok"] and "unrecorded call host.top_processes" in b["error"], f"{b}")
    c = by_file["c_wrong.yaml"]
    check(not c["ok"] and c["outcome"] == "no_action" and "expected propose" in c["error"], f"{c}")
    # the text form says the same
    txt = forestall("playbook", "test", d)
    check(txt.returncode == 1 and "3 cases, 2 failed" in txt.stdout, txt.stdout)
    check("FAIL " in txt.stdout and "unrecorded call host.top_processes" in txt.stdout, txt.stdout)


BASE = """name: {name}
title: A broken playbook
match:
  - alertname: 'Broken.*'
steps:
"""
GOOD_END = """  - escalate:
      summary: "a person must look"
"""

# each broken playbook, the line and key its first problem must be named at, and the message
BROKEN = [
    ("unknown_tool", """  - id: look
    call: host.no_such_tool
    args: {}
""" + GOOD_END, 7, "steps[0].call", "no tool named host.no_such_tool"),
    ("unknown_action", """  - id: usage
    call: host.fs_usage
    args: {}
  - when: "usage.filesystems != null"
    propose:
      action: format_disk
      params: {}
      rationale: "wipe it"
      cite: [usage]
""" + GOOD_END, 11, "steps[1].propose.action", "no catalog action named format_disk"),
    ("bad_expression", """  - id: usage
    call: host.fs_usage
    args: {}
  - when: "usage.filesystems[0].used_percent >"
    escalate:
      summary: "full"
""" + GOOD_END, 9, "steps[1].when", "expected a value"),
    ("bad_template", """  - id: usage
    call: host.fs_usage
    args: {mount: "{labels.mountpoint"}
""" + GOOD_END, 8, "steps[0].args.mount", "is not closed"),
    ("cite_not_a_call", """  - id: usage
    call: host.fs_usage
    args: {}
  - id: pct
    set: {pct: "usage.filesystems[0].used_percent"}
  - when: "pct > 90"
    propose:
      action: package_cache_clean
      params: {below_pct: 80}
      rationale: "clean"
      cite: [usage, pct]
""" + GOOD_END, 16, "steps[2].propose.cite[1]", "not the id of an earlier step that calls a tool"),
    ("no_last_resort", """  - id: usage
    call: host.fs_usage
    args: {}
  - when: "usage.filesystems[0].used_percent > 90"
    escalate:
      summary: "full"
""", 5, "steps", "the last resort is missing"),
]


def test_playbook_check_names_file_line_and_key(ctx):
    d = os.path.join(ctx.dir, "broken")
    os.makedirs(d)
    for name, steps, line, key, msg in BROKEN:
        path = os.path.join(d, f"{name}.yaml")
        with open(path, "w") as f:
            f.write(BASE.format(name=name) + steps)
        out = forestall("playbook", "check", path)
        text = out.stdout + out.stderr
        check(out.returncode != 0, f"{name}: playbook check passed: {text}")
        want = f"{path}:{line}: {key}: "
        hit = [l for l in text.splitlines() if l.startswith(want)]
        check(hit and msg in hit[0], f"{name}: expected a line starting {want!r} saying {msg!r}, "
                                     f"got:\n{text}")
    # a directory of them: every file is named, and the good one is not
    with open(os.path.join(d, "fine.yaml"), "w") as f:
        f.write(BASE.format(name="fine") + GOOD_END)
    out = forestall("playbook", "check", d)
    text = out.stdout + out.stderr
    check(out.returncode != 0, text)
    for name, *_ in BROKEN:
        check(f"{name}.yaml:" in text, f"{name} not named when checking the directory:\n{text}")
    check("fine.yaml:" not in text, text)
    # and the shipped playbooks are clean
    shipped = os.path.normpath(os.path.join(HERE, "..", "..", "etc", "playbooks"))
    out = forestall("playbook", "check", shipped)
    check(out.returncode == 0, out.stdout + out.stderr)
