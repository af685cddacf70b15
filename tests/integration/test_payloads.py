"""Hostile payloads on the intake: each gets the right status, code and a message naming the
JSON path; valid alerts sent in between are all kept; the daemon stays ready; and every
rejected body is in the dead-letter table (400s with their body, the oversized 413s with how
much was sent). The same table runs on each intake route, in that route's own body shape."""
import http.client
import json
import signal

from lib import (am_alert, am_webhook, check, metric_value, raw_http_request, scrape,
                 wait_for)

AM = "/api/v1/alerts/alertmanager"
GRAFANA = "/api/v1/alerts/grafana"
EVENTS = "/api/v1/events"
SOURCE = {AM: "alertmanager", GRAFANA: "grafana", EVENTS: "event"}
TEN_MB = 10 * 1024 * 1024
T0 = "2026-11-21T10:00:00Z"


def alert_json(labels, **kw):
    a = {"status": "firing", "labels": labels, "annotations": {}, "startsAt": T0,
         "endsAt": "0001-01-01T00:00:00Z"}
    a.update(kw)
    return a


def body_of(alerts, version="4"):
    return json.dumps({"version": version, "status": "firing", "receiver": "r", "alerts": alerts})


def _case(name, body, status, code, path, msg, route=AM, mode="plain"):
    if isinstance(body, str):
        body = body.encode()
    return {"name": name, "body": body, "status": status, "code": code, "path": path,
            "msg": msg, "route": route, "mode": mode}


def hostile_cases(route=AM):
    """The table for one intake route: for Alertmanager and Grafana (the same alert shape, in
    version "4" and "1" bodies) the webhook cases, for events the event cases."""
    if route == EVENTS:
        return event_cases()
    if route == GRAFANA:
        return webhook_cases(GRAFANA, "1") + [
            _case("values entry as string", body_of([alert_json(
                {"alertname": "V"}, values={"A": "high"})], "1"), 400, "invalid_payload",
                "alerts[0].values.A", "alerts[0].values.A: expected number or null, got string",
                route=GRAFANA),
            _case("orgId as string", '{"version":"1","orgId":"one","alerts":[]}', 400,
                  "invalid_payload", "orgId", "orgId: expected integer, got string",
                  route=GRAFANA),
            _case("Alertmanager version 4 on the Grafana route",
                  json.dumps(am_webhook([am_alert({"alertname": "W"})])), 400, "invalid_payload",
                  "version", "Alertmanager", route=GRAFANA),
        ]
    return webhook_cases(AM, "4") + [
        _case("Grafana version 1 on the Alertmanager route",
              json.dumps({"version": "1", "orgId": 1, "alerts": [alert_json(
                  {"alertname": "Inner", "instance": "inner-1"})]}), 400,
              "invalid_payload", "version", "/api/v1/alerts/grafana"),
        _case("Alertmanager version 4 on the Grafana route",
              json.dumps(am_webhook([am_alert({"alertname": "Inner", "instance": "inner-1"})])),
              400, "invalid_payload", "version", "Alertmanager", route=GRAFANA),
    ]


