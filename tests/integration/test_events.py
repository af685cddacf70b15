"""Generic events (docs/events.md) and Grafana webhooks: the four known event types become
incidents with their derived labels and Alertmanager-style fingerprints; invalid data is
refused with its JSON path; ids make retries idempotent; resolves and ends_at close episodes;
a Grafana (version "1") webhook is accepted with source "grafana"."""
import datetime
import time

from lib import am_fingerprint as fingerprint
from lib import check, metric_value, scrape, wait_for
from lib import utc_rfc3339 as rfc3339

EVENTS = "/api/v1/events"


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def episodes(d):
    return [ep for inc in d.incidents() for ep in inc["episodes"]]


def episode_by_fp(d, fp):
    for inc in d.incidents():
        for ep in inc["episodes"]:
            if ep["fingerprint"] == fp:
                return inc, ep
    return None, None


KNOWN = [
    ({"type": "provider.unhealthy", "id": "admin-api:evt-8841",
      "occurred_at": "2026-11-21T10:45:00Z", "labels": {"env": "prod"},
      "data": {"provider": "openai", "error_rate": 0.31, "requests": 120, "window_s": 300}},
     {"alertname": "provider.unhealthy", "env": "prod", "provider": "openai",
      "severity": "warning"},
     "7706c8411a2343ad", "provider openai error rate 31% over 300s (120 requests)"),
    ({"type": "budget.exceeded",
      "data": {"scope": "team", "name": "ml-research", "limit_kind": "hard", "limit": 1000,
               "spent": 1250.5, "currency": "USD"}},
     {"alertname": "budget.exceeded", "scope": "team", "team": "ml-research",
      "limit_kind": "hard", "severity": "critical"},
     "a7f4db8f8eff5a90", "team ml-research exceeded its hard budget: spent 1250.5 of 1000 USD"),
    ({"type": "sla.violation", "started_at": "2026-11-21T09:12:00Z",
      "data": {"sla": "gold", "metric": "p95_latency", "target": 1500, "observed": 2300,
               "provider": "anthropic", "model_group": "claude"}},
     {"alertname": "sla.violation", "sla": "gold", "metric": "p95_latency",
      "severity": "warning"},
     "9ec5ba4fff5293e9", "SLA gold p95_latency breached: observed 2300, target 1500 "
                         "(provider anthropic, model group claude)"),
    ({"type": "latency.spike", "severity": "critical",
      "data": {"provider": "openai", "observed_ms": 4500, "baseline_ms": 1500}},
     {"alertname": "latency.spike", "provider": "openai", "severity": "critical"},
     None, "provider openai latency 4500ms, 3x the 1500ms baseline"),
]


def test_four_known_event_types(ctx):
    d = ctx.daemon().start()
    for event, labels, doc_fp, summary in KNOWN:
        what = event["type"]
        st, body = d.post(EVENTS, event)
        check(st == 200 and body["status"] == "stored" and body["alerts"] == 1
              and body["changed"] == 1, f"{what}: {st} {body}")
        fp = fingerprint(labels)
        if doc_fp:
            check(fp == doc_fp, f"test's fingerprint {fp} != documented {doc_fp} for {what}")
        inc, ep = episode_by_fp(d, fp)
        check(ep is not None, f"{what}: no episode with fingerprint {fp}; have "
                              f"{[(e['fingerprint'], e['labels']) for e in episodes(d)]}")
        check(ep["labels"] == labels, f"{what}: labels {ep['labels']}, want {labels}")
        check(ep["source"] == "event" and ep["status"] == "firing", f"{what}: {ep}")
        check(ep["alertname"] == event["type"], f"{what}: alertname {ep['alertname']}")
        check(ep["severity"] == labels["severity"] and inc["severity"] == labels["severity"],
              f"{what}: severity {ep['severity']}/{inc['severity']}")
        check(ep["annotations"].get("summary") == summary,
              f"{what}: summary {ep['annotations'].get('summary')!r}, want {summary!r}")
        check(inc["status"] == "open", f"{what}: incident {inc['status']}")
        check(ep["extra"].get("type") == event["type"] and ep["extra"].get("data"),
              f"{what}: extra {ep['extra']}")
        if "started_at" in event:
            check(ep["startsAt"].startswith(event["started_at"][:19]), f"{what}: {ep['startsAt']}")
    check(len(episodes(d)) == 4, f"{len(episodes(d))} episodes for 4 events")
    _, ep = episode_by_fp(d, fingerprint(KNOWN[3][1]))
    check(ep["extra"]["data"].get("ratio") == 3, f"latency.spike ratio: {ep['extra']['data']}")
    _, ep = episode_by_fp(d, fingerprint(KNOWN[0][1]))
    check(ep["extra"].get("id") == "admin-api:evt-8841", f"extra.id: {ep['extra']}")
    m = scrape(d)
    check(metric_value(m, "forestall_alerts_received_total", source="event") == 4,
          "alerts_received_total{source=event} != 4")
    d.stop()


