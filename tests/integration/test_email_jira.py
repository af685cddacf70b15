"""Email and Jira channels through the daemon, against standin_smtp.py (an SMTP sink that checks
the message as a mail client would: CRLF, header set, MIME, UTF-8, envelope vs headers) and
standin_jira.py (checks the documented request shapes of Jira Cloud v3 / Data Center v2):

- an incident forestall cannot fix escalates: the mail arrives (AUTH PLAIN, no problem in the
  message, the deep link in the text), the Jira issue is created (basic auth, ADF description
  with the incident link as a link mark, the configured labels/priority/custom field) and its key
  is kept as the delivery's ref; a Jira channel with an unknown project fails for good (400,
  Jira's message kept) without holding anything up;
- an incident forestall fixes (a bloated journal on a tmpfs): on Data Center v2 with a bearer
  PAT, the first notice creates the issue (after a 503 that is retried, never duplicated) and
  the resolution comments on that same issue (docs/tickets.md)."""
import json
import os
import subprocess
import sys

from lib import (Tmpfs, am_alert, am_webhook, check, fill_journal, http_request, utc_rfc3339,
                 wait_for)
from test_engine import AM_PATH, disk_alert, handled, need_root

HERE = os.path.dirname(os.path.abspath(__file__))
SMTP_USER, SMTP_PASS = "forestall-bot", "smtp-pass-0123456789"
JIRA_EMAIL, JIRA_TOKEN = "bot@acme.example", "jira-api-token-0123456789"
JIRA_PAT = "jira-pat-abcdefghij0123456789"
ENV = {"FORESTALL_TEST_SMTP": SMTP_PASS, "FORESTALL_TEST_JIRA": JIRA_TOKEN,
       "FORESTALL_TEST_JIRA_PAT": JIRA_PAT}
SECRETS = (SMTP_PASS, JIRA_TOKEN, JIRA_PAT)


def start(ctx, script, *args):
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, script), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ctx.track(proc)
    line = proc.stdout.readline()
    check(line.startswith("listening on "), f"{script}: {line!r}")
    return line.split()[2:]


def get_json(url):
    st, _, data = http_request(url)
    check(st == 200, f"GET {url}: {st}")
    return json.loads(data)


class Smtp:
    def __init__(self, ctx):
        self.url, self.control = start(ctx, "standin_smtp.py", "--auth",
                                       f"{SMTP_USER}:{SMTP_PASS}")

    def messages(self):
        return get_json(self.control + "/__messages")

    def message(self, event, timeout=30):
        def f():
            m = [x for x in self.messages()
                 if x["headers"].get("x-forestall-event") == event]
            return m[0] if m else None
        return wait_for(f, timeout, what=f"the {event} mail")


class Jira:
    def __init__(self, ctx, *args):
        self.url = start(ctx, "standin_jira.py", *args)[0]

    def requests(self):
        return get_json(self.url + "/__requests")

    def issues(self):
        return get_json(self.url + "/__issues")

    def fail(self, status, times, path=""):
        st, _, _ = http_request(self.url + "/__fail", "POST",
                                json.dumps({"status": status, "times": times, "path": path}),
                                {"Content-Type": "application/json"})
        check(st == 200, st)


def config(channels):
    lines = ["executor: {max_verify_wait: 3s}",
             "notify:",
             "  retry: {initial: 200ms, max: 1s, give_up: 10m}",
             "  timeout: 5s",
             "  channels:"]
    lines += ["    - " + json.dumps(c) for c in channels]
    return "\n".join(lines) + "\n"


def deliveries(d, channel):
    with d.db() as db:
        return db.execute("SELECT event, status, attempts, last_error, ref FROM deliveries "
                          "WHERE channel=? ORDER BY id", (channel,)).fetchall()


def adf_links(node):
    """Every link mark's href in an ADF document."""
    out = []
    if isinstance(node, dict):
        for m in node.get("marks", []):
            if m.get("type") == "link":
                out.append(m["attrs"]["href"])
        for c in node.get("content", []):
            out += adf_links(c)
    return out


def adf_text(node):
    if isinstance(node, dict):
        if node.get("type") == "text":
            return node["text"]
        if node.get("type") == "hardBreak":
            return "\n"
        return "".join(adf_text(c) for c in node.get("content", [])) + \
            ("\n\n" if node.get("type") == "paragraph" else "")
    return ""


def no_secret_anywhere(*dumps):
    for s in SECRETS:
        for d in dumps:
            check(s not in d, "a secret was sent or kept in the clear")


