"""Slack through the daemon, against a stand-in Slack (standin_slack.py): a pending proposal is
posted as a Block Kit message with Approve / Reject buttons and a deep link; a signed button
click approves it through the same rules as the API and the executor runs it; a wrong
signature, an old timestamp and a replayed callback are refused; a viewer-mapped or unmapped
Slack user decides nothing; in the thread of a critical proposal APPROVE is refused and
FORCE_OVERRIDE by an overrider works — every decision audited with channel slack and the
person (docs/slack.md)."""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.parse

import lib
from lib import Tmpfs, am_alert, am_webhook, check, fill_journal, http_request, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
AM = "/api/v1/alerts/alertmanager"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5-test"
BOT = "xoxb-standin-0123456789"
CHANNEL = "C0OPS"
TOKENS = {"alice": ("approver", "tok-alice-0123456789"), "bob": ("overrider", "tok-bob-0123456789"),
          "planner": ("agent", "tok-planner-0123456789"), "vera": ("viewer", "tok-vera-0123456789"),
          "root": ("admin", "tok-root-0123456789")}
USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0VERA": "vera"}


class Slack:
    """The stand-in Slack, and the signed requests Slack would send to forestall."""

    def __init__(self, ctx):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "standin_slack.py"), "--token", BOT,
             "--channel", CHANNEL], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ctx.track(self.proc)
        line = self.proc.stdout.readline()
        check(line.startswith("listening on "), f"stand-in Slack: {line!r}")
        self.url = line.split()[-1]

    def messages(self, path=None):
        st, _, data = http_request(self.url + "/standin/messages")
        check(st == 200, st)
        return [m for m in json.loads(data) if path is None or m["path"].startswith(path)]

    def wait_message(self, pred, what, timeout=20):
        return wait_for(lambda: next((m for m in self.messages() if pred(m)), None), timeout,
                        what=what)


def sign(body, ts=None, secret=SIGNING):
    ts = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac}


def click(d, slack, user, action, prop, ts=None, secret=SIGNING, reply_id=None):
    """A signed block_actions callback, as Slack posts it. Returns (status, body, response id)."""
    reply_id = reply_id or f"r{time.monotonic_ns()}"
    payload = {"type": "block_actions", "user": {"id": user, "username": user.lower()},
               "team": {"id": "T0TEAM"}, "channel": {"id": CHANNEL},
               "container": {"type": "message", "message_ts": "1700000000.000001"},
               "response_url": f"{slack.url}/actions/{reply_id}", "trigger_id": "1.2.3",
               "actions": [{"type": "button", "action_id": action, "block_id": prop,
                            "value": prop, "action_ts": str(time.time())}]}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(sign(body, ts, secret))
    st, _, data = http_request(d.url + "/api/v1/slack/interactions", "POST", body, h)
    return st, data, reply_id, body, h


def event(d, body_obj, ts=None):
    body = json.dumps(body_obj).encode()
    h = {"Content-Type": "application/json"}
    h.update(sign(body, ts))
    st, _, data = http_request(d.url + "/api/v1/slack/events", "POST", body, h)
    return st, data


def reply(d, user, text, thread_ts):
    return event(d, {"type": "event_callback", "team_id": "T0TEAM",
                     "event_id": f"Ev{time.monotonic_ns()}",
                     "event": {"type": "message", "channel": CHANNEL, "user": user, "text": text,
                               "ts": f"{time.time():.6f}", "thread_ts": thread_ts}})


def config(slack, extra=""):
    lines = ["auth:", "  tokens:"]
    for name, (role, _) in TOKENS.items():
        lines.append(f"    - {{name: {name}, role: {role}, "
                     f"token: {{env: FORESTALL_TOKEN_{name.upper()}}}}}")
    users = ", ".join(f"{k}: {v}" for k, v in USERS.items())
    return "\n".join(lines) + f"""
notify:
  public_url: http://forestall.test
  retry: {{initial: 200ms, max: 1s}}
  channels:
    - name: ops-slack
      type: slack
      bot_token: {{env: FORESTALL_SLACK_BOT}}
      channel: {CHANNEL}
      signing_secret: {{env: FORESTALL_SLACK_SIGNING}}
      api_url: {slack.url}/api
      users: {{{users}, U0NOBODY: nobody}}
""" + extra


def env():
    e = {f"FORESTALL_TOKEN_{n.upper()}": t for n, (_, t) in TOKENS.items()}
    e["FORESTALL_TOKEN"] = TOKENS["root"][1]
    e["FORESTALL_SLACK_BOT"] = BOT
    e["FORESTALL_SLACK_SIGNING"] = SIGNING
    return e


def as_(name):
    return {"Authorization": "Bearer " + TOKENS[name][1]}


def proposal(d, prop):
    st, body = d.get(f"/api/v1/proposals/{prop}")
    check(st == 200, (st, body))
    return body


def audit(d, types):
    st, body = d.get(f"/api/v1/audit?limit=0&type={types}")
    check(st == 200, (st, body))
    return body