def webhook_cases(route, version):
    """Alertmanager-shaped bodies (Grafana's differ only in version "1" and a few extras)."""
    ok = {"alertname": "Inner", "instance": "inner-1"}
    deep = 10000

    def body(alerts):
        return body_of(alerts, version)

    def case(*a, **kw):
        return _case(*a, route=route, **kw)
    valid = json.dumps(dict(json.loads(body_of([am_alert(ok)], version)), orgId=1)
                       if version == "1" else am_webhook([am_alert(ok)]))
    return [
        case("truncated JSON", '{"alerts":[{"status":"firing","labels":{"alertname":"T"', 400,
             "invalid_json", None, "end"),
        case("alerts as string", '{"alerts":"DiskFull"}', 400, "invalid_payload", "alerts",
             "alerts: expected array, got string"),
        case("labels as array", body([alert_json(["alertname", "X"])]), 400,
             "invalid_payload", "alerts[0].labels",
             "alerts[0].labels: expected object, got array"),
        # the bad alert is the second: the first (valid) one must not be half-applied
        case("label value as number",
             body([alert_json(ok), alert_json({"alertname": "N", "severity": 3})]), 400,
             "invalid_payload", "alerts[1].labels.severity",
             "alerts[1].labels.severity: expected string, got number"),
        case("label name needing quotes", body([alert_json({"alertname": "Q", "bad-name": 7})]),
             400, "invalid_payload", 'alerts[0].labels["bad-name"]',
             "expected string, got number"),
        case("no alerts", '{"version":"%s","status":"firing","receiver":"r"}' % version, 400,
             "invalid_payload", "alerts", "alerts: required field is missing"),
        case("no status", body([{k: v for k, v in alert_json(ok).items() if k != "status"}]),
             400, "invalid_payload", "alerts[0].status", "alerts[0].status: required"),
        case("no labels", body([{k: v for k, v in alert_json(ok).items() if k != "labels"}]),
             400, "invalid_payload", "alerts[0].labels", "alerts[0].labels: required"),
        case("no startsAt",
             body([{k: v for k, v in alert_json(ok).items() if k != "startsAt"}]), 400,
             "invalid_payload", "alerts[0].startsAt", "alerts[0].startsAt: required"),
        case("bad startsAt", body([alert_json(ok, startsAt="21/11/2026 10:00")]), 400,
             "invalid_payload", "alerts[0].startsAt", "RFC 3339"),
        case("bad status word", body([alert_json(ok, status="pending")]), 400,
             "invalid_payload", "alerts[0].status", '"pending"'),
        case("10 MB with Content-Length", b'{"alerts":[' + b" " * TEN_MB + b"]}", 413,
             "too_large", None, "max_body", mode="content-length"),
        case("10 MB chunked", b'{"alerts":[' + b" " * TEN_MB + b"]}", 413, "too_large", None,
             "max_body", mode="chunked"),
        case("10,000-deep nesting", '{"alerts":' + "[" * deep + "]" * deep + "}", 400, "too_deep",
             None, "32"),
        case("invalid UTF-8",
             b'{"alerts":[{"status":"firing","labels":{"alertname":"\xc3\x28\xff"}'
             b',"startsAt":"2026-11-21T10:00:00Z"}]}', 400, "invalid_utf8", None, "UTF-8"),
        case("nesting of 33", valid[:-1] + ', "x": '
             + "[" * 32 + "]" * 32 + "}", 400, "too_deep", None, "32"),
        case("\\u0000 in a string", body([alert_json({"alertname": "A\u0000B"})]), 400,
             "invalid_json", None, "NUL"),
        case("empty body", b"", 400, "invalid_json", None, "empty"),
        case("array at top level", "[" + json.dumps(alert_json(ok)) + "]", 400, "invalid_payload",
             None, "expected object, got array"),
        case("duplicate key", '{"alerts":[],"alerts":[]}', 400, "invalid_json", None, "duplicate"),
        case("trailing garbage", '{"alerts":[]} {"alerts":[]}', 400, "invalid_json", None, ""),
        case("too many alerts",
             body([alert_json({"alertname": "M", "n": str(i)}) for i in range(1001)]), 400,
             "too_many_alerts", "alerts", "1001"),
    ]


