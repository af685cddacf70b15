"""Reconciliation against a real Alertmanager: firings and resolves whose webhooks were lost are
picked up by polling GET /api/v2/alerts; an unreachable Alertmanager only counts errors."""
import datetime
import json
import time

from lib import (Alertmanager, am_fingerprint, check, free_port, http_request,
                 metric_value, scrape, utc_rfc3339, wait_for)
from test_events import grafana_body

AM_PATH = "/api/v1/alerts/alertmanager"


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def reconcile_config(am_url, interval="1s"):
    return f"reconcile:\n  alertmanager_url: {am_url}\n  interval: {interval}\n"


def find_episode(d, alertname):
    for inc in d.incidents():
        for ep in inc["episodes"]:
            if ep["labels"].get("alertname") == alertname:
                return inc, ep
    return None


def runs(d, result):
    return metric_value(scrape(d), "forestall_reconcile_runs_total", result=result) or 0


def test_reconcile_recovers_lost_firing_and_resolve(ctx):
    # webhooks go to a port nobody listens on: every notification is lost
    am = ctx.alertmanager(webhook_url=f"http://127.0.0.1:{free_port()}/lost")
    d = ctx.daemon(config=reconcile_config(am.url)).start()
    wait_for(lambda: runs(d, "ok") >= 1, 10, what="a first successful poll")
    check(d.incidents() == [], "an incident before any alert")

    labels = {"alertname": "ReconcileMe", "instance": "db-7:9100", "severity": "critical"}
    started = time.time()
    am.post_alerts([{"labels": labels, "startsAt": utc_rfc3339(started),
                     "annotations": {"summary": "webhook lost"}}])
    t0 = time.monotonic()
    inc, ep = wait_for(lambda: find_episode(d, "ReconcileMe"), 8, interval=0.1,
                       what="reconciliation to find the firing alert")
    print(f"    firing reconciled after {time.monotonic() - t0:.1f}s")
    check(ep["source"] == "alertmanager", f"episode source {ep['source']!r}, want alertmanager")
    check(ep["status"] == "firing" and inc["status"] == "open", f"{inc['status']} {ep}")
    check(ep["labels"] == labels, f"labels {ep['labels']}")
    check(ep["fingerprint"] == am_fingerprint(labels), f"fingerprint {ep['fingerprint']}")
    check(abs(parse_time(ep["startsAt"]) - started) < 0.01, f"startsAt {ep['startsAt']}")
    check(ep["severity"] == "critical", ep)

    # later polls that see the same alert change nothing
    n_ok = runs(d, "ok")
    wait_for(lambda: runs(d, "ok") >= n_ok + 2, 6, what="two more polls")
    eps = [e for i in d.incidents() for e in i["episodes"]]
    check(len(eps) == 1 and eps[0]["status"] == "firing", f"repeated polls changed {eps}")
    m = scrape(d)
    check(metric_value(m, "forestall_reconcile_corrections_total", kind="firing") == 1,
          "reconcile_corrections_total{kind=firing} != 1")

    # resolve in Alertmanager; the resolved webhook is lost too
    am.post_alerts([{"labels": labels, "startsAt": utc_rfc3339(started),
                     "endsAt": utc_rfc3339()}])
    t0 = time.monotonic()

    def resolved():
        inc, ep = find_episode(d, "ReconcileMe")
        return (inc, ep) if ep["status"] == "resolved" else None
    inc, ep = wait_for(resolved, 8, interval=0.1, what="reconciliation to close the episode")
    print(f"    resolve reconciled after {time.monotonic() - t0:.1f}s")
    check(ep["endInferred"] is True, f"endInferred {ep['endInferred']}")
    check(inc["status"] == "resolved", f"incident {inc['status']}")
    check(parse_time(ep["endsAt"]) >= started, f"endsAt {ep['endsAt']} before startsAt")
    m = scrape(d)
    check(metric_value(m, "forestall_reconcile_corrections_total", kind="resolved") == 1,
          "reconcile_corrections_total{kind=resolved} != 1")
    check(metric_value(m, "forestall_reconcile_runs_total", result="error") == 0,
          "a poll of a healthy Alertmanager counted as an error")
    check(metric_value(m, "forestall_incidents_open") == 0, "incidents_open after the resolve")
    am.stop()
    d.stop()


