#!/usr/bin/env python3
"""A stand-in for Slack, for tests only (Slack cannot run here). Standard library only. It checks
the documented shapes (shared/reference/protocols.md §7.2) of what forestall sends:

  POST /services/T…/B…/…        incoming webhook: application/json with a non-empty top-level
                                 "text" (the fallback) and valid "blocks" → 200 "ok"; else 400
                                 with Slack's plain-text code (invalid_payload, no_text)
  POST /api/chat.postMessage     Web API: Authorization: Bearer <token>, application/json,
                                 "channel", "text", optional "blocks" and "thread_ts" →
                                 {"ok":true,"channel","ts","message"}; errors as
                                 {"ok":false,"error":"not_authed|invalid_auth|channel_not_found|
                                 no_text|invalid_blocks|thread_not_found"}
  POST /api/chat.postEphemeral   the same auth; "channel", "user", "text" → {"ok":true,
                                 "message_ts"}
  POST /actions/<id>             a response_url: JSON with "text" → 200 "ok"

Test hooks (not Slack): GET /standin/messages → every accepted request, in order, as
{"path", "body", "auth"}; POST /standin/fail {"status": N, "count": K} → the next K Web API or
webhook requests answer N.

    standin_slack.py --token xoxb-... --channel C0123 [--port N]
prints "listening on http://127.0.0.1:N" when ready.
"""
import argparse
import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
MESSAGES = []
TS = itertools.count(1)
FAIL = {"status": 0, "count": 0}
ARGS = None
BLOCK_TYPES = {"section", "header", "actions", "context", "divider"}


def blocks_ok(blocks):
    """The Block Kit rules forestall's messages rely on (a subset of Slack's validation)."""
    if not isinstance(blocks, list) or not blocks or len(blocks) > 50:
        return False
    for b in blocks:
        if not isinstance(b, dict) or b.get("type") not in BLOCK_TYPES:
            return False
        if b["type"] in ("section", "header"):
            t = b.get("text")
            if not isinstance(t, dict) or t.get("type") not in ("mrkdwn", "plain_text"):
                return False
            if b["type"] == "header" and (t["type"] != "plain_text" or len(t["text"]) > 150):
                return False
            if not t.get("text") or len(t["text"]) > 3000:
                return False
        if b["type"] == "actions":
            els = b.get("elements")
            if not isinstance(els, list) or not els or len(els) > 25:
                return False
            ids = set()
            for e in els:
                if e.get("type") != "button" or e.get("text", {}).get("type") != "plain_text":
                    return False
                if not e.get("action_id") or e["action_id"] in ids:
                    return False
                ids.add(e["action_id"])
                if e.get("style") not in (None, "primary", "danger"):
                    return False
                if "url" not in e and not e.get("value"):
                    return False
    return True


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="application/json; charset=utf-8"):
        data = body if isinstance(body, bytes) else (
            json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/standin/messages":
            with LOCK:
                return self.reply(200, list(MESSAGES))
        self.reply(404, "not found", "text/plain")

    def failing(self):
        with LOCK:
            if FAIL["count"] > 0:
                FAIL["count"] -= 1
                return FAIL["status"]
        return 0

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if self.path == "/standin/fail":
            with LOCK:
                FAIL.update(json.loads(raw))
            return self.reply(200, {"ok": True})
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            body = json.loads(raw) if ctype == "application/json" else None
        except ValueError:
            body = None
        auth = self.headers.get("Authorization")
        if self.path.startswith("/services/"):
            st = self.failing()
            if st:
                return self.reply(st, "service_unavailable", "text/plain")
            if not isinstance(body, dict):
                return self.reply(400, "invalid_payload", "text/plain")
            if not body.get("text"):
                return self.reply(400, "no_text", "text/plain")
            if "blocks" in body and not blocks_ok(body["blocks"]):
                return self.reply(400, "invalid_blocks", "text/plain")
            self.record(body, auth)
            return self.reply(200, "ok", "text/html")
        if self.path.startswith("/actions/"):
            if not isinstance(body, dict) or not body.get("text"):
                return self.reply(400, "invalid_payload", "text/plain")
            self.record(body, auth)
            return self.reply(200, "ok", "text/html")
        if self.path in ("/api/chat.postMessage", "/api/chat.postEphemeral"):
            st = self.failing()
            if st:
                return self.reply(st, {"ok": False, "error": "ratelimited"})
            if not auth:
                return self.reply(200, {"ok": False, "error": "not_authed"})
            if auth != "Bearer " + ARGS.token:
                return self.reply(200, {"ok": False, "error": "invalid_auth"})
            if not isinstance(body, dict):
                return self.reply(200, {"ok": False, "error": "invalid_arguments"})
            if body.get("channel") != ARGS.channel:
                return self.reply(200, {"ok": False, "error": "channel_not_found"})
            if not body.get("text"):
                return self.reply(200, {"ok": False, "error": "no_text"})
            if "blocks" in body and not blocks_ok(body["blocks"]):
                return self.reply(200, {"ok": False, "error": "invalid_blocks"})
            ts = f"1700000000.{next(TS):06d}"
            if self.path.endswith("postEphemeral"):
                if not body.get("user"):
                    return self.reply(200, {"ok": False, "error": "user_not_in_channel"})
                self.record(body, auth)
                return self.reply(200, {"ok": True, "message_ts": ts})
            if "thread_ts" in body:
                with LOCK:
                    roots = [m["ts"] for m in MESSAGES if m.get("ts")]
                if body["thread_ts"] not in roots:
                    return self.reply(200, {"ok": False, "error": "thread_not_found"})
            self.record(body, auth, ts)
            return self.reply(200, {"ok": True, "channel": body["channel"], "ts": ts,
                                    "message": {"text": body["text"], "ts": ts}})
        self.reply(404, "not found", "text/plain")

    def record(self, body, auth, ts=None):
        with LOCK:
            MESSAGES.append({"path": self.path, "body": body, "auth": auth, "ts": ts})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", required=True)
    ap.add_argument("--channel", required=True)
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
