"""The HTTP surface: probes, /metrics (ingest latency, deduplication, rejections by code), the
error envelope and its documented codes, bearer authentication (token from the environment and
from a file), /api/v1/status and query validation on the read endpoints."""
import json
import os
import re
import signal

from lib import (am_alert, am_webhook, check, http_request, metric_value, scrape, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
API_MD = os.path.join(HERE, "..", "..", "docs", "api.md")

INTAKE = ("/api/v1/alerts/alertmanager", "/api/v1/alerts/grafana", "/api/v1/events")


def documented_codes():
    """code -> HTTP status, from the "Error codes" table of docs/api.md."""
    with open(API_MD) as f:
        text = f.read()
    section = text.split("## Error codes", 1)
    check(len(section) == 2, "docs/api.md has no 'Error codes' section")
    codes = dict((c, int(s)) for c, s in re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", section[1],
                                                      re.M))
    check(len(codes) >= 10, f"could not read the error code table: {codes}")
    return codes


def check_error(status, body, want_status, want_code, want_path=None, what=""):
    """An error answer: exactly {"error":{"code","message","path"}}, a documented code whose
    documented HTTP status is the one sent."""
    codes = documented_codes()
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            raise AssertionError(f"{what}: error body is not JSON: {body!r}")
    check(status == want_status, f"{what}: HTTP {status}, want {want_status}: {body}")
    check(isinstance(body, dict) and set(body) == {"error"}, f"{what}: envelope {body}")
    e = body["error"]
    check(isinstance(e, dict) and set(e) == {"code", "message", "path"}, f"{what}: fields {e}")
    check(e["code"] == want_code, f"{what}: code {e['code']}, want {want_code}")
    check(e["code"] in codes, f"{what}: code {e['code']} is not documented in docs/api.md")
    check(codes[e["code"]] == status, f"{what}: {e['code']} documented as {codes[e['code']]}, "
                                      f"sent with {status}")
    check(isinstance(e["message"], str) and len(e["message"]) > 5, f"{what}: message {e}")
    check(e["path"] == want_path, f"{what}: path {e['path']!r}, want {want_path!r}")
    return e


def raw(d, method, path, body=None, headers=None):
    st, hd, data = http_request(d.url + path, method, body, headers)
    return st, hd, data


