"""Post-mortems and the trace through the daemon's API and the CLI: with dispatch and the
executor off, an incident that nothing has handled yet still gets a post-mortem built on demand
(not stored) that names it, and its trace answers with every part empty."""
import json

from lib import am_alert, am_webhook, check

CONFIG = """dispatch:
  enabled: false
executor:
  enabled: false
"""


def test_postmortem_on_demand_and_trace(ctx):
    d = ctx.daemon(config=CONFIG).start()
    labels = {"alertname": "DiskSpaceWarning", "instance": "web-1:9100", "service": "monitoring",
              "severity": "warning"}
    st, body = d.post("/api/v1/alerts/alertmanager", am_webhook([am_alert(labels)]))
    check(st == 200, f"alert: {st} {body}")
    inc = d.incidents()[0]
    check(inc["id"] == "inc-1", inc)
    title = inc["title"]

    st, pm = d.get("/api/v1/incidents/inc-1/postmortem")
    check(st == 200, f"postmortem: {st} {pm}")
    check(pm["incidentId"] == "inc-1" and pm["stored"] is False, pm)
    md = pm["markdown"]
    check(md.startswith(f"# Post-mortem: inc-1 — {title}\n"), md[:200])
    for section in ("## Summary", "## Impact", "## Timeline", "## Evidence", "## Root cause",
                    "## Actions", "## Verification", "## Follow-ups"):
        check(section in md, f"{section} missing:\n{md}")
    check("Incident inc-1 opened" in md, md)
    data = pm["data"]
    check(data["incident"]["id"] == "inc-1" and data["incident"]["host"] == "web-1", data)
    check(data["outcome"] == "new" and data["actions"] == [], data)
    check(data["verification"]["result"] == "not_run", data)

    st, hd, raw = d.get("/api/v1/incidents/inc-1/postmortem?format=md", raw=True)
    check(st == 200 and hd["content-type"].startswith("text/markdown"), f"{st} {hd}")
    check(raw.decode().startswith(f"# Post-mortem: inc-1 — {title}\n"), raw[:200])
    st, body = d.get("/api/v1/incidents/inc-1/postmortem?format=pdf")
    check(st == 400 and body["error"]["path"] == "format", f"{st} {body}")
    st, body = d.get("/api/v1/incidents/inc-9/postmortem")
    check(st == 404 and body["error"]["code"] == "not_found", f"{st} {body}")

    st, tr = d.get("/api/v1/incidents/inc-1/trace")
    check(st == 200, f"trace: {st} {tr}")
    check(tr["incidentId"] == "inc-1" and tr["state"] == "new", tr)
    for key in ("investigations", "observations", "proposals", "executions"):
        check(tr[key] == [], f"{key}: {tr[key]}")
    st, body = d.get("/api/v1/incidents/inc-9/trace")
    check(st == 404, f"{st} {body}")

    # an observation recorded from outside shows up in both
    st, body = d.post("/api/v1/observations",
                      {"as": "probe", "incident": "inc-1", "tool": "host.df",
                       "input": {"path": "/"}, "output": "/dev/sda1 50G 42G 8.0G 84% /"})
    check(st in (200, 201), f"observe: {st} {body}")
    st, tr = d.get("/api/v1/incidents/inc-1/trace")
    check([o["tool"] for o in tr["observations"]] == ["host.df"], tr)
    st, pm = d.get("/api/v1/incidents/inc-1/postmortem")
    check("/dev/sda1 50G 42G 8.0G 84% /" in pm["markdown"], pm["markdown"])
    check(pm["data"]["audit"]["records"] >= 1, pm["data"]["audit"])

    r = d.cli("postmortem", "inc-1")
    check(r.returncode == 0, r.stderr)
    check(r.stdout.startswith(f"# Post-mortem: inc-1 — {title}\n"), r.stdout[:200])
    r = d.cli("postmortem", "1", "-o", "json")
    check(r.returncode == 0, r.stderr)
    check(json.loads(r.stdout)["data"]["incident"]["id"] == "inc-1", r.stdout[:200])
    r = d.cli("postmortem", "inc-9")
    check(r.returncode == 4, f"{r.returncode} {r.stderr}")
    d.stop()

    # --local reads the same store without the daemon
    cfg = d.config_path
    with open(cfg, "a") as f:
        f.write(f"data_dir: {d.data_dir}\n")
    r = d.cli("postmortem", "inc-1", "--local", "-c", cfg)
    check(r.returncode == 0, r.stderr)
    check(r.stdout.startswith(f"# Post-mortem: inc-1 — {title}\n"), r.stdout[:200])