def test_reconcile_and_webhook_do_not_double(ctx):
    port = free_port()
    am = ctx.alertmanager(webhook_url=f"http://127.0.0.1:{port}{AM_PATH}")
    d = ctx.daemon(config=reconcile_config(am.url)).start(port=port)
    labels = {"alertname": "BothPaths", "instance": "web-3:9100", "severity": "warning"}
    started = time.time()
    am.post_alerts([{"labels": labels, "startsAt": utc_rfc3339(started)}])
    wait_for(lambda: find_episode(d, "BothPaths"), 8, interval=0.1, what="the alert")
    # let both the webhook and a few polls arrive
    wait_for(lambda: metric_value(scrape(d), "forestall_alerts_received_total",
                                  source="alertmanager") >= 1, 8, interval=0.1,
             what="the webhook")
    n_ok = runs(d, "ok")
    wait_for(lambda: runs(d, "ok") >= n_ok + 2, 6, what="two more polls")
    incs = d.incidents()
    eps = [e for i in incs for e in i["episodes"]]
    check(len(incs) == 1 and len(eps) == 1, f"webhook + reconciliation made {len(eps)} episodes "
                                            f"in {len(incs)} incidents: {eps}")
    check(eps[0]["status"] == "firing" and eps[0]["source"] == "alertmanager", eps[0])
    am.post_alerts([{"labels": labels, "startsAt": utc_rfc3339(started),
                     "endsAt": utc_rfc3339()}])

    def resolved():
        inc, ep = find_episode(d, "BothPaths")
        return (inc, ep) if inc["status"] == "resolved" else None
    inc, ep = wait_for(resolved, 10, interval=0.1, what="the resolve")
    check(len(d.incidents()) == 1 and len(inc["episodes"]) == 1, d.incidents())
    am.stop()
    d.stop()


def test_reconcile_unreachable_alertmanager(ctx):
    dead = f"http://127.0.0.1:{free_port()}"
    d = ctx.daemon(config=reconcile_config(dead)).start()
    wait_for(lambda: runs(d, "error") >= 2, 10, interval=0.2, what="failed polls to be counted")
    check(runs(d, "ok") == 0, "a poll of a closed port counted as ok")
    st, body = d.get("/readyz")
    check(st == 200, f"not ready because Alertmanager is unreachable: {st} {body}")
    st, body = d.get("/api/v1/status")
    check(st == 200 and body["ready"] is True, f"status {st} {body}")
    # intake is unaffected
    st, body = d.post(AM_PATH, {"version": "4", "alerts": [
        {"status": "firing", "labels": {"alertname": "StillWorks"},
         "startsAt": "2026-11-21T10:00:00Z"}]})
    check(st == 200 and body["changed"] == 1, f"intake while reconciliation fails: {st} {body}")
    check(len(d.incidents()) == 1, "the alert was not stored")
    d.stop()


def silence(am, alertname):
    body = {"matchers": [{"name": "alertname", "value": alertname, "isRegex": False,
                          "isEqual": True}],
            "startsAt": utc_rfc3339(), "endsAt": utc_rfc3339(time.time() + 3600),
            "createdBy": "forestall-tests", "comment": "integration test"}
    st, _, data = http_request(am.url + "/api/v2/silences", "POST", json.dumps(body),
                               {"Content-Type": "application/json"})
    check(st == 200, f"Alertmanager POST /api/v2/silences: {st} {data!r}")