INVALID = [
    ({"type": "provider.unhealthy", "data": {"provider": "openai", "error_rate": 2.0}},
     "data.error_rate", "data.error_rate: must be between 0 and 1 (a fraction), got 2"),
    ({"type": "provider.unhealthy", "data": {"error_rate": 0.3}},
     "data.provider", "data.provider: required field is missing"),
    ({"type": "provider.unhealthy", "data": {"provider": "", "error_rate": 0.3}},
     "data.provider", "data.provider: must not be empty"),
    ({"type": "budget.exceeded"}, "data", "data: required field is missing"),
    ({"type": "sla.violation", "data": {"sla": "gold", "metric": "p95_latency",
                                        "target": "1500ms", "observed": 2300}},
     "data.target", "data.target: expected number, got string"),
    ({"type": "latency.spike", "data": {"provider": "openai", "observed_ms": 10,
                                        "baseline_ms": 0}},
     "data.baseline_ms", "data.baseline_ms: must be greater than 0"),
    ({"events": [{"type": "x.y"}, {"type": "budget.exceeded",
                                   "data": {"scope": "dept", "name": "n", "limit_kind": "soft",
                                            "limit": 1, "spent": 2}}]},
     "events[1].data.scope", 'events[1].data.scope: expected "team" or "org", got "dept"'),
    ({"type": "provider.unhealthy", "labels": {"provider": "azure"},
      "data": {"provider": "openai", "error_rate": 0.3}},
     "labels.provider", "labels.provider: cannot override the label derived from the event"),
    ({"type": "latency.spike", "occured_at": "2026-11-21T10:45:00Z",
      "data": {"provider": "openai", "observed_ms": 4500, "baseline_ms": 1500}},
     "occured_at", "occured_at: unknown field"),
    ({"type": "Deploy-Failed"}, "type", 'got "Deploy-Failed"'),
    ({"type": "x.y", "id": "has space"}, "id", 'id: expected 1 to 128 characters'),
    ({"type": "x.y", "status": "open"}, "status", 'status: expected "firing" or "resolved"'),
    ({"type": "x.y", "occurred_at": "21/11/2026 10:45"}, "occurred_at", "RFC 3339"),
    ({"events": [{"type": "x.y", "id": "a"}, {"type": "x.y", "id": "a"}]},
     "events[1].id", "events[1].id: duplicate of events[0].id"),
]


def test_invalid_events_name_the_path(ctx):
    d = ctx.daemon().start()
    for event, path, msg in INVALID:
        st, body = d.post(EVENTS, event)
        check(st == 400, f"{event}: {st} {body}")
        e = body["error"]
        check(e["code"] == "invalid_payload", f"{event}: code {e['code']}")
        check(e["path"] == path, f"{event}: path {e['path']!r}, want {path!r}")
        check(msg in e["message"] and e["message"].startswith(path),
              f"{event}: message {e['message']!r}, want {msg!r}")
    check(episodes(d) == [], "an invalid event made an episode")
    st, dls = d.get("/api/v1/dead-letters?limit=0")
    check(st == 200 and len(dls) == len(INVALID), f"{len(dls)} dead letters for {len(INVALID)}")
    check(all(x["source"] == "event" and x["httpStatus"] == 400 for x in dls), dls[:2])
    check([x["path"] for x in reversed(dls)] == [p for _, p, _ in INVALID],
          f"dead-letter paths {[x['path'] for x in reversed(dls)]}")
    d.stop()


