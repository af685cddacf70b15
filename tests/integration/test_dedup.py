"""Episode identity and incident correlation: repeats, HA peers with skewed startsAt, shuffled
and repeated delivery, stale replays after a resolve, and grouping episodes into incidents."""
import datetime
import random
import threading

from lib import am_alert, am_webhook, check, check_store_invariants

AM = "/api/v1/alerts/alertmanager"
T0 = int(datetime.datetime(2026, 11, 21, 6, 0, 0, tzinfo=datetime.timezone.utc).timestamp() * 1000)


def iso(ms):
    dt = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_ms(s):
    if s is None:
        return None
    dt = datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(round(dt.timestamp() * 1000))


def post_ok(d, alerts):
    st, body = d.post(AM, am_webhook(alerts))
    check(st == 200 and body.get("status") == "stored", f"POST: {st} {body}")
    return body


def episodes_by(d, label):
    """label value -> episodes (from the API), sorted by startsAt."""
    out = {}
    for inc in d.incidents():
        for ep in inc["episodes"]:
            out.setdefault(ep["labels"].get(label), []).append(dict(ep, incident=inc["id"]))
    for eps in out.values():
        eps.sort(key=lambda e: parse_ms(e["startsAt"]))
    return out


def build_truth(rng, n_fps):
    """Every fingerprint's true episodes and the notifications Alertmanager sends for them."""
    truth, notes = {}, []
    for f in range(n_fps):
        uid = f"dd{f:02d}"
        labels = {"alertname": rng.choice(["HighLatency", "DiskFull", "ErrorRate"]),
                  "uid": uid, "severity": rng.choice(["warning", "critical"])}
        t = T0 + rng.randint(0, 600) * 1000
        eps = []
        n = rng.randint(1, 3)
        for j in range(n):
            start = t
            end = start + rng.randint(120, 1800) * 1000
            stays_firing = j == n - 1 and rng.random() < 0.5
            eps.append((start, None if stays_firing else end))
            for _ in range(rng.randint(2, 4)):
                notes.append((labels, "firing", start, None))
            if not stays_firing:
                notes.append((labels, "resolved", start, end))
            t = end + rng.randint(300, 1200) * 1000  # well after the resolve
        truth[uid] = eps
    return truth, notes


def deliver(d, notes, rng, skew_ms, copies, errors):
    stream = []
    for _ in range(copies):
        for labels, status, start, end in notes:
            off = rng.randint(-skew_ms, skew_ms) if skew_ms else 0
            stream.append(am_alert(labels, status=status, starts_at=iso(start + off),
                                   ends_at=iso(end + off) if end else None))
    rng.shuffle(stream)
    i = 0
    while i < len(stream):
        k = rng.randint(1, 5)
        chunk = stream[i:i + k]
        i += k
        try:
            st, body = d.post(AM, am_webhook(chunk))
            if st != 200:
                errors.append((st, body))
        except OSError as e:
            errors.append(e)


def test_shuffled_replayed_ha_stream_gives_one_episode_per_firing(ctx):
    rng = random.Random(4242)
    truth, notes = build_truth(rng, 40)
    d = ctx.daemon().start()
    errors = []
    senders = [threading.Thread(target=deliver, args=(d, notes, random.Random(1), 0, 3, errors)),
               threading.Thread(target=deliver,
                                args=(d, notes, random.Random(2), 30000, 3, errors))]
    for t in senders:
        t.start()
    for t in senders:
        t.join(60)
    check(not errors, f"delivery errors: {errors[:5]}")
    got = episodes_by(d, "uid")
    problems = []
    for uid, eps in truth.items():
        have = got.get(uid, [])
        if len(have) != len(eps):
            problems.append(f"{uid}: {len(have)} episodes, expected {len(eps)}: "
                            f"true {[(iso(s), e and iso(e)) for s, e in eps]} got "
                            f"{[(h['startsAt'], h['status'], h['endsAt']) for h in have]}")
            continue
        for (start, end), h in zip(eps, have):
            hs, he = parse_ms(h["startsAt"]), parse_ms(h["endsAt"])
            want = "firing" if end is None else "resolved"
            if abs(hs - start) > 30000 or h["status"] != want:
                problems.append(f"{uid}: episode {h['startsAt']} {h['status']}, expected "
                                f"{iso(start)} {want}")
            elif end is not None and (h["endInferred"] or he is None or abs(he - end) > 30000):
                problems.append(f"{uid}: episode {h['startsAt']} ends {h['endsAt']} "
                                f"(inferred={h['endInferred']}), expected {iso(end)}")
    extra = set(got) - set(truth)
    check(not extra, f"episodes for unknown alerts: {extra}")
    d.stop()
    check_store_invariants(d)
    total = sum(len(e) for e in truth.values())
    check(not problems, f"{len(problems)} of {total} episodes wrong:\n" + "\n".join(problems[:10]))