def test_probes_and_metrics(ctx):
    d = ctx.daemon().start()
    st, body = d.get("/healthz")
    check(st == 200 and body == {"status": "ok"}, f"/healthz {st} {body}")
    st, body = d.get("/readyz")
    check(st == 200 and body == {"status": "ready"}, f"/readyz {st} {body}")

    st, hd, data = raw(d, "GET", "/metrics")
    check(st == 200, f"/metrics {st}")
    check(hd["content-type"].startswith("text/plain") and "version=0.0.4" in hd["content-type"],
          f"/metrics content type {hd['content-type']}")
    m0 = scrape(d)
    types = m0["types"]
    for fam, typ in (("forestall_alerts_received_total", "counter"),
                     ("forestall_store_commit_duration_seconds", "histogram"),
                     ("forestall_incidents_open", "gauge"),
                     ("forestall_build_info", "gauge")):
        check(types.get(fam) == typ, f"# TYPE {fam} is {types.get(fam)!r}, want {typ}")
    recv0 = metric_value(m0, "forestall_alerts_received_total", source="alertmanager")
    check(recv0 == 0, f"alerts received before any post: {recv0}")
    commits0 = metric_value(m0, "forestall_store_commit_duration_seconds_count")
    check(commits0 is not None, "forestall_store_commit_duration_seconds_count missing")
    check(metric_value(m0, "forestall_incidents_open") == 0, "incidents open at start")

    # Two alerts on two instances (two incidents), then resolve one of them.
    a1 = {"alertname": "HighLoad", "instance": "web-1:9100", "severity": "warning"}
    a2 = {"alertname": "HighLoad", "instance": "web-2:9100", "severity": "critical"}
    st, body = d.post("/api/v1/alerts/alertmanager", am_webhook([am_alert(a1), am_alert(a2)]))
    check(st == 200 and body["alerts"] == 2 and body["incidentsOpened"] == 2, f"{st} {body}")
    m1 = scrape(d)
    check(metric_value(m1, "forestall_alerts_received_total", source="alertmanager") == recv0 + 2,
          "alerts_received_total{source=alertmanager} did not grow by 2: "
          f"{metric_value(m1, 'forestall_alerts_received_total', source='alertmanager')}")
    check(metric_value(m1, "forestall_alerts_received_total", source="grafana") == 0,
          "an Alertmanager post counted as grafana")
    check(metric_value(m1, "forestall_incidents_open") == 2, "incidents_open after 2 incidents")

    resolved = am_alert(a2, status="resolved", ends_at="2026-11-21T10:05:00Z")
    st, body = d.post("/api/v1/alerts/alertmanager", am_webhook([resolved]))
    check(st == 200, f"{st} {body}")
    m2 = scrape(d)
    check(metric_value(m2, "forestall_alerts_received_total", source="alertmanager") == recv0 + 3,
          "alerts_received_total did not count the resolve")
    open_now = len(d.incidents(status="open"))
    check(open_now == 1, f"open incidents {open_now}")
    check(metric_value(m2, "forestall_incidents_open") == open_now,
          f"forestall_incidents_open {metric_value(m2, 'forestall_incidents_open')} != {open_now}")

    # The commit histogram is a real histogram: buckets, +Inf = _count, and it counted commits.
    name = "forestall_store_commit_duration_seconds"
    buckets = [(l["le"], v) for n, l, v in m2["samples"] if n == name + "_bucket"]
    check(len(buckets) >= 3, f"{name} has too few buckets: {buckets}")
    check(buckets[-1][0] == "+Inf", f"{name} last bucket is {buckets[-1][0]}")
    vals = [v for _, v in buckets]
    check(vals == sorted(vals), f"{name} buckets are not cumulative: {buckets}")
    count = metric_value(m2, name + "_count")
    check(buckets[-1][1] == count, f"{name} +Inf bucket {buckets[-1][1]} != _count {count}")
    check(count >= commits0 + 2, f"{name}_count {count} did not count the 2 commits")
    check(metric_value(m2, name + "_sum") is not None and metric_value(m2, name + "_sum") > 0,
          f"{name}_sum missing or zero")
    d.stop()


def test_error_envelope_404_405_415(ctx):
    d = ctx.daemon().start()
    for path in ("/api/v1/nope", "/api/v2/alerts", "/metrics/extra", "/healthz/"):
        st, hd, data = raw(d, "GET", path)
        check_error(st, data, 404, "not_found", what=f"GET {path}")
        check(hd["content-type"].startswith("application/json"), f"{path}: {hd}")
    st, hd, data = raw(d, "POST", "/api/v1/alerts/prometheus", "{}",
                       {"Content-Type": "application/json"})
    check_error(st, data, 404, "not_found", what="POST unknown intake")
    for ident in ("inc-999", "999", "garbage", "inc-", "0"):
        st, hd, data = raw(d, "GET", "/api/v1/incidents/" + ident)
        check_error(st, data, 404, "not_found", what=f"incident {ident}")

    # 405 with an Allow header naming the one method the path takes
    for method, path, allow in (("GET", "/api/v1/alerts/alertmanager", "POST"),
                                ("PUT", "/api/v1/events", "POST"),
                                ("GET", "/api/v1/alerts/grafana", "POST"),
                                ("POST", "/healthz", "GET"),
                                ("POST", "/metrics", "GET"),
                                ("DELETE", "/api/v1/incidents", "GET"),
                                ("POST", "/api/v1/status", "GET"),
                                ("POST", "/api/v1/incidents/inc-1", "GET")):
        st, hd, data = raw(d, method, path, "{}" if method in ("POST", "PUT") else None,
                           {"Content-Type": "application/json"})
        check_error(st, data, 405, "method_not_allowed", what=f"{method} {path}")
        check(hd.get("allow") == allow, f"{method} {path}: Allow {hd.get('allow')!r}, want {allow}")

    # 415 for a body that is not JSON, on every intake route; +json types are JSON
    body = json.dumps(am_webhook([am_alert({"alertname": "X", "instance": "i"})]))
    for path in INTAKE:
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml",
                      "multipart/form-data; boundary=x"):
            st, hd, data = raw(d, "POST", path, body, {"Content-Type": ctype})
            check_error(st, data, 415, "unsupported_media_type", what=f"{path} as {ctype}")
    st, hd, data = raw(d, "POST", "/api/v1/alerts/alertmanager", body,
                       {"Content-Type": "application/json; charset=utf-8"})
    check(st == 200, f"application/json; charset=utf-8 refused: {st} {data!r}")
    check(len(d.incidents()) == 1, "exactly the accepted post made an incident")

    # rejections are counted by code
    m = scrape(d)
    check(metric_value(m, "forestall_requests_rejected_total", code="not_found") >= 10,
          "requests_rejected_total{code=not_found}")
    check(metric_value(m, "forestall_requests_rejected_total", code="unsupported_media_type")
          == 12, "requests_rejected_total{code=unsupported_media_type} != 12")
    check(metric_value(m, "forestall_http_responses_total", code="405") == 8,
          "http_responses_total{code=405} != 8")
    d.stop()