def test_escalation_mails_and_opens_a_jira_issue(ctx):
    smtp = Smtp(ctx)
    jira = Jira(ctx, "--basic", f"{JIRA_EMAIL}:{JIRA_TOKEN}", "--project", "OPS=10000")
    d = ctx.daemon(config=config([
        {"name": "mail", "type": "email", "url": smtp.url, "from": "forestall@acme.example",
         "to": ["oncall@acme.example", "sre-lead@acme.example"], "username": SMTP_USER,
         "password": {"env": "FORESTALL_TEST_SMTP"}, "events": ["escalation"]},
        {"name": "tickets", "type": "jira", "url": jira.url, "api_version": 3, "auth": "basic",
         "email": JIRA_EMAIL, "token": {"env": "FORESTALL_TEST_JIRA"}, "project": "OPS",
         "issue_type": "Task", "labels": ["forestall", "sre"], "priority": "High",
         "fields": {"customfield_10010": {"value": "infra"}},
         "events": ["escalation", "resolution"]},
        {"name": "tickets-bad", "type": "jira", "url": jira.url, "email": JIRA_EMAIL,
         "token": {"env": "FORESTALL_TEST_JIRA"}, "project": "NOPE",
         "events": ["escalation"]}]), env=ENV).start()
    # a host forestall cannot reach: nothing to fix here, the incident goes to people
    st, body = d.post(AM_PATH, am_webhook([am_alert(
        {"alertname": "DiskSpaceWarning", "instance": "far-away:9100", "mountpoint": "/",
         "severity": "warning", "service": "billing"},
        {"summary": "Disk usage over 80% on far-away:/"}, starts_at=utc_rfc3339())]))
    check(st == 200, body)
    inc = wait_for(handled(d, ("escalated",)), 30, what="the incident to escalate")
    link = f"{d.url}/ui/#/incidents/{inc['id']}"

    # the mail: authenticated, well formed, to both people, with the deep link
    m = smtp.message("escalation")
    check(m["problems"] == [], f"the mail has problems: {m['problems']}")
    check(m["auth"] == SMTP_USER, f"AUTH: {m['auth']}")
    check(m["mail_from"] == "forestall@acme.example", m["mail_from"])
    check(sorted(m["rcpt_to"]) == ["oncall@acme.example", "sre-lead@acme.example"], m["rcpt_to"])
    check(m["subject"].startswith("[forestall] Escalated to people: ") and
          m["subject"].endswith(f"({inc['id']})"), m["subject"])
    check(f"Open in forestall: {link}\n" in m["text"], m["text"])
    check(m["headers"]["x-forestall-incident"] == inc["id"], m["headers"])

    # the issue: created once, with the documented shape (the stand-in checked it)
    def created():
        r = [x for x in jira.requests() if x["path"] == "/rest/api/3/issue" and
             x["body"]["fields"]["project"].get("key") == "OPS" and x["status"] == 201]
        return r[0] if r else None
    req = wait_for(created, 30, what="the Jira issue")
    check(req["problems"] == [], req["problems"])
    check(req["headers"]["content-type"] == "application/json", req["headers"])
    check(req["headers"]["accept"] == "application/json", req["headers"])
    f = req["body"]["fields"]
    check(f["summary"].startswith(inc["id"] + ": "), f["summary"])
    check(f["issuetype"] == {"name": "Task"} and f["priority"] == {"name": "High"}, f)
    check(f["labels"] == ["forestall", "sre"], f["labels"])
    check(f["customfield_10010"] == {"value": "infra"}, f)
    check(adf_links(f["description"]) == [link], adf_links(f["description"]))
    text = adf_text(f["description"])
    check(f"permanent fix for incident {inc['id']}" in text, text)
    issues = jira.issues()
    check(list(issues) == ["OPS-1"], issues.keys())

    # the key is kept as the delivery's reference, for the comments that follow
    wait_for(lambda: deliveries(d, "tickets") and deliveries(d, "tickets")[0][1] == "sent", 10,
             what="the Jira delivery to be recorded")
    rows = deliveries(d, "tickets")
    check([(r[0], r[1], r[4]) for r in rows] == [("escalation", "sent", "OPS-1")], rows)
    # and the issue is linked on the incident's timeline
    inc = d.incidents()[0]["id"]
    st, full = d.get(f"/api/v1/incidents/{inc}")
    tickets = [t for t in full["timeline"] if t.get("kind") == "ticket"]
    check(len(tickets) == 1 and tickets[0]["detail"]["key"] == "OPS-1" and
          tickets[0]["detail"]["url"] == jira.url.rstrip("/") + "/browse/OPS-1", full["timeline"])

    # an unknown project fails for good: 400 once, Jira's message kept, no retry
    bad = wait_for(lambda: [r for r in deliveries(d, "tickets-bad") if r[1] == "dead"], 30,
                   what="the bad Jira channel to give up")
    check(bad[0][2] == 1 and "valid project is required" in bad[0][3], bad)
    check(len([x for x in jira.requests() if x["body"]["fields"]["project"].get("key") == "NOPE"])
          == 1, "a permanent failure was retried")
    check(deliveries(d, "mail")[0][1] == "sent", deliveries(d, "mail"))
    no_secret_anywhere(json.dumps(smtp.messages()), json.dumps(jira.requests()),
                       json.dumps(get_json(smtp.control + "/__sessions")),
                       json.dumps(deliveries(d, "tickets-bad")))
    d.stop()