def test_stale_replay_never_reopens_and_repeats_add_nothing(ctx):
    d = ctx.daemon().start()
    labels = {"alertname": "QueueBacklog", "instance": "mq-1", "severity": "warning"}
    t = T0
    fire = am_alert(labels, starts_at=iso(t))
    b = post_ok(d, [fire])
    check(b["changed"] == 1 and b["incidentsOpened"] == 1, b)
    for _ in range(3):  # Alertmanager repeats the firing every group_interval
        b = post_ok(d, [fire])
        check(b["deduplicated"] == 1 and b["changed"] == 0 and b["incidentsOpened"] == 0, b)
    eps = episodes_by(d, "alertname")["QueueBacklog"]
    check(len(eps) == 1 and eps[0]["status"] == "firing", eps)

    post_ok(d, [am_alert(labels, status="resolved", starts_at=iso(t), ends_at=iso(t + 300000))])
    inc = d.incidents()[0]
    check(inc["status"] == "resolved" and inc["episodes"][0]["status"] == "resolved", inc)

    # a stale replay of the old firing (same startsAt, or an HA peer's within the skew)
    for s in (t, t + 20000, t - 15000):
        b = post_ok(d, [am_alert(labels, starts_at=iso(s))])
        check(b["changed"] == 0 and b["deduplicated"] == 1, f"stale replay at {iso(s)}: {b}")
    incs = d.incidents()
    check(len(incs) == 1 and incs[0]["status"] == "resolved", f"stale replay reopened: {incs}")
    eps = episodes_by(d, "alertname")["QueueBacklog"]
    check(len(eps) == 1 and eps[0]["status"] == "resolved"
          and eps[0]["endsAt"].startswith(iso(t + 300000)[:19]), eps)

    # a newer startsAt is a new firing: a new episode
    t2 = t + 3600 * 1000
    b = post_ok(d, [am_alert(labels, starts_at=iso(t2))])
    check(b["changed"] == 1, b)
    for s in (t2, t2 + 25000, t2 - 25000, t2):  # repeats and an HA peer's copies
        b = post_ok(d, [am_alert(labels, starts_at=iso(s))])
        check(b["changed"] + b["deduplicated"] == 1, b)
    eps = episodes_by(d, "alertname")["QueueBacklog"]
    check([e["status"] for e in eps] == ["resolved", "firing"], eps)
    check(abs(parse_ms(eps[1]["startsAt"]) - t2) <= 25000, eps[1])
    open_incs = d.incidents(status="open")
    check(len(open_incs) == 1 and len(open_incs[0]["episodes"]) == 1, open_incs)
    d.stop()


def test_late_middle_episode_is_not_swallowed_by_an_inferred_end(ctx):
    # Out of order: episode 1 fires, episode 3 fires (so episode 1 is closed with an inferred
    # end at episode 3's start), then episode 2's firing and the resolves arrive late.
    d = ctx.daemon().start()
    labels = {"alertname": "Flapping", "instance": "db-1"}
    h = 3600 * 1000
    e1, e2, e3 = T0, T0 + h // 2, T0 + h
    for s in (e1, e3, e2):
        post_ok(d, [am_alert(labels, starts_at=iso(s))])
    post_ok(d, [am_alert(labels, status="resolved", starts_at=iso(e1), ends_at=iso(e1 + 600000))])
    post_ok(d, [am_alert(labels, status="resolved", starts_at=iso(e2), ends_at=iso(e2 + 600000))])
    eps = episodes_by(d, "alertname")["Flapping"]
    got = [(e["startsAt"], e["status"], e["endsAt"], e["endInferred"]) for e in eps]
    want = [(iso(e1), "resolved", iso(e1 + 600000), False),
            (iso(e2), "resolved", iso(e2 + 600000), False),
            (iso(e3), "firing", None, False)]
    check(got == want, f"episodes\n  got  {got}\n  want {want}")
    d.stop()


def test_fingerprints_zero_and_one_are_distinct(ctx):
    # The episode cache keys fingerprints by their numeric value; 0 and 1 must not collide.
    d = ctx.daemon().start()
    a = am_alert({"alertname": "One", "uid": "one"}, fingerprint="0000000000000001")
    z = am_alert({"alertname": "Zero", "uid": "zero"}, fingerprint="0000000000000000")
    post_ok(d, [a])
    b = post_ok(d, [z])
    got = episodes_by(d, "uid")
    check("zero" in got and "one" in got,
          f"fingerprint 0000000000000000 was taken for 0000000000000001 ({b}); episodes: "
          f"{sorted(k for k in got)}")
    d.stop()


