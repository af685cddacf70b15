"""Notifications through the daemon, against standin_notify.py (a webhook receiver that checks the
HMAC signature and a PagerDuty Events v2 endpoint that checks the documented fields), on a real
incident (a bloated journal on a tmpfs, supervised mode, approved with `forestall approve`):
the webhook gets proposal_pending with a valid signature and the deep link, then the decision,
the execution and the resolution; PagerDuty gets trigger → acknowledge → resolve with one
dedup_key; a channel that refuses connections and then answers 500 is retried and delivered
later while the remediation goes on without it; a kill -9 loses no notification
(docs/notifications.md)."""
import json
import os
import subprocess
import sys
import time

from lib import check, free_port, http_request, wait_for
from test_engine import AM_PATH, disk_alert, handled, with_tmpfs

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "whsec-standin-0123456789abcdef"
ROUTING = "R0UT1NGKEYSTANDIN000000000000000"
ENV = {"FORESTALL_TEST_HOOK": SECRET, "FORESTALL_TEST_PD": ROUTING}


class Peer:
    def __init__(self, ctx, port=0):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "standin_notify.py"), "--secret", SECRET,
             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ctx.track(self.proc)
        line = self.proc.stdout.readline()
        check(line.startswith("listening on "), f"stand-in: {line!r}")
        self.url = line.split()[-1]

    def records(self, path):
        st, _, data = http_request(self.url + "/standin/records")
        check(st == 200, st)
        return [r for r in json.loads(data) if r["path"] == path]

    def script(self, path, status, times):
        st, _, _ = http_request(self.url + "/standin/script", "POST",
                                json.dumps({"path": path, "status": status, "times": times}).encode(),
                                {"Content-Type": "application/json"})
        check(st == 200, st)

    def delivered(self, path, event, timeout=20):
        def f():
            ok = [r for r in self.records(path) if r["status"] == 200
                  and r["body"].get("event") == event]
            return ok[0] if ok else None
        return wait_for(f, timeout, what=f"{event} at {path}")


def config(channels):
    lines = ["executor: {max_verify_wait: 3s}",
             "notify:",
             "  retry: {initial: 200ms, max: 1s, give_up: 10m}",
             "  timeout: 3s",
             "  channels:"]
    lines += ["    - " + json.dumps(c) for c in channels]
    return "\n".join(lines) + "\n"


def hook(name, url):
    return {"name": name, "type": "webhook", "url": url, "secret": {"env": "FORESTALL_TEST_HOOK"}}


def supervised(d):
    r = d.cli("mode", "set", "supervised", "--as", "alice", "--reason", "people approve")
    check(r.returncode == 0, r.stdout + r.stderr)


def deliveries(d, channel):
    with d.db() as db:
        return db.execute("SELECT event, status, attempts, last_error FROM deliveries "
                          "WHERE channel=? ORDER BY id", (channel,)).fetchall()