def test_reconcile_silenced_alerts(ctx):
    """A silenced (suppressed) alert is not a firing to report, but it is not resolved either:
    reconciliation must neither open it nor close it."""
    am = ctx.alertmanager(webhook_url=f"http://127.0.0.1:{free_port()}/lost")
    d = ctx.daemon(config=reconcile_config(am.url)).start()
    silence(am, "SilencedFromStart")
    now = utc_rfc3339()
    am.post_alerts([{"labels": {"alertname": "SilencedFromStart", "instance": "s-1"},
                     "startsAt": now},
                    {"labels": {"alertname": "SilencedLater", "instance": "s-2"},
                     "startsAt": now}])
    wait_for(lambda: find_episode(d, "SilencedLater"), 8, interval=0.1,
             what="the active alert to be reconciled")
    states = {a["labels"]["alertname"]: a["status"]["state"] for a in am.alerts()}
    check(states == {"SilencedFromStart": "suppressed", "SilencedLater": "active"}, states)
    n_ok = runs(d, "ok")
    wait_for(lambda: runs(d, "ok") >= n_ok + 2, 6, what="two more polls")
    check(find_episode(d, "SilencedFromStart") is None,
          "reconciliation opened an incident for a silenced alert")

    silence(am, "SilencedLater")
    wait_for(lambda: {a["status"]["state"] for a in am.alerts()} == {"suppressed"}, 5,
             what="Alertmanager to suppress the second alert")
    n_ok = runs(d, "ok")
    wait_for(lambda: runs(d, "ok") >= n_ok + 2, 6, what="two more polls")
    inc, ep = find_episode(d, "SilencedLater")
    check(ep["status"] == "firing" and inc["status"] == "open",
          f"silencing an alert made reconciliation resolve it: {ep}")
    check(len(d.incidents()) == 1, d.incidents())
    am.stop()
    d.stop()


def test_reconcile_leaves_other_sources_alone(ctx):
    """Reconciliation closes Alertmanager episodes that Alertmanager no longer has; Grafana
    alerts and generic events never came from it and must stay open."""
    am = ctx.alertmanager(webhook_url=f"http://127.0.0.1:{free_port()}/lost")
    d = ctx.daemon(config=reconcile_config(am.url)).start()
    st, body = d.post("/api/v1/alerts/grafana", grafana_body())
    check(st == 200, f"{st} {body}")
    st, body = d.post("/api/v1/events", {"type": "provider.unhealthy",
                                         "data": {"provider": "openai", "error_rate": 0.5}})
    check(st == 200, f"{st} {body}")
    n_ok = runs(d, "ok")
    wait_for(lambda: runs(d, "ok") >= n_ok + 3, 8, what="three polls")
    eps = [e for i in d.incidents() for e in i["episodes"]]
    check(len(eps) == 2 and all(e["status"] == "firing" for e in eps),
          f"reconciliation closed episodes that did not come from Alertmanager: "
          f"{[(e['source'], e['status']) for e in eps]}")
    am.stop()
    d.stop()


def test_reconcile_receiver_filter(ctx):
    """reconcile.receiver: only alerts routed to that receiver are considered. Alertmanager
    routes critical alerts to a second receiver that also delivers to forestall; reconciliation
    filtered on the first must neither report nor close the second receiver's alerts."""
    port = free_port()
    hook = f"http://127.0.0.1:{port}{AM_PATH}"
    am = Alertmanager(ctx, config_yaml=f"""route:
  receiver: forestall
  group_by: ['alertname', 'instance']
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
    - matchers: ['severity="critical"']
      receiver: forestall-critical
receivers:
  - name: forestall
    webhook_configs: [{{url: '{hook}', send_resolved: true}}]
  - name: forestall-critical
    webhook_configs: [{{url: '{hook}', send_resolved: true}}]
""")
    d = ctx.daemon(config=reconcile_config(am.url) + "  receiver: forestall\n").start(port=port)
    now = utc_rfc3339()
    am.post_alerts([{"labels": {"alertname": "Routine", "instance": "r-1",
                                "severity": "warning"}, "startsAt": now},
                    {"labels": {"alertname": "Paging", "instance": "p-1",
                                "severity": "critical"}, "startsAt": now}])
    wait_for(lambda: find_episode(d, "Routine") and find_episode(d, "Paging"), 10,
             interval=0.1, what="both webhooks")
    receivers = {a["labels"]["alertname"]: [r["name"] for r in a["receivers"]]
                 for a in am.alerts()}
    check(receivers == {"Routine": ["forestall"], "Paging": ["forestall-critical"]}, receivers)
    n_ok = runs(d, "ok")
    wait_for(lambda: runs(d, "ok") >= n_ok + 3, 8, what="three polls")
    check(runs(d, "error") == 0, "polls failed")
    states = {ep["labels"]["alertname"]: (ep["status"], ep["endInferred"])
              for i in d.incidents() for ep in i["episodes"]}
    check(states == {"Routine": ("firing", False), "Paging": ("firing", False)},
          f"alerts still firing in Alertmanager were closed by reconciliation filtered on "
          f"receiver 'forestall': {states}")
    am.stop()
    d.stop()