def event_cases():
    """The same kinds of hostile body for /api/v1/events (docs/events.md)."""
    deep = 10000
    ok = {"type": "custom.inner", "labels": {"instance": "inner-1"}}

    def case(*a, **kw):
        return _case(*a, route=EVENTS, **kw)

    def ev(**kw):
        e = {"type": "custom.hostile"}
        e.update(kw)
        return json.dumps(e)
    return [
        case("truncated JSON", '{"type":"provider.unhealthy","data":{"provider":"op', 400,
             "invalid_json", None, "end"),
        case("type as number", '{"type":3}', 400, "invalid_payload", "type",
             "type: expected string, got number"),
        case("labels as array", ev(labels=["instance", "x"]), 400, "invalid_payload", "labels",
             "labels: expected object, got array"),
        # the bad event is the second of a batch: the first (valid) one must not be applied
        case("label value as number",
             json.dumps({"events": [ok, {"type": "custom.hostile", "labels": {"team": 3}}]}),
             400, "invalid_payload", "events[1].labels.team",
             "events[1].labels.team: expected string, got number"),
        case("label name needing quotes", ev(labels={"bad-name": "x"}), 400, "invalid_payload",
             'labels["bad-name"]', "a label name must match"),
        case("data as string", '{"type":"provider.unhealthy","data":"openai"}', 400,
             "invalid_payload", "data", "data: expected object, got string"),
        case("severity as number", json.dumps({"events": [ok, {"type": "custom.hostile",
                                                               "severity": 3}]}),
             400, "invalid_payload", "events[1].severity",
             "events[1].severity: expected string, got number"),
        case("events as string", '{"events":"DiskFull"}', 400, "invalid_payload", "events",
             "events: expected array, got string"),
        case("no type", '{"data":{"provider":"openai"}}', 400, "invalid_payload", "type",
             "type: required field is missing"),
        case("no type in a batch", json.dumps({"events": [ok, {"data": {}}]}), 400,
             "invalid_payload", "events[1].type", "events[1].type: required field is missing"),
        case("no data for a known type", '{"type":"provider.unhealthy"}', 400,
             "invalid_payload", "data", "data: required field is missing"),
        case("no data.provider", '{"type":"provider.unhealthy","data":{}}', 400,
             "invalid_payload", "data.provider", "data.provider: required field is missing"),
        case("bad occurred_at", ev(occurred_at="21/11/2026 10:00"), 400, "invalid_payload",
             "occurred_at", "RFC 3339"),
        case("bad status word", ev(status="pending"), 400, "invalid_payload", "status",
             '"pending"'),
        case("misspelt field", ev(occured_at=T0), 400, "invalid_payload", "occured_at",
             "occured_at: unknown field"),
        case("10 MB with Content-Length", b'{"events":[' + b" " * TEN_MB + b"]}", 413,
             "too_large", None, "max_body", mode="content-length"),
        case("10 MB chunked", b'{"events":[' + b" " * TEN_MB + b"]}", 413, "too_large", None,
             "max_body", mode="chunked"),
        case("10,000-deep nesting", '{"data":' + "[" * deep + "]" * deep + "}", 400,
             "too_deep", None, "32"),
        case("invalid UTF-8", b'{"type":"custom.hostile","labels":{"a":"\xc3\x28\xff"}}', 400,
             "invalid_utf8", None, "UTF-8"),
        case("nesting of 33", '{"type":"custom.hostile","data":' + "[" * 32 + "]" * 32 + "}",
             400, "too_deep", None, "32"),
        case("\\u0000 in a string", ev(labels={"a": "A\u0000B"}), 400, "invalid_json", None,
             "NUL"),
        case("empty body", b"", 400, "invalid_json", None, "empty"),
        case("array at top level", "[" + json.dumps(ok) + "]", 400, "invalid_payload", None,
             "expected object, got array"),
        case("duplicate key", '{"type":"custom.hostile","type":"custom.hostile"}', 400,
             "invalid_json", None, "duplicate"),
        case("trailing garbage", ev() + " " + ev(), 400, "invalid_json", None, ""),
        case("too many events",
             json.dumps({"events": [{"type": "custom.hostile", "id": f"e{i}"}
                                    for i in range(1001)]}), 400,
             "too_many_alerts", "events", "1001"),
        case("Alertmanager webhook on the events route", body_of([alert_json(
            {"alertname": "Inner"})]), 400, "invalid_payload", "version",
            "version: unknown field"),
    ]


