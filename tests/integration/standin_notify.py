#!/usr/bin/env python3
"""standin_notify: a stand-in for the peers of forestall's webhook and PagerDuty channels, on
one port. It is a test peer, not an implementation to copy.

    POST /hook/NAME      a webhook receiver: checks X-Forestall-Signature (t=<unix>,
                         v1=<hex HMAC-SHA256(secret, "<t>.<body>")>) with --secret and records
                         the request (valid: whether the signature matched and t is within 5
                         minutes)
    POST /v2/enqueue     PagerDuty Events API v2 (protocols.md 7.3): checks routing_key,
                         event_action (trigger|acknowledge|resolve), dedup_key (<= 255), and for
                         a trigger payload.summary (<= 1024), payload.source, payload.severity
                         (critical|error|warning|info); 202 {status, message, dedup_key}, or 400
                         {status, message, errors} when one is missing
    POST /standin/script {"path": "/hook/x", "status": 500, "times": 2}: the next N requests
                         to that path are answered with that status (and recorded as such)
    GET  /standin/records  every request so far: [{path, status, valid, headers, body}]

    standin_notify.py --secret SECRET [--port N]    prints "listening on http://127.0.0.1:N"
"""
import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RECORDS = []
SCRIPT = {}  # path -> [status, times]
SECRET = b""

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")


def check_signature(headers, body):
    sig = headers.get("X-Forestall-Signature", "")
    parts = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    want = hmac.new(SECRET, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts.get("v1", "")) and abs(time.time() - t) < 300


def check_pagerduty(ev):
    errors = []
    if not isinstance(ev, dict):
        return ["body is not an object"]
    if not isinstance(ev.get("routing_key"), str) or not ev["routing_key"]:
        errors.append("'routing_key' is missing")
    if ev.get("event_action") not in ACTIONS:
        errors.append("'event_action' is invalid")
    dk = ev.get("dedup_key")
    if dk is not None and (not isinstance(dk, str) or len(dk) > 255):
        errors.append("'dedup_key' is invalid")
    if ev.get("event_action") == "trigger":
        p = ev.get("payload")
        if not isinstance(p, dict):
            errors.append("'payload' is missing")
        else:
            s = p.get("summary")
            if not isinstance(s, str) or not s or len(s) > 1024:
                errors.append("'payload.summary' is invalid")
            if not isinstance(p.get("source"), str) or not p["source"]:
                errors.append("'payload.source' is missing")
            if p.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid")
    elif not dk:
        errors.append("'dedup_key' is required for acknowledge and resolve")
    return errors


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/standin/records":
            with LOCK:
                return self.reply(200, RECORDS)
        self.reply(404, {"error": "no such path"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.path == "/standin/script":
            s = json.loads(body)
            with LOCK:
                SCRIPT[s["path"]] = [int(s["status"]), int(s.get("times", 1))]
            return self.reply(200, {"ok": True})
        rec = {"path": self.path, "headers": {k: v for k, v in self.headers.items()},
               "valid": None, "status": None, "t": time.time()}
        try:
            rec["body"] = json.loads(body)
        except ValueError:
            rec["body"] = body.decode("utf-8", "replace")
        with LOCK:
            scripted = SCRIPT.get(self.path)
            if scripted and scripted[1] > 0:
                scripted[1] -= 1
                rec["status"] = scripted[0]
                RECORDS.append(rec)
                return self.reply(scripted[0], {"status": "error", "message": "scripted"})
        if self.path.startswith("/hook/"):
            rec["valid"] = check_signature(self.headers, body)
            rec["status"] = 200 if rec["valid"] else 401
            with LOCK:
                RECORDS.append(rec)
            return self.reply(rec["status"], {"ok": rec["valid"]})
        if self.path == "/v2/enqueue":
            errors = check_pagerduty(rec["body"])
            rec["valid"] = not errors
            rec["status"] = 202 if not errors else 400
            with LOCK:
                RECORDS.append(rec)
            if errors:
                return self.reply(400, {"status": "invalid event",
                                        "message": "Event object is invalid", "errors": errors})
            dk = rec["body"].get("dedup_key") or hashlib.sha1(body).hexdigest()
            return self.reply(202, {"status": "success", "message": "Event processed",
                                    "dedup_key": dk})
        self.reply(404, {"error": "no such path"})


def main():
    global SECRET
    ap = argparse.ArgumentParser()
    ap.add_argument("--secret", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    SECRET = a.secret.encode()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