@with_tmpfs
def test_webhook_pagerduty_and_a_channel_that_is_down(ctx, fs):
    peer = Peer(ctx)
    down = free_port()  # nothing listens there yet: connection refused
    d = ctx.daemon(config=config([
        hook("ops-hook", peer.url + "/hook/main"),
        {"name": "pager", "type": "pagerduty", "url": peer.url + "/v2/enqueue",
         "routing_key": {"env": "FORESTALL_TEST_PD"}},
        hook("flaky", f"http://127.0.0.1:{down}/hook/flaky")]), env=ENV).start()
    supervised(d)
    st, body = d.post(AM_PATH, disk_alert(fs.path))
    check(st == 200, body)
    inc = wait_for(handled(d), 30, what="the incident to wait for approval")
    check(inc["state"] == "awaiting_approval", f"state {inc['state']}")
    n = inc["id"].split("-")[1]

    # the webhook: signed, with the deep link and the gate's explanation
    pend = peer.delivered("/hook/main", "proposal_pending")
    check(pend["valid"], "the HMAC signature did not verify")
    b = pend["body"]
    check(b["link"] == f"{d.url}/ui/#/incidents/{inc['id']}", b["link"])
    check(pend["headers"]["X-Forestall-Event"] == "proposal_pending", pend["headers"])
    check(pend["headers"]["X-Forestall-Delivery"] == str(b["id"]), pend["headers"])
    check(b["incidentId"] == inc["id"] and b["proposal"]["action"] == "journal_vacuum", b)
    check("score" in b["proposal"] and b["proposal"]["reasons"], b["proposal"])
    check(b["incident"]["title"], b["incident"])
    check(SECRET not in json.dumps(pend), "the secret was sent")
    prop = b["proposal"]["id"]

    # PagerDuty: one trigger keyed by the incident
    trig = wait_for(lambda: [r for r in peer.records("/v2/enqueue") if r["status"] == 202], 20,
                    what="the PagerDuty trigger")[0]
    ev = trig["body"]
    check(trig["valid"] and ev["event_action"] == "trigger", trig)
    check(ev["dedup_key"] == f"forestall-inc-{n}" and ev["routing_key"] == ROUTING, ev)
    check(ev["payload"]["severity"] == "warning" and ev["client_url"] == b["link"], ev)

    # the channel that is down holds nothing up: the approval runs and resolves the incident
    t0 = time.monotonic()
    r = d.cli("approve", prop, "--as", "bob", "--comment", "the journal can go")
    check(r.returncode == 0, r.stdout + r.stderr)
    inc = wait_for(handled(d, ("resolved", "escalated")), 30, what="the remediation to finish")
    check(inc["state"] == "resolved", f"state {inc['state']}")
    took = time.monotonic() - t0
    flaky = deliveries(d, "flaky")
    check(flaky and all(s == "pending" for _, s, _, _ in flaky), flaky)
    check(flaky[0][2] >= 2 and flaky[0][3], f"no retries recorded: {flaky}")

    dec = peer.delivered("/hook/main", "decision")["body"]
    check(dec["decision"] == "approved" and dec["actor"] == "bob", dec)
    exe = peer.delivered("/hook/main", "execution")["body"]
    check(exe["execution"]["outcome"] == "succeeded", exe)
    res = peer.delivered("/hook/main", "resolution")["body"]
    check(res["incident"]["state"] == "resolved", res)
    check(all(r["valid"] for r in peer.records("/hook/main")), "a signature did not verify")

    def pd_actions():
        got = [r["body"] for r in peer.records("/v2/enqueue") if r["status"] == 202]
        return got if [e["event_action"] for e in got][-1:] == ["resolve"] else None
    acts = wait_for(pd_actions, 20, what="the PagerDuty resolve")
    check([e["event_action"] for e in acts] == ["trigger", "acknowledge", "resolve"], acts)
    check({e["dedup_key"] for e in acts} == {f"forestall-inc-{n}"}, acts)

    # the peer comes up, answers 500 twice, then accepts: every notice arrives, in order
    late = Peer(ctx, down)
    late.script("/hook/flaky", 500, 2)
    for e in ("proposal_pending", "decision", "execution", "resolution"):
        late.delivered("/hook/flaky", e, timeout=30)
    recs = late.records("/hook/flaky")
    check([r["status"] for r in recs[:2]] == [500, 500], [r["status"] for r in recs])
    ok = [r["body"]["event"] for r in recs if r["status"] == 200]
    check(ok == ["proposal_pending", "decision", "execution", "resolution"], ok)
    check(all(r["valid"] for r in recs if r["status"] == 200), "a signature did not verify")
    flaky = deliveries(d, "flaky")
    check(all(s == "sent" for _, s, _, _ in flaky), flaky)
    check(took < 25, f"the remediation took {took:.1f}s")


@with_tmpfs
def test_no_notification_is_lost_across_kill_9(ctx, fs):
    port = free_port()
    d = ctx.daemon(config=config([hook("ops-hook", f"http://127.0.0.1:{port}/hook/main")]),
                   env=ENV).start()
    supervised(d)
    st, body = d.post(AM_PATH, disk_alert(fs.path))
    check(st == 200, body)
    inc = wait_for(handled(d), 30, what="the incident to wait for approval")
    check(inc["state"] == "awaiting_approval", f"state {inc['state']}")
    # queued and failing (nobody listens), then the daemon dies
    wait_for(lambda: [x for x in deliveries(d, "ops-hook") if x[2] >= 1], 10,
             what="a failed attempt")
    d.kill9()
    peer = Peer(ctx, port)
    d.start()
    pend = peer.delivered("/hook/main", "proposal_pending")
    check(pend["valid"], "the HMAC signature did not verify")
    r = d.cli("approve", pend["body"]["proposal"]["id"], "--as", "bob")
    check(r.returncode == 0, r.stdout + r.stderr)
    peer.delivered("/hook/main", "resolution", timeout=30)
    events = [x["body"]["event"] for x in peer.records("/hook/main") if x["status"] == 200]
    check(events == ["proposal_pending", "decision", "execution", "resolution"], events)
    ids = [x["headers"]["X-Forestall-Delivery"] for x in peer.records("/hook/main")]
    check(len(ids) == len(set(ids)), f"a delivery was sent twice: {ids}")
