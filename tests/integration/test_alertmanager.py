"""Real peers on loopback: a real Alertmanager delivering webhooks to forestall, and the whole
chain node_exporter (textfile collector) → Prometheus (rule) → Alertmanager → forestall."""
import datetime
import json
import time
import urllib.parse

from lib import (NodeExporter, Prometheus, am_alert, am_fingerprint, am_webhook, check,
                 http_request, metric_value, scrape, utc_rfc3339, wait_for)

SERIAL = True  # alone under -j: it times real Alertmanager and Prometheus intervals

AM_PATH = "/api/v1/alerts/alertmanager"


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def find_episode(d, **labels):
    for inc in d.incidents():
        for ep in inc["episodes"]:
            if all(ep["labels"].get(k) == v for k, v in labels.items()):
                return inc, ep
    return None


def test_real_alertmanager_webhook_fingerprint_and_resolve(ctx):
    d = ctx.daemon().start()
    am = ctx.alertmanager(webhook_url=d.url + AM_PATH)
    # values with non-ASCII bytes and characters Go escapes in JSON (& < >)
    labels = {"alertname": "ForestallAMTest", "instance": "web-1:9100", "severity": "critical",
              "team": "sre-é/ü", "query": "a&b<c>d"}
    started = time.time()
    am.post_alerts([{"labels": labels, "annotations": {"summary": "real AM test"},
                     "startsAt": utc_rfc3339(started),
                     "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up&g0.tab=1"}])

    found = wait_for(lambda: find_episode(d, alertname="ForestallAMTest"), 15, interval=0.1,
                     what="the Alertmanager webhook to open an incident")
    inc, ep = found
    check(inc["status"] == "open" and ep["status"] == "firing", f"{inc['status']} {ep}")
    check(ep["labels"] == labels, f"labels {ep['labels']} != {labels}")
    check(ep["source"] == "alertmanager", f"source {ep['source']}")
    check(abs(parse_time(ep["startsAt"]) - started) < 0.01, f"startsAt {ep['startsAt']}")
    check(ep["annotations"].get("summary") == "real AM test", ep["annotations"])

    am_alerts = [a for a in am.alerts() if a["labels"].get("alertname") == "ForestallAMTest"]
    check(len(am_alerts) == 1, f"Alertmanager holds {am_alerts}")
    am_fp = am_alerts[0]["fingerprint"]
    check(ep["fingerprint"] == am_fp, f"forestall fingerprint {ep['fingerprint']} != "
                                      f"Alertmanager's {am_fp}")
    check(am_fingerprint(labels) == am_fp, f"the test's own FNV-1a {am_fingerprint(labels)} "
                                           f"disagrees with Alertmanager's {am_fp}")

    # forestall computes the same fingerprint itself when the sender gives none
    d2 = ctx.daemon("no-fingerprint").start()
    st, body = d2.post(AM_PATH, am_webhook([am_alert(labels)]))
    check(st == 200, f"{st} {body}")
    own = d2.incidents()[0]["episodes"][0]["fingerprint"]
    check(own == am_fp, f"forestall's computed fingerprint {own} != Alertmanager's {am_fp}")
    d2.stop()

    # resolve in Alertmanager → resolved webhook → incident resolved
    ended = time.time()
    am.post_alerts([{"labels": labels, "annotations": {"summary": "real AM test"},
                     "startsAt": utc_rfc3339(started), "endsAt": utc_rfc3339(ended)}])

    def resolved():
        inc, ep = find_episode(d, alertname="ForestallAMTest")
        return (inc, ep) if inc["status"] == "resolved" else None
    inc, ep = wait_for(resolved, 15, interval=0.1, what="the resolved webhook")
    check(ep["status"] == "resolved" and ep["endInferred"] is False, f"episode {ep}")
    check(abs(parse_time(ep["endsAt"]) - ended) < 0.01, f"endsAt {ep['endsAt']} vs {ended}")
    check(len(inc["episodes"]) == 1 and len(d.incidents()) == 1,
          f"one alert should be one episode in one incident: {d.incidents()}")
    m = scrape(d)
    check(metric_value(m, "forestall_alerts_received_total", source="alertmanager") >= 2,
          "alerts_received_total{source=alertmanager}")
    check(metric_value(m, "forestall_incidents_open") == 0, "incidents_open after resolve")
    am.stop()
    d.stop()


