"""End to end with real peers, seed 000's disk example: a real filesystem (tmpfs) fills past the
warning threshold → node_exporter reports it → a Prometheus rule fires → Alertmanager posts the
webhook → forestall investigates (real host tools, the real Prometheus forecast), proposes, the
gate passes it, the executor process vacuums the journal, verifies the filesystem is back under
the threshold, writes the post-mortem → the alert resolves."""
import json
import os
import time
import urllib.parse

from lib import (NodeExporter, Prometheus, Tmpfs, check, fill_journal, free_port, http_request,
                 journal_name, wait_for)

SERIAL = True  # alone under -j: it fills a tmpfs while real peers watch it on a 1 s scrape interval

AM_PATH = "/api/v1/alerts/alertmanager"


def rule(mount):
    sel = f'mountpoint="{mount}"'
    return f"""groups:
  - name: disk
    rules:
      - alert: DiskSpaceWarning
        expr: 100 * (1 - node_filesystem_avail_bytes{{{sel}}} / node_filesystem_size_bytes{{{sel}}}) > 80
        for: 0s
        labels: {{severity: warning, service: demo-logs}}
        annotations:
          summary: 'Disk usage {{{{ $value | printf "%.0f" }}}}% on {{{{ $labels.instance }}}} (mount {{{{ $labels.mountpoint }}}})'
"""


def test_e2e_real_peers_tmpfs_fills_remediated_and_alert_resolves(ctx):
    if os.geteuid() != 0:
        raise AssertionError("this test mounts a tmpfs and must run as root (CI does)")
    fs = Tmpfs()
    try:
        run(ctx, fs)
    finally:
        fs.remove()


def run(ctx, fs):
    journal = os.path.join(fs.path, "journal")
    fill_journal(journal, 3, 4 * 1024 * 1024)  # 12 MiB of archived journal on 32 MiB: healthy
    check(fs.usage_pct() < 80, f"the tmpfs starts {fs.usage_pct():.0f}% full")
    ne = NodeExporter(ctx)
    # Alertmanager needs the daemon's URL and the daemon Prometheus's: pick the port first
    port = free_port()
    am = ctx.alertmanager(webhook_url=f"http://127.0.0.1:{port}{AM_PATH}", group_wait="1s",
                          group_interval="1s")
    prom = Prometheus(ctx, [ne.address], rule(fs.path), am.url)
    d = ctx.daemon(config=f"""
tools:
  prometheus_url: {prom.url}
executor:
  max_verify_wait: 3s
""").start(port=port)

    # Prometheus watches the healthy filesystem first: a few samples under the threshold
    sel = f'node_filesystem_avail_bytes{{mountpoint="{fs.path}"}}'
    def samples():
        q = urllib.parse.urlencode({"query": f"count_over_time({sel}[1m])"})
        st, _, body = http_request(f"{prom.url}/api/v1/query?{q}")
        res = json.loads(body)["data"]["result"] if st == 200 else []
        return res and float(res[0]["value"][1]) >= 3
    wait_for(samples, 30, interval=0.5, what="Prometheus to scrape the healthy filesystem")
    check(d.incidents() == [], f"an incident before the disk filled: {d.incidents()}")
    # then the journal grows, one file a second, past the 80% warning threshold
    for i in range(4, 8):
        with open(os.path.join(journal, journal_name(i)), "wb") as f:
            f.write(os.urandom(4 * 1024 * 1024))
        time.sleep(1)
    check(fs.usage_pct() > 80, f"the tmpfs is only {fs.usage_pct():.0f}% full")

    # the alert arrives, the incident is investigated, remediated, verified
    def handled():
        for inc in d.incidents():
            if inc.get("state") in ("resolved", "escalated", "blocked", "awaiting_approval"):
                return inc
        return None
    inc = wait_for(handled, 60, interval=0.5, what="the incident to be handled")
    check(inc["state"] == "resolved", f"incident ended {inc['state']}: {json.dumps(inc)[:2000]}")
    # the journal was vacuumed by the real journalctl, and the filesystem is back under 80%
    left = os.listdir(journal)
    check(len(left) < 7, f"journal files left: {left}")
    check(fs.usage_pct() < 80, f"still {fs.usage_pct():.0f}% full")

    st, _, body = http_request(d.url + f"/api/v1/incidents/{inc['id']}/trace")
    check(st == 200, f"trace: {st}")
    trace = json.loads(body)
    tools = [o["tool"] for o in trace["observations"]]
    for t in ("host.fs_usage", "host.dir_sizes", "host.journal_disk_usage",
              "prometheus.forecast"):
        check(t in tools, f"{t} not called: {tools}")
    props = trace["proposals"]
    check(len(props) == 1 and props[0]["action"] == "journal_vacuum", f"proposals: {props}")
    check(props[0]["decision"] == "execute", f"decision: {props[0]['decision']}")
    ex = trace["executions"]
    check(len(ex) == 1 and ex[0]["outcome"] == "succeeded", f"executions: {ex}")
    states = [s["state"] for s in ex[0]["steps"]]
    check(states[:4] == ["intent", "started", "result", "verified"][:len(states[:4])]
          and "verified" in states, f"step log: {states}")

    # the post-mortem names the root cause and the forecast line
    st, _, body = http_request(d.url + f"/api/v1/incidents/{inc['id']}/postmortem?format=md")
    check(st == 200, f"postmortem: {st}")
    md = body.decode()
    check("journal_bloat" in md and "journal_vacuum" in md, md[:3000])
    # the forecast came from the real Prometheus, over the growth it watched
    fc = [o for o in trace["observations"] if o["tool"] == "prometheus.forecast"]
    check(fc and "95%" in json.dumps(fc[0]), f"forecast observation: {json.dumps(fc)[:1500]}")

    # the alert resolves: Prometheus stops firing, Alertmanager sends the resolve
    def resolved():
        for i in d.incidents():
            if i["id"] == inc["id"] and i["status"] == "resolved":
                return i
        return None
    wait_for(resolved, 30, interval=0.5, what="the alert to resolve")
    # and the audit chain holds
    cfg = os.path.join(ctx.dir, "verify.yaml")
    with open(cfg, "w") as f:
        f.write(f"data_dir: {d.data_dir}\n")
    out = d.cli("audit", "verify", "-c", cfg)
    check(out.returncode == 0, f"audit verify: {out.stdout} {out.stderr}")