def buttons(msg):
    out = {}
    for b in msg["body"].get("blocks", []):
        if b["type"] == "actions":
            for e in b["elements"]:
                out[e["action_id"]] = e
    return out


def test_block_kit_message_and_signed_click_approves(ctx):
    if os.geteuid() != 0:
        raise AssertionError("this test mounts a tmpfs and must run as root (CI does)")
    fs = Tmpfs()
    try:
        fill_journal(os.path.join(fs.path, "journal"), 7, 4 * 1024 * 1024)
        slack = Slack(ctx)
        d = ctx.daemon(config="executor: {max_verify_wait: 3s}\n" + config(slack),
                       env=env()).start()
        r = d.cli("mode", "set", "supervised", "--as", "root", "--reason", "people approve")
        check(r.returncode == 0, r.stdout + r.stderr)
        labels = {"alertname": "DiskSpaceWarning", "instance": "127.0.0.1:9100",
                  "mountpoint": fs.path, "severity": "warning", "service": "demo-logs"}
        st, body = d.post(AM, am_webhook([am_alert(labels, {"summary": "Disk over 80%"},
                                                   starts_at=lib.utc_rfc3339())]))
        check(st == 200, body)
        inc = wait_for(lambda: next((i for i in d.incidents()
                                     if i.get("state") == "awaiting_approval"), None), 30,
                       what="the incident to wait for approval")
        st, props = d.get(f"/api/v1/proposals?incident={inc['id']}")
        prop = props[0]["id"]

        # the Block Kit message: Web API with the bot token, the buttons and the deep link
        msg = slack.wait_message(lambda m: m["path"] == "/api/chat.postMessage"
                                 and prop in json.dumps(m["body"]), "the proposal's message")
        check(msg["auth"] == "Bearer " + BOT, msg["auth"])
        check(msg["body"]["channel"] == CHANNEL and msg["body"]["text"], msg["body"])
        bt = buttons(msg)
        check(bt["approve"]["value"] == prop and bt["reject"]["value"] == prop, bt)
        check("force_override" not in bt, bt)
        check(bt["open"]["url"] == f"http://forestall.test/ui/#/incidents/{inc['id']}", bt)
        text = json.dumps(msg["body"])
        check("journal_vacuum" in text and "Risk score" in text, text)

        # refused before anything is decided: wrong secret, old timestamp, no signature
        st, data, *_ = click(d, slack, "U0ALICE", "approve", prop, secret="wrong")
        check(st == 401, (st, data))
        st, data, *_ = click(d, slack, "U0ALICE", "approve", prop, ts=int(time.time()) - 301)
        check(st == 401 and b"away from now" in data, (st, data))
        st, _, data = http_request(d.url + "/api/v1/slack/interactions", "POST", b"payload=%7B%7D",
                                   {"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 401, (st, data))

        # a viewer-mapped user and an unmapped user decide nothing; each hears why, privately
        st, _, rid, *_ = click(d, slack, "U0VERA", "approve", prop)
        check(st == 200, st)
        m = slack.wait_message(lambda m: m["path"] == f"/actions/{rid}", "the viewer's answer")
        check(m["body"].get("response_type") == "ephemeral" and "forbidden" in m["body"]["text"],
              m)
        st, _, rid, *_ = click(d, slack, "U0STRANGER", "approve", prop)
        check(st == 200, st)
        m = slack.wait_message(lambda m: m["path"] == f"/actions/{rid}", "the stranger's answer")
        check(m["body"].get("response_type") == "ephemeral" and "not mapped" in m["body"]["text"],
              m)
        check(proposal(d, prop)["status"] == "pending", proposal(d, prop))

        # alice approves: 200 at once, the message replaced, the executor runs it
        t0 = time.monotonic()
        st, data, rid, body, headers = click(d, slack, "U0ALICE", "approve", prop)
        check(st == 200 and time.monotonic() - t0 < 3, (st, data))
        m = slack.wait_message(lambda m: m["path"] == f"/actions/{rid}", "the approval's answer")
        check(m["body"].get("replace_original") is True and "approved by" in m["body"]["text"]
              and "alice" in m["body"]["text"], m)
        check(proposal(d, prop)["status"] == "approved", proposal(d, prop))
        recs = [r for r in audit(d, "approval") if r["data"].get("proposal") == prop]
        check(len(recs) == 1 and recs[0]["actor"] == "alice"
              and recs[0]["data"]["channel"] == "slack", recs)

        # the same callback again is a replay
        st, _, data = http_request(d.url + "/api/v1/slack/interactions", "POST", body, headers)
        check(st == 401 and b"replay" in data, (st, data))

        inc = wait_for(lambda: next((i for i in d.incidents() if i["id"] == inc["id"]
                                     and i.get("state") in ("resolved", "escalated")), None), 30,
                       what="the remediation to finish")
        check(inc["state"] == "resolved", inc["state"])
        check(len(os.listdir(os.path.join(fs.path, "journal"))) < 7, "the journal is untouched")
    finally:
        fs.remove()


def test_thread_replies_on_a_critical_proposal(ctx):
    slack = Slack(ctx)
    d = ctx.daemon(config="dispatch: {enabled: false}\nexecutor: {enabled: false}\n"
                   + config(slack), env=env()).start()
    labels = {"alertname": "DiskSpaceWarning", "instance": "web-1:9100", "service": "monitoring",
              "severity": "critical", "env": "production"}
    st, body = d.post(AM, am_webhook([am_alert(labels)]))
    check(st == 200, body)
    inc = d.incidents()[0]["id"]
    st, obs = d.post("/api/v1/observations", {"incident": inc, "tool": "host.df",
                                              "input": {"path": "/"}, "output": "84% /"},
                     headers=as_("planner"))
    check(st == 201, obs)
    st, p = d.post("/api/v1/proposals", {
        "action": "journal_vacuum", "params": {"max_size": "1G"},
        "target": {"host": "web-1", "service": "monitoring"}, "incident": {"id": inc},
        "evidence": {"cited": [obs["id"]]}, "rationale": "the journal is 3 GiB"},
        headers=as_("planner"))
    check(st == 201 and p["decision"] == "needs_force_override", p)
    prop = p["id"]

    # the message offers Force override (not Approve); its ts is the thread
    msg = slack.wait_message(lambda m: m["path"] == "/api/chat.postMessage"
                             and prop in json.dumps(m["body"]), "the proposal's message")
    bt = buttons(msg)
    check("force_override" in bt and "approve" not in bt, bt)
    thread = msg["ts"]

    # the Events API: a signed url_verification, an unsigned one
    st, data = event(d, {"type": "url_verification", "token": "x", "challenge": "c-123"})
    check(st == 200 and json.loads(data)["challenge"] == "c-123", (st, data))
    st, _, data = http_request(d.url + "/api/v1/slack/events", "POST",
                               b'{"type":"url_verification","challenge":"c"}',
                               {"Content-Type": "application/json"})
    check(st == 401, (st, data))

    # APPROVE in the thread of a critical proposal is refused, even from an overrider
    st, _ = reply(d, "U0ALICE", "APPROVE", thread)
    check(st == 200, st)
    m = slack.wait_message(lambda m: m["body"].get("thread_ts") == thread
                           and "force_override_required" in m["body"].get("text", ""),
                           "the refusal of APPROVE")
    check(m["path"] == "/api/chat.postEphemeral" and m["body"]["user"] == "U0ALICE", m)
    st, _ = reply(d, "U0BOB", "  APPROVE\n", thread)
    slack.wait_message(lambda m: m["body"].get("user") == "U0BOB"
                       and "force_override_required" in m["body"].get("text", ""),
                       "the refusal of bob's APPROVE")
    # FORCE_OVERRIDE needs the overrider role
    reply(d, "U0ALICE", "FORCE_OVERRIDE", thread)
    slack.wait_message(lambda m: m["body"].get("user") == "U0ALICE"
                       and "forbidden" in m["body"].get("text", ""), "alice's FORCE_OVERRIDE")
    check(proposal(d, prop)["status"] == "pending", proposal(d, prop))
    # a lower-case word or a sentence is conversation, not a decision
    reply(d, "U0BOB", "force_override?", thread)
    # bob's FORCE_OVERRIDE decides, once (Slack's retry of the same event changes nothing)
    ev = {"type": "event_callback", "team_id": "T0TEAM", "event_id": "EvBOB1",
          "event": {"type": "message", "channel": CHANNEL, "user": "U0BOB",
                    "text": "FORCE_OVERRIDE", "ts": "1700000099.000100", "thread_ts": thread}}
    st, _ = event(d, ev)
    check(st == 200, st)
    m = slack.wait_message(lambda m: m["path"] == "/api/chat.postMessage"
                           and m["body"].get("thread_ts") == thread
                           and "FORCE_OVERRIDE" in m["body"].get("text", ""), "the override")
    check("bob" in m["body"]["text"], m)
    check(proposal(d, prop)["status"] == "approved", proposal(d, prop))
    st, _ = event(d, ev, ts=int(time.time()) - 2)  # a retry is signed anew
    check(st == 200, st)
    time.sleep(0.5)
    recs = audit(d, "override,refusal")
    ov = [r for r in recs if r["type"] == "override"]
    check(len(ov) == 1 and ov[0]["actor"] == "bob" and ov[0]["data"]["channel"] == "slack", ov)
    refused = [(r["actor"], r["data"].get("code")) for r in recs if r["type"] == "refusal"
               and r["data"].get("channel") == "slack"]
    check(("alice", "force_override_required") in refused
          and ("bob", "force_override_required") in refused
          and ("alice", "forbidden") in refused, refused)
    check(("bob", "not_pending") not in refused, f"the retried event decided again: {refused}")