def test_query_validation(ctx):
    d = ctx.daemon().start()
    bad = (("status=bogus", "status"), ("status=OPEN", "status"), ("severity=urgent", "severity"),
           ("severity=WARNING", "severity"), ("since=yesterday", "since"),
           ("since=2026-13-01T00:00:00Z", "since"), ("before=x", "before"),
           ("before=inc-0", "before"), ("limit=-1", "limit"), ("limit=abc", "limit"),
           ("limit=10000001", "limit"))
    for q, path in bad:
        st, body = d.get("/api/v1/incidents?" + q)
        e = check_error(st, body, 400, "invalid_argument", want_path=path, what=q)
        check(e["message"].startswith(path + ":"), f"{q}: message should start with the "
                                                   f"parameter name: {e['message']}")
    for q in ("limit=abc", "limit=-5"):
        st, body = d.get("/api/v1/dead-letters?" + q)
        check_error(st, body, 400, "invalid_argument", want_path="limit", what="dead-letters " + q)

    labels = {"alertname": "Q", "instance": "q-1", "severity": "critical"}
    st, body = d.post("/api/v1/alerts/alertmanager", am_webhook([am_alert(labels)]))
    check(st == 200, body)
    for q, n in (("status=open", 1), ("status=resolved", 0), ("status=all", 1),
                 ("severity=critical", 1), ("severity=info", 0), ("since=2000-01-01T00:00:00Z", 1),
                 ("since=2999-01-01T00:00:00Z", 0), ("limit=0", 1), ("limit=1", 1),
                 ("before=inc-1", 0)):
        st, body = d.get("/api/v1/incidents?" + q)
        check(st == 200 and isinstance(body, list) and len(body) == n, f"{q}: {st} {body}")
    d.stop()


def test_status(ctx):
    d = ctx.daemon().start()
    st, body = d.get("/api/v1/status")
    check(st == 200, f"{st} {body}")
    ver = d.cli("version")
    check(ver.returncode == 0, ver.stderr)
    check(body["version"] and body["version"] in ver.stdout,
          f"status version {body['version']!r} vs `forestall version` {ver.stdout!r}")
    check(body["ready"] is True and body["readiness"] == "ok", body)
    check(body["storeDriver"] == "sqlite", body)
    check(isinstance(body["uptimeSeconds"], int) and body["uptimeSeconds"] >= 0, body)
    store = body["store"]
    check(store["episodes"] == 0 and store["incidents"] == 0 and store["inbox"] == 0, store)
    labels = {"alertname": "S", "instance": "s-1"}
    st, r = d.post("/api/v1/alerts/alertmanager", am_webhook([am_alert(labels)]))
    check(st == 200, r)
    st, r = d.post("/api/v1/alerts/alertmanager", "{")
    check(st == 400, r)
    st, body = d.get("/api/v1/status")
    store = body["store"]
    check(store["episodes"] == 1 and store["incidents"] == 1 and store["inbox"] == 1
          and store["dead_letters"] == 1, f"row counts after one alert and one reject: {store}")
    d.stop()


TOKEN = "tok-3f9a1c77e2b04d5a"


def auth_routes():
    body = json.dumps(am_webhook([am_alert({"alertname": "A", "instance": "a"})]))
    return [("GET", "/api/v1/incidents", None), ("GET", "/api/v1/incidents/inc-1", None),
            ("GET", "/api/v1/dead-letters", None), ("GET", "/api/v1/status", None),
            ("POST", "/api/v1/alerts/alertmanager", body), ("POST", "/api/v1/alerts/grafana", body),
            ("POST", "/api/v1/events", '{"type":"x.y"}')]