def test_event_id_deduplicates_retries(ctx):
    d = ctx.daemon().start()
    event = {"type": "provider.unhealthy", "id": "gw:retry-1",
             "data": {"provider": "mistral", "error_rate": 0.4}}
    st, first = d.post(EVENTS, event)
    check(st == 200 and first["changed"] == 1 and first["deduplicated"] == 0
          and first["incidentsOpened"] == 1, f"first: {st} {first}")
    time.sleep(0.05)  # a retry arrives later, with a later receipt time
    st, second = d.post(EVENTS, event)
    check(st == 200 and second["deduplicated"] == 1 and second["changed"] == 0
          and second["incidentsOpened"] == 0, f"retry: {st} {second}")
    # even a body that differs is a repeat when it carries the same id
    event2 = dict(event, data={"provider": "mistral", "error_rate": 0.9})
    st, third = d.post(EVENTS, event2)
    check(st == 200 and third["deduplicated"] == 1 and third["changed"] == 0,
          f"same id, other body: {st} {third}")
    eps = episodes(d)
    check(len(eps) == 1 and len(d.incidents()) == 1, f"{len(eps)} episodes after a retry")
    check(eps[0]["extra"]["data"]["error_rate"] == 0.4, f"the retry changed the episode: {eps}")
    # a batch id works the same way
    batch = {"id": "deploy-bot:run-1", "events": [
        {"type": "deploy.rollout_failed", "id": "d-1", "severity": "critical",
         "labels": {"service": "checkout"}},
        {"type": "provider.unhealthy", "id": "d-2",
         "data": {"provider": "azure-openai", "error_rate": 0.5}}]}
    st, b1 = d.post(EVENTS, batch)
    check(st == 200 and b1["alerts"] == 2 and b1["changed"] == 2, f"batch: {st} {b1}")
    st, b2 = d.post(EVENTS, batch)
    check(st == 200 and b2["deduplicated"] == 2 and b2["changed"] == 0, f"batch retry: {b2}")
    check(len(episodes(d)) == 3, f"{len(episodes(d))} episodes")
    m = scrape(d)
    check(metric_value(m, "forestall_alerts_deduplicated_total", source="event") == 4,
          "alerts_deduplicated_total{source=event} != 4")
    d.stop()


def test_resolved_event_closes_episode(ctx):
    d = ctx.daemon().start()
    fire = {"type": "sla.violation", "labels": {"env": "prod"},
            "data": {"sla": "silver", "metric": "success_rate", "target": 0.99,
                     "observed": 0.95}}
    st, body = d.post(EVENTS, fire)
    check(st == 200 and body["incidentsOpened"] == 1, f"{st} {body}")
    # a repeated "still violated" report continues the same episode
    st, body = d.post(EVENTS, dict(fire, data=dict(fire["data"], observed=0.94)))
    check(st == 200, f"{st} {body}")
    eps = episodes(d)
    check(len(eps) == 1 and eps[0]["status"] == "firing", f"repeat made {eps}")
    t_resolve = time.time()
    resolve = dict(fire, status="resolved", data=dict(fire["data"], observed=0.999))
    st, body = d.post(EVENTS, resolve)
    check(st == 200 and body["changed"] == 1, f"resolve: {st} {body}")
    incs = d.incidents()
    check(len(incs) == 1 and incs[0]["status"] == "resolved", f"incident {incs}")
    ep = incs[0]["episodes"][0]
    check(len(incs[0]["episodes"]) == 1 and ep["status"] == "resolved"
          and ep["endInferred"] is False, f"episode {ep}")
    check(abs(parse_time(ep["endsAt"]) - t_resolve) < 5, f"endsAt {ep['endsAt']}")
    # a resolved event that is already resolved changes nothing
    st, body = d.post(EVENTS, resolve)
    check(st == 200 and body["changed"] == 0, f"second resolve: {st} {body}")
    d.stop()


def test_ends_at_expires_without_resolve(ctx):
    d = ctx.daemon().start()
    ends = time.time() + 1.5
    event = {"type": "latency.spike", "ends_at": rfc3339(ends),
             "data": {"provider": "groq", "observed_ms": 900, "baseline_ms": 300}}
    long_lived = {"type": "provider.unhealthy", "data": {"provider": "groq", "error_rate": 0.2}}
    # a later report may move ends_at: the expiry follows it
    extended = {"type": "queue.backlog_high", "ends_at": rfc3339(ends), "severity": "info"}
    for e in (event, long_lived, extended):
        st, body = d.post(EVENTS, e)
        check(st == 200 and body["changed"] == 1, f"{st} {body}")
    st, body = d.post(EVENTS, dict(extended, ends_at=rfc3339(ends + 2.5)))
    check(st == 200 and body["changed"] == 1, f"extending ends_at: {st} {body}")
    fp = fingerprint({"alertname": "latency.spike", "provider": "groq", "severity": "warning"})
    fp_ext = fingerprint({"alertname": "queue.backlog_high", "severity": "info"})
    _, ep = episode_by_fp(d, fp)
    check(ep and ep["status"] == "firing", f"not firing before ends_at: {ep}")

    def closed():
        _, e = episode_by_fp(d, fp)
        return e if e["status"] == "resolved" else None
    ep = wait_for(closed, 6, interval=0.2, what="housekeeping to close the expired event")
    check(time.time() >= ends - 0.05, "closed before its ends_at")
    check(ep["endInferred"] is True, f"endInferred {ep['endInferred']}")
    check(abs(parse_time(ep["endsAt"]) - ends) < 0.01, f"endsAt {ep['endsAt']} != {rfc3339(ends)}")
    # the event without ends_at stays open (event_ttl is 1h); the extended one is still open
    other = {e["fingerprint"]: e for e in episodes(d) if e["fingerprint"] != fp}
    check(len(other) == 2 and all(e["status"] == "firing" for e in other.values()),
          f"other episodes {other}")

    def ext_closed():
        _, e = episode_by_fp(d, fp_ext)
        return e if e["status"] == "resolved" else None
    ep = wait_for(ext_closed, 6, interval=0.2, what="the extended event to expire")
    check(time.time() >= ends + 2.45, "the extended event closed at its first ends_at")
    check(ep["endInferred"] is True and abs(parse_time(ep["endsAt"]) - (ends + 2.5)) < 0.01,
          f"extended episode {ep}")
    m = scrape(d)
    check(metric_value(m, "forestall_episodes_expired_total") == 2,
          "episodes_expired_total != 2")
    d.stop()


