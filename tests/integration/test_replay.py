"""`forestall replay`: real investigations are recorded with `forestall investigate --no-execute`
(a disk alert on a real tmpfs below /var/log that the gate lets execute, a CPU alert and a
service alert on this host), then replayed in shadow from the store: under the same policy every
incident is `same`; under a stricter policy the execute decision flips to needs_approval and is
reported with both decisions; a playbook that asks for a call the recording lacks is reported
`diverged`; a decision the kill switch blocked is judged with the switch as it was then, though it
is off when the replay runs; the recorded store's content is the same afterwards (row counts,
audit chain head) and no scratch store is left behind; it runs while a daemon holds the data
directory; bad input is a usage error."""
import json
import os
import shutil
import sqlite3
import subprocess

import lib
from lib import Tmpfs, am_alert, am_webhook, check, fill_journal, utc_rfc3339


def need_root():
    if os.geteuid() != 0:
        raise AssertionError("these tests mount a tmpfs and must run as root (CI does)")


def alert(labels):
    return am_webhook([am_alert(labels, {"summary": "replay test"}, starts_at=utc_rfc3339())])


def record(ctx, fs):
    """Three real investigations in ctx.dir/data; returns (data dir, {name: incident id})."""
    data = os.path.join(ctx.dir, "data")
    alerts = {
        "disk": {"alertname": "DiskSpaceWarning", "instance": "127.0.0.1:9100",
                 "mountpoint": fs.path, "severity": "warning", "service": "demo-logs"},
        "cpu": {"alertname": "HighCpuLoad", "instance": "127.0.0.1:9100", "severity": "warning",
                "service": "replay-cpu"},
        "service": {"alertname": "ServiceDown", "instance": "127.0.0.1:9100",
                    "severity": "warning", "service": "replay-svc",
                    "unit": "forestall-replay-absent.service"},
    }
    ids = {}
    for name, labels in alerts.items():
        path = os.path.join(ctx.dir, f"{name}.json")
        with open(path, "w") as f:
            json.dump(alert(labels), f)
        r = subprocess.run([lib.BIN, "investigate", "--data-dir", data, "--no-execute", "-o",
                            "json", path], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"investigate {name}: {r.stdout[-2000:]}{r.stderr}")
        first = json.loads(r.stdout.splitlines()[0])
        ids[name] = first["text"].split(":")[0]  # "inc-N: 1 alert(s) recorded (...)"
    check(len(set(ids.values())) == 3, f"the alerts share incidents: {ids}")
    return data, ids