def _incident_of(d, uid):
    for inc in d.incidents():
        for ep in inc["episodes"]:
            if ep["labels"].get("uid") == uid:
                return inc
    raise AssertionError(f"no incident has an episode with uid={uid}")


def test_incident_correlation_default_group_by(ctx):
    d = ctx.daemon().start()
    s = iso(T0)
    post_ok(d, [am_alert({"alertname": "HighCPU", "instance": "web-1", "uid": "a",
                          "severity": "warning"}, starts_at=s)])
    post_ok(d, [am_alert({"alertname": "DiskFull", "instance": "web-1", "uid": "b",
                          "severity": "critical"}, starts_at=s),
                am_alert({"alertname": "Swap", "instance": "web-1", "uid": "c",
                          "severity": "info"}, starts_at=s)])
    post_ok(d, [am_alert({"alertname": "HighCPU", "instance": "web-2", "uid": "d",
                          "severity": "info"}, starts_at=s)])
    # no group-by label at all: an incident of its own each
    post_ok(d, [am_alert({"alertname": "Lonely", "uid": "e"}, starts_at=s),
                am_alert({"alertname": "Lonely", "uid": "f"}, starts_at=s)])
    web1 = _incident_of(d, "a")
    check(_incident_of(d, "b")["id"] == web1["id"] == _incident_of(d, "c")["id"],
          "episodes sharing instance=web-1 are in different incidents")
    check(len(web1["episodes"]) == 3, web1)
    check(web1["severity"] == "critical", f"incident severity {web1['severity']}, expected the "
          "highest of its episodes (critical)")
    check(web1["labels"].get("instance") == "web-1", web1["labels"])
    web2 = _incident_of(d, "d")
    check(web2["id"] != web1["id"] and web2["severity"] == "info", web2)
    e, f = _incident_of(d, "e"), _incident_of(d, "f")
    check(e["id"] != f["id"] and e["id"] not in (web1["id"], web2["id"]),
          "alerts without any group-by label were lumped into one incident")
    check(len(d.incidents()) == 4, [i["id"] for i in d.incidents()])
    st, full = d.get("/api/v1/incidents/" + web1["id"])
    check(st == 200 and any(ev["kind"] == "incident.severity_raised" for ev in full["timeline"]),
          full)
    # the incident resolves only when its last episode does
    for uid, name, sev in (("a", "HighCPU", "warning"), ("b", "DiskFull", "critical")):
        post_ok(d, [am_alert({"alertname": name, "instance": "web-1", "uid": uid,
                              "severity": sev}, status="resolved", starts_at=s,
                             ends_at=iso(T0 + 60000))])
    check(_incident_of(d, "a")["status"] == "open", "resolved with an episode still firing")
    post_ok(d, [am_alert({"alertname": "Swap", "instance": "web-1", "uid": "c",
                          "severity": "info"}, status="resolved", starts_at=s,
                         ends_at=iso(T0 + 60000))])
    check(_incident_of(d, "a")["status"] == "resolved", _incident_of(d, "a"))
    d.stop()


def test_incident_correlation_configured_group_by(ctx):
    d = ctx.daemon(config="incidents:\n  group_by: [cluster]\n").start()
    s = iso(T0)
    post_ok(d, [am_alert({"alertname": "A", "cluster": "eu-1", "instance": "n1", "uid": "1",
                          "severity": "warning"}, starts_at=s),
                am_alert({"alertname": "B", "cluster": "eu-1", "instance": "n2", "uid": "2",
                          "severity": "critical"}, starts_at=s),
                am_alert({"alertname": "C", "cluster": "us-1", "instance": "n1", "uid": "3"},
                         starts_at=s),
                am_alert({"alertname": "D", "instance": "n1", "uid": "4"}, starts_at=s)])
    eu = _incident_of(d, "1")
    check(_incident_of(d, "2")["id"] == eu["id"],
          "group_by [cluster]: same cluster, different instance, different incidents")
    check(eu["severity"] == "critical", eu)
    us = _incident_of(d, "3")
    check(us["id"] != eu["id"], "group_by [cluster]: different clusters share an incident")
    lone = _incident_of(d, "4")
    check(lone["id"] not in (eu["id"], us["id"]),
          "an alert without the cluster label joined a cluster's incident")
    check(len(d.incidents()) == 3, [i["id"] for i in d.incidents()])
    d.stop()