RULES = """groups:
  - name: sre-test
    rules:
      - alert: TestDiskUsageWarning
        expr: sre_test_disk_used_percent > 80
        for: 0s
        labels:
          severity: warning
        annotations:
          summary: "Disk usage {{ $value }}% on {{ $labels.instance }} (mount {{ $labels.mountpoint }})"
"""


def test_full_chain_node_exporter_prometheus_alertmanager(ctx):
    d = ctx.daemon().start()
    am = ctx.alertmanager(webhook_url=d.url + AM_PATH)
    node = NodeExporter(ctx)
    node.set_textfile("sre_test", 'sre_test_disk_used_percent{mountpoint="/data"} 50')
    prom = Prometheus(ctx, [node.address], RULES, am.url)

    # wait until Prometheus scrapes the metric at all (so the change below is what fires)
    def scraped():
        q = urllib.parse.quote("sre_test_disk_used_percent")
        st, _, data = http_request(f"{prom.url}/api/v1/query?query={q}")
        res = json.loads(data)["data"]["result"] if st == 200 else []
        return res and res[0]["value"][1] == "50"
    wait_for(scraped, 20, interval=0.2, what="Prometheus to scrape the textfile metric")
    check(d.incidents() == [], "an incident before the threshold was crossed")

    t_set = time.monotonic()
    node.set_textfile("sre_test", 'sre_test_disk_used_percent{mountpoint="/data"} 92')
    inc, ep = wait_for(lambda: find_episode(d, alertname="TestDiskUsageWarning"), 30,
                       interval=0.1, what="the disk alert to reach forestall")
    fire_s = time.monotonic() - t_set
    want = {"alertname": "TestDiskUsageWarning", "instance": node.address, "job": "node",
            "mountpoint": "/data", "severity": "warning"}
    check(ep["labels"] == want, f"labels {ep['labels']} != {want}")
    check(inc["status"] == "open" and ep["status"] == "firing" and ep["severity"] == "warning",
          f"{inc['status']} {ep}")
    check("92" in ep["annotations"].get("summary", ""), f"summary {ep['annotations']}")
    check(ep["extra"].get("generatorURL", "").startswith(prom.url),
          f"generatorURL {ep['extra'].get('generatorURL')!r}")
    check(ep["fingerprint"] == am_fingerprint(want), f"fingerprint {ep['fingerprint']}")
    am_fps = [a["fingerprint"] for a in am.alerts()
              if a["labels"].get("alertname") == "TestDiskUsageWarning"]
    check(am_fps == [ep["fingerprint"]], f"Alertmanager {am_fps} vs forestall {ep['fingerprint']}")

    t_set = time.monotonic()
    node.set_textfile("sre_test", 'sre_test_disk_used_percent{mountpoint="/data"} 50')

    def resolved():
        inc, ep = find_episode(d, alertname="TestDiskUsageWarning")
        return (inc, ep) if inc["status"] == "resolved" else None
    inc, ep = wait_for(resolved, 30, interval=0.1, what="the resolve to reach forestall")
    resolve_s = time.monotonic() - t_set
    check(ep["status"] == "resolved" and ep["endInferred"] is False, f"episode {ep}")
    check(len(d.incidents()) == 1 and len(inc["episodes"]) == 1,
          f"one firing should be one episode: {d.incidents()}")
    print(f"    chain: fired in {fire_s:.1f}s, resolved in {resolve_s:.1f}s")
    prom.stop()
    am.stop()
    node.stop()
    d.stop()