def grafana_body(status="firing", values=None, ends="0001-01-01T00:00:00Z"):
    labels = {"alertname": "HighCPU", "grafana_folder": "infra", "instance": "db-1:9100",
              "severity": "critical"}
    alert = {"status": status, "labels": labels,
             "annotations": {"summary": "CPU above 90% on db-1"},
             "startsAt": "2026-11-21T10:30:00Z", "endsAt": ends,
             "generatorURL": "http://grafana:3000/alerting/grafana/abc123/view?orgId=1",
             "fingerprint": "5e1d8a6c3f2b7d90",
             "silenceURL": "http://grafana:3000/alerting/silence/new?alertmanager=grafana",
             "dashboardURL": "http://grafana:3000/d/x",
             "panelURL": "http://grafana:3000/d/x?viewPanel=2",
             "values": values if values is not None else {"A": 97.5, "B": None},
             "valueString": "[ var='A' labels={instance=db-1:9100} value=97.5 ]"}
    return {"receiver": "forestall", "status": status, "orgId": 1, "alerts": [alert],
            "groupLabels": {"alertname": "HighCPU"}, "commonLabels": labels,
            "commonAnnotations": {}, "externalURL": "http://grafana:3000/", "version": "1",
            "groupKey": '{}/{}:{alertname="HighCPU"}', "truncatedAlerts": 0,
            "title": "[FIRING:1] HighCPU infra", "state": "alerting",
            "message": "**Firing**\n\nValue: A=97.5"}


def test_grafana_webhook(ctx):
    d = ctx.daemon().start()
    st, body = d.post("/api/v1/alerts/grafana", grafana_body())
    check(st == 200 and body["alerts"] == 1 and body["incidentsOpened"] == 1, f"{st} {body}")
    incs = d.incidents()
    check(len(incs) == 1, incs)
    ep = incs[0]["episodes"][0]
    check(ep["source"] == "grafana" and ep["status"] == "firing", f"episode {ep}")
    check(ep["fingerprint"] == "5e1d8a6c3f2b7d90", f"fingerprint {ep['fingerprint']}")
    check(ep["severity"] == "critical" and ep["alertname"] == "HighCPU", ep)
    check(ep["extra"].get("values") == {"A": 97.5, "B": None}, f"values {ep['extra']}")
    check(ep["extra"].get("dashboardURL") == "http://grafana:3000/d/x", f"extra {ep['extra']}")
    r = d.cli("incidents", "list", "-o", "json")
    check(r.returncode == 0 and '"grafana"' in r.stdout, f"CLI: {r.returncode} {r.stderr}")
    # a value that is not a number is refused with its path
    st, body = d.post("/api/v1/alerts/grafana", grafana_body(values={"A": "high"}))
    check(st == 400 and body["error"]["path"] == "alerts[0].values.A"
          and "expected number or null" in body["error"]["message"], f"{st} {body}")
    # and the resolve closes it
    st, body = d.post("/api/v1/alerts/grafana",
                      grafana_body(status="resolved", ends="2026-11-21T10:40:00Z"))
    check(st == 200 and body["changed"] == 1, f"resolve: {st} {body}")
    inc = d.incidents()[0]
    check(inc["status"] == "resolved" and inc["episodes"][0]["status"] == "resolved"
          and inc["episodes"][0]["endsAt"].startswith("2026-11-21T10:40:00"), inc)
    m = scrape(d)
    check(metric_value(m, "forestall_alerts_received_total", source="grafana") == 2,
          "alerts_received_total{source=grafana} != 2")
    d.stop()