def test_jira_issue_then_comment_on_resolution(ctx):
    need_root()
    fs = Tmpfs()
    try:
        fill_journal(os.path.join(fs.path, "journal"), 7, 4 * 1024 * 1024)
        smtp = Smtp(ctx)
        jira = Jira(ctx, "--bearer", JIRA_PAT, "--version", "2", "--project", "OPS=10000")
        jira.fail(503, 1, "/rest/api/2/issue")  # the first create meets a Jira that is down
        d = ctx.daemon(config=config([
            {"name": "dc", "type": "jira", "url": jira.url, "api_version": 2, "auth": "bearer",
             "token": {"env": "FORESTALL_TEST_JIRA_PAT"}, "project": "10000",
             "events": ["execution", "resolution"]},
            {"name": "mail", "type": "email", "url": smtp.url, "from": "forestall@acme.example",
             "to": ["oncall@acme.example"], "username": SMTP_USER,
             "password": {"env": "FORESTALL_TEST_SMTP"}, "events": ["resolution"]}]),
            env=ENV).start()
        st, body = d.post(AM_PATH, disk_alert(fs.path))
        check(st == 200, body)
        inc = wait_for(handled(d, ("resolved", "escalated")), 60, what="the remediation")
        check(inc["state"] == "resolved", f"state {inc['state']}")
        link = f"{d.url}/ui/#/incidents/{inc['id']}"

        def commented():
            i = jira.issues()
            return i if i and any(v["comments"] for v in i.values()) else None
        issues = wait_for(commented, 40, what="the resolution comment")
        check(list(issues) == ["OPS-1"], f"one issue expected: {list(issues)}")
        issue = issues["OPS-1"]
        check(issue["version"] == 2 and issue["fields"]["project"] == {"id": "10000"}, issue)
        check(isinstance(issue["fields"]["description"], str) and
              link in issue["fields"]["description"], issue["fields"]["description"])
        check(issue["fields"]["summary"].startswith(inc["id"] + ": "), issue["fields"])
        check(len(issue["comments"]) == 1 and issue["comments"][0].startswith("Resolved: ") and
              link in issue["comments"][0], issue["comments"])
        reqs = jira.requests()
        check(all(r["problems"] == [] for r in reqs), [r["problems"] for r in reqs])
        check(all(r["headers"]["authorization"] == "Bearer " + JIRA_PAT for r in reqs),
              "every request carries the PAT as a bearer token")
        creates = [r["status"] for r in reqs if r["path"] == "/rest/api/2/issue"]
        check(creates == [503, 201], f"creates: {creates}")
        check([r["path"] for r in reqs if r["path"].endswith("/comment")] ==
              ["/rest/api/2/issue/OPS-1/comment"], [r["path"] for r in reqs])
        rows = wait_for(lambda: [r for r in deliveries(d, "dc") if r[0] == "resolution" and
                                 r[1] == "sent"] and deliveries(d, "dc"), 10)
        check([(r[0], r[1], r[4]) for r in rows] ==
              [("execution", "sent", "OPS-1"), ("resolution", "sent", "OPS-1")], rows)
        check(rows[0][2] == 2, f"the create was tried {rows[0][2]} times")

        m = smtp.message("resolution")
        check(m["problems"] == [], m["problems"])
        check(f"Open in forestall: {link}\n" in m["text"], m["text"])
        no_secret_anywhere(json.dumps(smtp.messages()), json.dumps(reqs[0]["body"]))
        d.stop()
    finally:
        fs.remove()