def check_auth(d, token):
    """Every auth route refuses no/wrong tokens with 401 + WWW-Authenticate; probes and
    /metrics need none; the right token works."""
    wrong = [None, "Bearer", "Bearer ", "Bearer wrong", "Bearer " + token[:-1],
             "Bearer " + token + "x", "Basic " + token, token, "bearer" + token]
    for method, path, body in auth_routes():
        for auth in wrong:
            h = {"Content-Type": "application/json"}
            if auth is not None:
                h["Authorization"] = auth
            st, hd, data = http_request(d.url + path, method, body, h)
            check_error(st, data, 401, "unauthorized", what=f"{method} {path} with {auth!r}")
            www = hd.get("www-authenticate", "")
            check(www.lower().startswith("bearer"), f"{path}: WWW-Authenticate {www!r}")
    check(len(incidents_with(d, token)) == 0, "an unauthorized post created an incident")
    for path in ("/healthz", "/readyz", "/metrics"):
        st, hd, data = http_request(d.url + path)
        check(st == 200, f"{path} without a token: {st} {data[:200]!r}")
    good = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    # intake first (so inc-1 exists), then the reads; the Grafana route gets an Alertmanager
    # body: authorized, then rejected by the parser (400, not 401)
    want = {"/api/v1/alerts/alertmanager": 200, "/api/v1/events": 200,
            "/api/v1/alerts/grafana": 400, "/api/v1/incidents": 200,
            "/api/v1/incidents/inc-1": 200, "/api/v1/dead-letters": 200, "/api/v1/status": 200}
    routes = sorted(auth_routes(), key=lambda r: r[0] != "POST")
    for method, path, body in routes:
        st, hd, data = http_request(d.url + path, method, body, good)
        check(st == want[path], f"{method} {path} with the right token: {st} {data[:300]!r}")
    check(len(incidents_with(d, token)) == 2, "authorized posts did not make 2 incidents")


def incidents_with(d, token):
    st, hd, data = http_request(d.url + "/api/v1/incidents?limit=0", "GET", None,
                                {"Authorization": "Bearer " + token})
    check(st == 200, f"incidents with the token: {st}")
    return json.loads(data)


def test_bearer_token_from_env(ctx):
    d = ctx.daemon(config="auth: {token: {env: FORESTALL_TOKEN}}\n",
                   env={"FORESTALL_TOKEN": TOKEN}).start()
    check_auth(d, TOKEN)
    # the CLI sends FORESTALL_TOKEN
    r = d.cli("incidents", "list", "-o", "json")
    check(r.returncode == 0 and json.loads(r.stdout), f"CLI with token: {r.returncode} {r.stderr}")
    r = d.cli("incidents", "list", "-o", "json", env={"FORESTALL_TOKEN": "nope"})
    check(r.returncode == 4, f"CLI with a wrong token should exit 4: {r.returncode} {r.stderr}")
    d.stop()


def test_bearer_token_from_file_and_reload(ctx):
    d = ctx.daemon(config="auth:\n  token: {file: token.txt}\n")
    with open(os.path.join(d.dir, "token.txt"), "w") as f:
        f.write(TOKEN + "\n")  # a trailing newline is not part of the token
    d.start()
    check_auth(d, TOKEN)

    # auth.token reloads on SIGHUP: the new token works, the old one stops working
    new = "rotated-7c1d0e9b"
    with open(os.path.join(d.dir, "token.txt"), "w") as f:
        f.write(new)
    d.send(signal.SIGHUP)

    def rotated():
        return (http_request(d.url + "/api/v1/status", "GET", None,
                             {"Authorization": "Bearer " + new})[0] == 200)
    wait_for(rotated, 10, what="the rotated token to be accepted")
    st, hd, data = http_request(d.url + "/api/v1/status", "GET", None,
                                {"Authorization": "Bearer " + TOKEN})
    check_error(st, data, 401, "unauthorized", what="old token after rotation")
    m = scrape(d)
    check(metric_value(m, "forestall_config_reloads_total", result="ok") == 1,
          "config_reloads_total{result=ok} != 1")
    d.stop()


