"""The daemon starts on the embedded defaults, takes an Alertmanager webhook, and shows the
incident through the API and the CLI."""
import json

from lib import am_alert, am_webhook, check


def test_alert_becomes_incident_and_resolves(ctx):
    d = ctx.daemon().start()
    labels = {"alertname": "DiskSpaceWarning", "instance": "web-1:9100", "severity": "warning"}
    st, body = d.post("/api/v1/alerts/alertmanager", am_webhook([am_alert(labels)]))
    check(st == 200 and body["status"] == "stored", f"{st} {body}")
    r = d.cli("incidents", "list", "-o", "json")
    check(r.returncode == 0, r.stderr)
    incs = json.loads(r.stdout)
    check(len(incs) == 1 and incs[0]["status"] == "open", incs)
    ep = incs[0]["episodes"][0]
    check(ep["status"] == "firing" and ep["startsAt"].startswith("2026-11-21T10:00:00"), ep)
    resolved = am_alert(labels, status="resolved", ends_at="2026-11-21T10:05:00Z")
    st, body = d.post("/api/v1/alerts/alertmanager", am_webhook([resolved]))
    check(st == 200, body)
    inc = d.incidents()[0]
    check(inc["status"] == "resolved" and inc["episodes"][0]["status"] == "resolved", inc)
    d.stop()