def tricky_valid():
    """Bodies that look hostile but are valid: (name, body bytes, the alert's labels)."""
    out = []

    def add(name, labels, text_of=lambda body: json.dumps(body)):
        out.append((name, text_of(am_webhook([am_alert(labels)])).encode(), labels))
    add("brackets inside a string", {"alertname": "Tricky", "instance": "t-brackets",
                                     "text": "[" * 5000 + "{" * 5000})
    add("escaped quote then brackets", {"alertname": "Tricky", "instance": "t-escapes",
                                        "text": '\\"' + "[" * 100 + '\\'})
    # Go escapes & < > as \u0026 \u003c \u003e; non-BMP characters as surrogate pairs
    add("\\u escapes and a surrogate pair",
        {"alertname": "Tricky", "instance": "t-unicode", "q": "a&b<c>d \U0001F600 é"},
        lambda body: json.dumps(body, ensure_ascii=True).replace("&", "\\u0026")
        .replace("<", "\\u003c").replace(">", "\\u003e"))
    # exactly server.max_json_depth (32) levels, in a field the parser ignores
    add("nesting of exactly 32", {"alertname": "Tricky", "instance": "t-depth32"},
        lambda body: json.dumps(body)[:-1] + ', "x": ' + "[" * 31 + "]" * 31 + "}")
    return out


def send(d, case):
    url = d.url + case["route"]
    hdrs = {"Content-Type": "application/json"}
    if case["mode"] == "content-length":
        st, hd, data, _ = raw_http_request(url, "POST", case["body"], hdrs)
        return st, json.loads(data)
    if case["mode"] == "chunked":
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
        body = case["body"]

        def chunks():
            for i in range(0, len(body), 256 * 1024):
                yield body[i:i + 256 * 1024]
        try:
            conn.request("POST", case["route"], body=chunks(), headers=hdrs, encode_chunked=True)
            r = conn.getresponse()
            return r.status, json.loads(r.read())
        finally:
            conn.close()
    return d.post(case["route"], case["body"])


def check_rejection(case, st, body):
    what = case["name"]
    check(st == case["status"], f"{what}: HTTP {st}, want {case['status']}: {body}")
    check(isinstance(body, dict) and set(body) == {"error"}, f"{what}: body {body}")
    e = body["error"]
    check(set(e) == {"code", "message", "path"}, f"{what}: error fields {e}")
    check(e["code"] == case["code"], f"{what}: code {e['code']}, want {case['code']}")
    check(e["path"] == case["path"], f"{what}: path {e['path']!r}, want {case['path']!r}")
    check(case["msg"] in e["message"], f"{what}: message {e['message']!r} lacks {case['msg']!r}")
    if case["path"]:
        check(e["message"].startswith(case["path"]),
              f"{what}: message should start with the path: {e['message']!r}")


def valid_post(route, i):
    """A minimal valid body of the route's own format, and the labels of the one episode it
    makes."""
    labels = {"alertname": "Valid", "instance": f"valid-{i}", "severity": "warning"}
    if route == GRAFANA:
        return {"version": "1", "orgId": 1, "status": "firing", "receiver": "r",
                "alerts": [alert_json(labels)]}, labels
    if route == EVENTS:
        return ({"type": "payload.valid", "severity": "warning",
                 "labels": {"instance": labels["instance"]}},
                dict(labels, alertname="payload.valid"))
    return am_webhook([am_alert(labels)]), labels