def _histogram(m, name):
    """(buckets [(le float, value)], _count, _sum) of a histogram in a parsed scrape."""
    buckets = [(float("inf") if l["le"] == "+Inf" else float(l["le"]), v)
               for n, l, v in m["samples"] if n == name + "_bucket"]
    return buckets, metric_value(m, name + "_count"), metric_value(m, name + "_sum")


def test_metrics_ingest_latency_dedup_and_rejections(ctx):
    d = ctx.daemon().start()
    am = "/api/v1/alerts/alertmanager"
    hist = "forestall_ingest_duration_seconds"
    m0 = scrape(d)
    check(m0["types"].get(hist) == "histogram", f"# TYPE {hist}: {m0['types'].get(hist)!r}")
    _, count0, sum0 = _histogram(m0, hist)
    check(count0 is not None and sum0 is not None, f"{hist}_count/_sum missing")

    # the latency histogram counts every acknowledged post, in cumulative buckets
    posts = 7
    for i in range(posts):
        st, body = d.post(am, am_webhook([am_alert({"alertname": "Lat", "instance": f"l-{i}"})]))
        check(st == 200, f"post {i}: {st} {body}")
    m1 = scrape(d)
    buckets, count1, sum1 = _histogram(m1, hist)
    check(count1 == count0 + posts, f"{hist}_count grew by {count1 - count0}, want {posts}")
    check(sum1 > sum0, f"{hist}_sum did not grow: {sum0} -> {sum1}")
    les = [le for le, _ in buckets]
    check(len(buckets) >= 3 and les == sorted(les) and len(set(les)) == len(les)
          and les[-1] == float("inf"), f"{hist} bucket bounds: {les}")
    vals = [v for _, v in buckets]
    check(vals == sorted(vals), f"{hist} buckets are not cumulative: {buckets}")
    check(vals[-1] == count1, f"{hist} +Inf bucket {vals[-1]} != _count {count1}")
    before = dict(_histogram(m0, hist)[0])
    check(all(v >= before.get(le, 0) for le, v in buckets), f"a {hist} bucket went down")

    # the same notification twice: the second is counted as deduplicated, alert by alert
    def dedup(m):
        return metric_value(m, "forestall_alerts_deduplicated_total", source="alertmanager")

    def received(m):
        return metric_value(m, "forestall_alerts_received_total", source="alertmanager")
    note = am_webhook([am_alert({"alertname": "Twice", "instance": "t-1"}),
                       am_alert({"alertname": "Twice", "instance": "t-2"})])
    st, first = d.post(am, note)
    check(st == 200 and first["deduplicated"] == 0 and first["changed"] == 2, f"{st} {first}")
    m2 = scrape(d)
    check(dedup(m2) == dedup(m1), f"a first notification counted as deduplicated: {dedup(m2)}")
    st, second = d.post(am, note)
    check(st == 200 and second["deduplicated"] == 2 and second["changed"] == 0, f"{st} {second}")
    m3 = scrape(d)
    check(dedup(m3) == dedup(m2) + 2, f"alerts_deduplicated_total {dedup(m2)} -> {dedup(m3)}, "
          "want +2 for the repeated notification of 2 alerts")
    check(received(m3) == received(m1) + 4, f"alerts_received_total {received(m1)} -> "
          f"{received(m3)}, want +4")

    # a 400 is counted under its machine code (and as a 400 response)
    def rejected(m, code):
        return metric_value(m, "forestall_requests_rejected_total", code=code) or 0

    def responses(m, code):
        return metric_value(m, "forestall_http_responses_total", code=code) or 0
    st, body = d.post(am, "{")
    check(st == 400 and body["error"]["code"] == "invalid_json", f"{st} {body}")
    st, body = d.post(am, '{"alerts":"nope"}')
    check(st == 400 and body["error"]["code"] == "invalid_payload", f"{st} {body}")
    m4 = scrape(d)
    for code in ("invalid_json", "invalid_payload"):
        check(rejected(m4, code) == rejected(m3, code) + 1,
              f"requests_rejected_total{{code={code}}} {rejected(m3, code)} -> "
              f"{rejected(m4, code)}, want +1")
    check(responses(m4, "400") == responses(m3, "400") + 2,
          f"http_responses_total{{code=400}} {responses(m3, '400')} -> {responses(m4, '400')}")
    check(rejected(m4, "store_busy") == 0 and rejected(m4, "too_large") == 0,
          "rejections counted under codes that were not sent")
    d.stop()