def snapshot(data):
    """Row counts of every table and the audit chain's head, read-only."""
    db = sqlite3.connect(f"file:{os.path.join(data, 'forestall.db')}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        head = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        return counts, head
    finally:
        db.close()


def replay(ctx, data, *args, expect=0):
    tmp = os.path.join(ctx.dir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    env = dict(os.environ, TMPDIR=tmp)
    r = subprocess.run([lib.BIN, "replay", "--since", "1h", "--data-dir", data, *args],
                       capture_output=True, text=True, timeout=120, env=env)
    check(r.returncode == expect, f"replay {args}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    check(os.listdir(tmp) == [], f"scratch left behind: {os.listdir(tmp)}")
    return r


def by_incident(report):
    return {e["incident"]: e for e in report["incidents"]}


def with_recording(fn):
    def run(ctx):
        need_root()
        fs = Tmpfs()
        try:
            fill_journal(os.path.join(fs.path, "journal"), 7, 4 * 1024 * 1024)
            data, ids = record(ctx, fs)
            fn(ctx, fs, data, ids)
        finally:
            fs.remove()
    run.__name__ = fn.__name__
    return run


@with_recording
def test_replay_same_policy_all_same_stricter_policy_flips_execute_and_store_is_untouched(
        ctx, fs, data, ids):
    before = snapshot(data)
    files_before = sorted(os.listdir(os.path.join(fs.path, "journal")))

    # (a) the same policy: every incident is `same`, recorded and replayed agree field by field
    rep = json.loads(replay(ctx, data, "-o", "json").stdout)
    s = rep["summary"]
    check(s["replayed"] == 3 and s["same"] == 3 and s["skipped"] == 0, s)
    inc = by_incident(rep)
    check(set(inc) == set(ids.values()), f"{sorted(inc)} vs {ids}")
    for e in rep["incidents"]:
        check(e["verdict"] == "same" and e["changes"] == [] and e["unrecorded"] == [], e)
        for k in ("outcome", "action", "params", "decision", "risk"):
            check(e["recorded"].get(k) == e["replayed"].get(k), f"{k} differs: {e}")
    disk = inc[ids["disk"]]
    check(disk["recorded"]["action"] == "journal_vacuum" and
          disk["recorded"]["decision"] == "execute", disk["recorded"])
    check(disk["callsReplayed"] == disk["callsRecorded"] > 0, disk)
    text = replay(ctx, data).stdout
    check(text.strip().splitlines() == [text.strip()] and
          text.startswith("replayed 3 incidents since ") and ": 3 same, 0 decisions flipped, "
          "0 actions changed, 0 params changed, 0 outcomes changed, 0 diverged" in text, text)

    # (b) a stricter policy: a risk score over 20 needs a person — the disk incident flips
    strict = os.path.join(ctx.dir, "strict.yaml")
    with open(strict, "w") as f:
        f.write("threshold: 20\n")
    rep = json.loads(replay(ctx, data, "--policy", strict, "-o", "json").stdout)
    inc = by_incident(rep)
    d = inc[ids["disk"]]
    check(d["verdict"] == "decision_flipped" and d["changes"] == ["decision"], d)
    check(d["recorded"]["decision"] == "execute" and d["replayed"]["decision"] == "needs_approval",
          d)
    check(d["recorded"]["risk"] == d["replayed"]["risk"], d)
    check(d["replayed"]["state"] == "awaiting_approval", d["replayed"])
    check(rep["summary"]["decision_flipped"] == 1 and rep["summary"]["same"] == 2, rep["summary"])
    text = replay(ctx, data, "--policy", strict).stdout.splitlines()
    check(len(text) == 2 and text[0] == (f"{ids['disk']} decision_flipped: journal_vacuum execute "
                                         f"(risk {d['recorded']['risk']['score']}) -> "
                                         f"journal_vacuum needs_approval "
                                         f"(risk {d['replayed']['risk']['score']})"), text)
    check("2 same, 1 decision flipped, 0 actions changed" in text[1], text)
    # supervised mode flips it the same way
    sup = os.path.join(ctx.dir, "supervised.yaml")
    with open(sup, "w") as f:
        f.write("mode: supervised\n")
    rep = json.loads(replay(ctx, data, "--policy", sup, "-o", "json").stdout)
    d = by_incident(rep)[ids["disk"]]
    check(d["verdict"] == "decision_flipped" and d["replayed"]["decision"] == "needs_approval", d)

    # (c) nothing was written to the recorded store, nothing ran
    check(snapshot(data) == before, f"the store changed:\n{before}\n{snapshot(data)}")
    check(sorted(os.listdir(os.path.join(fs.path, "journal"))) == files_before,
          "a journal file went away")


@with_recording
def test_replay_of_a_playbook_calling_an_unrecorded_tool_is_diverged(ctx, fs, data, ids):
    pb = os.path.join(ctx.dir, "playbooks")
    os.makedirs(pb)
    here = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "playbooks",
                        "disk_pressure.yaml")
    with open(here) as f:
        text = f.read()
    check("depth: 2" in text, "the disk playbook no longer asks dir_sizes for depth 2")
    with open(os.path.join(pb, "disk_pressure.yaml"), "w") as f:
        f.write(text.replace("depth: 2", "depth: 3", 1))
    before = snapshot(data)
    rep = json.loads(replay(ctx, data, "--playbooks", pb, "-o", "json").stdout)
    d = by_incident(rep)[ids["disk"]]
    check(d["verdict"] == "diverged", d)
    check([(u["tool"], u["args"].get("depth")) for u in d["unrecorded"]] == [("host.dir_sizes", 3)],
          d["unrecorded"])
    check(rep["summary"]["diverged"] == 1 and rep["summary"]["same"] == 2, rep["summary"])
    out = replay(ctx, data, "--playbooks", pb).stdout
    check(f"{ids['disk']} diverged: " in out and "1 call(s) not recorded, first host.dir_sizes"
          in out and "1 diverged" in out, out)
    check(snapshot(data) == before, "the store changed")


@with_recording
def test_replay_runs_while_a_daemon_holds_the_data_directory(ctx, fs, data, ids):
    d = ctx.daemon(data_dir=data).start()
    r = subprocess.run([lib.BIN, "investigate", "--data-dir", data, "--no-execute",
                        os.path.join(ctx.dir, "cpu.json")], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode != 0 and "in use" in r.stderr, "the daemon does not hold the lock")
    rep = json.loads(replay(ctx, data, "-o", "json").stdout)
    check(rep["summary"]["replayed"] == 3 and rep["summary"]["same"] == 3, rep["summary"])
    d.stop()


def test_replay_bad_input_is_a_usage_error_naming_the_problem(ctx):
    data = os.path.join(ctx.dir, "data")
    cases = [
        ([], "--since is required"),
        (["--since", "yesterday-ish"], "--since: expected an RFC 3339 time or a duration"),
        (["--since", "1h", "--planner", "oracle"], 'no planner "oracle" (available: playbook, llm)'),
        (["--since", "1h", "--until", "2h"], "--until must be later than --since"),
        (["--since", "1h", "-o", "yaml"], "-o: expected text or json"),
        (["--since", "1h", "--limit", "-3"], "--limit"),
    ]
    for args, msg in cases:
        r = subprocess.run([lib.BIN, "replay", "--data-dir", data, *args], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 2 and msg in r.stderr, f"{args}: {r.returncode} {r.stderr}")
    # no store there: a failure that says where it looked, and no store is created
    r = subprocess.run([lib.BIN, "replay", "--since", "1h", "--data-dir", data],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "no store at" in r.stderr, r.stderr)
    check(not os.path.exists(os.path.join(data, "forestall.db")), "replay created a store")
    shutil.rmtree(data, ignore_errors=True)


def test_replay_judges_with_the_kill_switch_as_it_was_at_the_original_decision(ctx):
    # the daemon blocks a proposal while frozen; the switch is off again when the replay runs,
    # yet the replay still judges it frozen (the audit trail says so at that time): `same`
    need_root()
    fs = Tmpfs()
    try:
        fill_journal(os.path.join(fs.path, "journal"), 7, 4 * 1024 * 1024)
        d = ctx.daemon(config="executor: {max_verify_wait: 3s}\n").start()
        r = d.cli("freeze", "--as", "alice", "--reason", "replay test")
        check(r.returncode == 0, r.stderr)
        st, body = d.post("/api/v1/alerts/alertmanager", alert(
            {"alertname": "DiskSpaceWarning", "instance": "127.0.0.1:9100",
             "mountpoint": fs.path, "severity": "warning", "service": "demo-logs"}))
        check(st == 200, body)
        lib.wait_for(lambda: [i for i in d.incidents() if i.get("state") == "blocked"], 30,
                     what="the frozen daemon to block the proposal")
        r = d.cli("unfreeze", "--as", "alice", "--reason", "done")
        check(r.returncode == 0, r.stderr)
        rep = json.loads(replay(ctx, d.data_dir, "-o", "json").stdout)
        e = rep["incidents"][0]
        check(len(rep["incidents"]) == 1 and e["verdict"] == "same", rep)
        check(e["recorded"]["decision"] == e["replayed"]["decision"] == "blocked", e)
        d.stop()
    finally:
        fs.remove()