def hostile_run(ctx, route):
    """Every case of the route's table, each between valid posts to the same route."""
    d = ctx.daemon().start()
    cases = hostile_cases(route)
    tricky = tricky_valid() if route == AM else []
    valid = []
    for i, case in enumerate(cases + [None]):
        body, labels = valid_post(route, i)
        st, body = d.post(route, body)
        check(st == 200 and body["status"] == "stored" and body["changed"] == 1,
              f"valid alert after case {i - 1}: {st} {body}")
        valid.append(labels)
        if case is None:
            break
        if i < len(tricky):
            name, body, labels = tricky[i]
            st, resp = d.post(AM, body)
            check(st == 200 and resp["changed"] == 1, f"valid but tricky {name}: {st} {resp}")
            valid.append(labels)
        st, body = send(d, case)
        check_rejection(case, st, body)

    # nothing lost, nothing half-applied: exactly the valid alerts are episodes
    incs = d.incidents()
    eps = [ep for inc in incs for ep in inc["episodes"]]
    check(len(eps) == len(valid), f"{len(eps)} episodes for {len(valid)} valid alerts")
    got = sorted(ep["labels"]["instance"] for ep in eps)
    check(got == sorted(v["instance"] for v in valid),
          f"episodes {got} != valid alerts {[v['instance'] for v in valid]}")
    check(all(ep["status"] == "firing" and ep["labels"] in valid for ep in eps),
          "an episode differs from the valid alert it came from")
    st, body = d.get("/readyz")
    check(st == 200, f"not ready after hostile payloads: {st} {body}")

    # the dead-letter table has every rejected body, oldest first once reversed
    st, dls = d.get("/api/v1/dead-letters?limit=0&body=1")
    check(st == 200, f"dead letters: {st} {dls}")
    dls = list(reversed(dls))
    check(len(dls) == len(cases), f"{len(dls)} dead letters for {len(cases)} rejected bodies: "
                                  f"{[(x['code'], x['path']) for x in dls]}")
    for case, dl in zip(cases, dls):
        what = case["name"]
        check(dl["code"] == case["code"] and dl["httpStatus"] == case["status"]
              and dl["path"] == case["path"], f"{what}: dead letter {dl}")
        check(dl["source"] == SOURCE[case["route"]], f"{what}: dead letter source {dl['source']}")
        check(dl["message"] and dl["receivedAt"] and dl["remote"], f"{what}: {dl}")
        if case["status"] == 413:
            check(dl["bodyTotal"] >= TEN_MB, f"{what}: bodyTotal {dl['bodyTotal']} < 10 MB")
            check(dl["bodyKept"] <= 1024 * 1024, f"{what}: kept {dl['bodyKept']} bytes > 1 MiB")
        else:
            n = len(case["body"])
            check(dl["bodyTotal"] == n and dl["bodyKept"] == n,
                  f"{what}: kept {dl['bodyKept']}/{dl['bodyTotal']} of {n} bytes")
            if n == 0:
                check(dl["body"] in (None, ""), f"{what}: dead letter body {dl['body']!r}")
            elif case["code"] != "invalid_utf8":
                check(dl["body"] is not None and dl["body"].encode() == case["body"],
                      f"{what}: dead letter body differs from the sent body")
    m = scrape(d)
    check(metric_value(m, "forestall_dead_letters_total") == len(cases),
          f"forestall_dead_letters_total {metric_value(m, 'forestall_dead_letters_total')}")
    check(metric_value(m, "forestall_requests_rejected_total", code="too_large") == 2,
          "requests_rejected_total{code=too_large} != 2")

    # the CLI shows them too
    r = d.cli("deadletters", "list", "--limit", "0", "-o", "json")
    check(r.returncode == 0 and len(json.loads(r.stdout)) == len(cases),
          f"forestall deadletters list: {r.returncode} {r.stderr}")
    d.stop()
    # the API cannot show invalid UTF-8 as a JSON string; the store has the exact bytes
    utf8_case = next(c for c in cases if c["code"] == "invalid_utf8")
    db = d.db()
    try:
        rows = db.execute("SELECT body FROM dead_letters WHERE code='invalid_utf8'").fetchall()
    finally:
        db.close()
    check(len(rows) == 1 and bytes(rows[0][0]) == utf8_case["body"],
          f"stored invalid-UTF-8 dead letter {rows!r}")


def test_hostile_payloads_interleaved_with_valid(ctx):
    hostile_run(ctx, AM)


def test_hostile_payloads_grafana_route(ctx):
    hostile_run(ctx, GRAFANA)


def test_hostile_payloads_events_route(ctx):
    hostile_run(ctx, EVENTS)


def test_grafana_route_rejects_alertmanager_version(ctx):
    d = ctx.daemon().start()
    body = am_webhook([am_alert({"alertname": "G", "instance": "g-1"})])
    st, resp = d.post(GRAFANA, body)
    check(st == 400, f"{st} {resp}")
    e = resp["error"]
    check(e["code"] == "invalid_payload" and e["path"] == "version", e)
    msg = e["message"]
    check('"1"' in msg and '"4"' in msg and "Alertmanager" in msg,
          f"the message should say Grafana sends version \"1\" and \"4\" is Alertmanager's: {msg}")
    body["version"] = "7"
    st, resp = d.post(GRAFANA, body)
    check(st == 400 and resp["error"]["path"] == "version" and '"7"' in resp["error"]["message"],
          f"{st} {resp}")
    check(d.incidents() == [], "a rejected Grafana body made an incident")
    # the same body is fine where it belongs
    body["version"] = "4"
    st, resp = d.post(AM, body)
    check(st == 200 and resp["alerts"] == 1, f"{st} {resp}")
    d.stop()


def sized_body(n, instance):
    """A valid Alertmanager webhook of exactly n bytes (padded with an unknown field)."""
    base = json.dumps(am_webhook([am_alert({"alertname": "Sized", "instance": instance})]))
    pad = n - len(base) - len(',"pad":""')
    check(pad >= 0, f"{n} bytes is too small for a webhook")
    body = (base[:-1] + ',"pad":"' + "x" * pad + '"}').encode()
    check(len(body) == n, f"sized_body {len(body)} != {n}")
    return body


def post_chunked(d, path, body, split=500):
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    try:
        conn.request("POST", path, body=iter([body[:split], body[split:]]),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def test_body_limit_boundary_reload_and_dead_letter_cap(ctx):
    cfg = "server:\n  max_body: 1KiB\nstore:\n  dead_letter_max_body: 100B\n"
    d = ctx.daemon(config=cfg)
    d.start()
    # exactly max_body is accepted, one byte more is not, with Content-Length and chunked alike
    for n, want in ((1024, 200), (1025, 413)):
        st, hd, data, _ = raw_http_request(d.url + AM, "POST", sized_body(n, f"cl-{n}"),
                                           {"Content-Type": "application/json"})
        check(st == want, f"{n} bytes with Content-Length: {st} {data!r}")
        st, body = post_chunked(d, AM, sized_body(n, f"chunked-{n}"))
        check(st == want, f"{n} bytes chunked: {st} {body}")
        if want == 413:
            check(body["error"]["code"] == "too_large" and "1024" in body["error"]["message"],
                  body)
    insts = sorted(ep["labels"]["instance"] for i in d.incidents() for ep in i["episodes"])
    check(insts == ["chunked-1024", "cl-1024"], f"stored {insts}")

    # a rejected body larger than store.dead_letter_max_body is kept cut, with its full size
    bad = b'{"alerts":[' + b'"x",' * 200 + b'}'
    st, body = d.post(AM, bad)
    check(st == 400 and body["error"]["code"] == "invalid_json", f"{st} {body}")
    st, dls = d.get("/api/v1/dead-letters?limit=1&body=1")
    check(dls[0]["bodyKept"] == 100 and dls[0]["bodyTotal"] == len(bad)
          and dls[0]["body"].encode() == bad[:100], f"dead letter {dls[0]}")

    # server.max_body reloads on SIGHUP
    with open(d.config_path, "w") as f:
        f.write("server:\n  max_body: 4KiB\n")
    d.send(signal.SIGHUP)
    wait_for(lambda: metric_value(scrape(d), "forestall_config_reloads_total", result="ok") == 1,
             10, what="the reload")
    st, body = post_chunked(d, AM, sized_body(3000, "after-reload"))
    check(st == 200, f"3000 bytes after raising max_body to 4KiB: {st} {body}")
    st, hd, data, _ = raw_http_request(d.url + AM, "POST", sized_body(4097, "too-big"),
                                       {"Content-Type": "application/json"})
    check(st == 413, f"4097 bytes after reload: {st} {data!r}")
    d.stop()
