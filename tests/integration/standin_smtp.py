#!/usr/bin/env python3
"""A stand-in SMTP server (a sink), for tests only: no real mail server runs here. Standard
library only. It speaks the subset of RFC 5321 a submission client uses — greeting, EHLO/HELO,
AUTH PLAIN and AUTH LOGIN (RFC 4954; required when --auth is given), MAIL FROM, RCPT TO, DATA
(dot-unstuffing), RSET, NOOP, QUIT — stores every accepted message and checks it as a receiving
MTA and a mail client would:

  - lines end in CRLF (no bare CR or LF), no line longer than 998 characters (RFC 5322 §2.1.1)
  - Date, From, Message-ID present exactly once; To present; the header block parses
  - no header from outside the expected set (an injected Bcc: shows up as a problem)
  - MIME-Version 1.0 with a text/plain; charset=UTF-8 body in quoted-printable or 8bit, whose
    decoding is valid UTF-8
  - the envelope sender matches the From address; every envelope recipient is in To

Problems are listed in the message's record ("problems"); nothing is refused for them, so a test
sees exactly what was sent.

Test hooks on a second (HTTP) port:
  GET  /__messages  → [{n, mail_from, rcpt_to, auth, helo, raw, headers{lower: value}, subject
                       (decoded), text (decoded body), problems}]
  GET  /__sessions  → [{n, commands: [...], auth_ok}]   (every session, AUTH arguments hidden)
  POST /__mode      → {"mail": CODE, "rcpt": CODE, "data": CODE, "times": N} answer CODE (e.g.
                       451 temporary, 550 permanent) to that command for the next N sessions
                       (default: until changed); {} resets

    standin_smtp.py [--port N] [--http-port N] [--auth USER:PASSWORD]
prints "listening on smtp://127.0.0.1:P http://127.0.0.1:Q"
"""
import argparse
import base64
import email
import email.policy
import email.utils
import http.server
import json
import re
import socketserver
import sys
import threading

MESSAGES = []
SESSIONS = []
MODE = {}
LOCK = threading.Lock()
ARGS = None

ALLOWED_HEADERS = {
    "date", "from", "to", "cc", "subject", "message-id", "references", "in-reply-to",
    "mime-version", "content-type", "content-transfer-encoding", "auto-submitted",
    "x-forestall-event", "x-forestall-incident",
}
ADDR = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def check_message(raw, mail_from, rcpt_to):
    problems = []
    rec = {"raw": raw.decode("utf-8", "replace"), "headers": {}, "subject": None, "text": None}
    if re.search(rb"(?<!\r)\n", raw) or re.search(rb"\r(?!\n)", raw):
        problems.append("bare CR or LF (lines must end in CRLF)")
    for line in raw.split(b"\r\n"):
        if len(line) > 998:
            problems.append("a line longer than 998 characters")
            break
    head, sep, _ = raw.partition(b"\r\n\r\n")
    if not sep:
        problems.append("no blank line between the header and the body")
    names = []
    for line in head.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            continue
        if b":" not in line:
            problems.append(f"a header line without a colon: {line[:80]!r}")
            continue
        name = line.split(b":", 1)[0].decode("ascii", "replace").strip().lower()
        names.append(name)
        if name not in ALLOWED_HEADERS:
            problems.append(f"unexpected header {name}")
        if any(b > 0x7f for b in line):
            problems.append(f"raw 8-bit bytes in header {name} (must be RFC 2047 encoded)")
    for must in ("date", "from", "message-id"):
        if names.count(must) != 1:
            problems.append(f"{must} must appear exactly once (found {names.count(must)})")
    if "to" not in names:
        problems.append("no To header")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as e:  # noqa: BLE001 - a parse failure is what is being reported
        problems.append(f"the message does not parse: {e}")
        rec["problems"] = problems
        return rec
    for k in set(names):
        try:
            rec["headers"][k] = str(msg[k])
        except Exception as e:  # noqa: BLE001
            problems.append(f"header {k} does not decode: {e}")
    rec["subject"] = rec["headers"].get("subject")
    if msg.get("mime-version", "").strip() != "1.0":
        problems.append("MIME-Version is not 1.0")
    if msg.get_content_type() != "text/plain" or \
            (msg.get_content_charset() or "").lower() != "utf-8":
        problems.append("the body is not text/plain; charset=UTF-8")
    cte = (msg.get("content-transfer-encoding") or "7bit").strip().lower()
    if cte not in ("quoted-printable", "8bit", "7bit"):
        problems.append(f"unexpected Content-Transfer-Encoding {cte}")
    try:
        payload = msg.get_payload(decode=True) or b""
        rec["text"] = payload.decode("utf-8").replace("\r\n", "\n")  # as a reader sees it
    except UnicodeDecodeError:
        problems.append("the decoded body is not valid UTF-8")
    dates = msg.get("date")
    try:
        email.utils.parsedate_to_datetime(str(dates))
    except Exception:  # noqa: BLE001
        problems.append(f"Date does not parse: {dates!r}")
    if not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(msg.get("message-id", "")).strip()):
        problems.append("Message-ID is not <id@domain>")
    plain = email.message_from_bytes(raw)  # compat32: the header values as written
    from_addrs = [a for _, a in email.utils.getaddresses(plain.get_all("from", []))]
    if mail_from and from_addrs != [mail_from]:
        problems.append(f"envelope sender {mail_from} is not the From address {from_addrs}")
    to_addrs = [a for _, a in email.utils.getaddresses(plain.get_all("to", []))]
    for r in rcpt_to:
        if r not in to_addrs:
            problems.append(f"envelope recipient {r} is not in To {to_addrs}")
    rec["problems"] = problems
    return rec


def mode_code(cmd):
    with LOCK:
        code = MODE.get(cmd)
        return code


class SMTPHandler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, text):
        self.wfile.write((text + "\r\n").encode())
        self.wfile.flush()

    def readline(self):
        line = self.rfile.readline(4096)
        if not line:
            return None
        return line.rstrip(b"\r\n").decode("utf-8", "replace")

    def handle(self):
        with LOCK:
            if MODE.get("times") is not None:
                if MODE["times"] <= 0:
                    MODE.clear()
                else:
                    MODE["times"] -= 1
            session = {"n": len(SESSIONS) + 1, "commands": [], "auth_ok": False}
            SESSIONS.append(session)
        need_auth = ARGS.auth is not None
        authed = False
        helo = None
        mail_from = None
        rcpt = []
        self.reply("220 standin-smtp ESMTP ready")
        while True:
            line = self.readline()
            if line is None:
                return
            verb = line.split(" ", 1)[0].upper()
            # AUTH arguments carry the credentials: only the mechanism is kept
            session["commands"].append(line if verb != "AUTH" else " ".join(line.split(" ")[:2]))
            if verb == "EHLO":
                helo = line[5:].strip()
                lines = ["250-standin-smtp greets " + helo, "250-8BITMIME", "250-SIZE 10485760"]
                if ARGS.auth is not None:
                    lines.append("250-AUTH PLAIN LOGIN")
                lines.append("250 HELP")
                for x in lines:
                    self.wfile.write((x + "\r\n").encode())
                self.wfile.flush()
            elif verb == "HELO":
                helo = line[5:].strip()
                self.reply("250 standin-smtp")
            elif verb == "AUTH":
                parts = line.split(" ")
                mech = parts[1].upper() if len(parts) > 1 else ""
                user = pw = None
                if mech == "PLAIN":
                    data = parts[2] if len(parts) > 2 else None
                    if data is None:
                        self.reply("334 ")
                        data = self.readline() or ""
                    try:
                        _, user, pw = base64.b64decode(data).decode().split("\0")
                    except Exception:  # noqa: BLE001
                        self.reply("501 malformed AUTH PLAIN")
                        continue
                elif mech == "LOGIN":
                    try:
                        if len(parts) > 2:
                            user = base64.b64decode(parts[2]).decode()
                        else:
                            self.reply("334 " + base64.b64encode(b"Username:").decode())
                            user = base64.b64decode(self.readline() or "").decode()
                        self.reply("334 " + base64.b64encode(b"Password:").decode())
                        pw = base64.b64decode(self.readline() or "").decode()
                    except Exception:  # noqa: BLE001
                        self.reply("501 malformed AUTH LOGIN")
                        continue
                else:
                    self.reply("504 unrecognized authentication type")
                    continue
                if ARGS.auth is not None and f"{user}:{pw}" == ARGS.auth:
                    authed = True
                    session["auth_ok"] = True
                    session["user"] = user
                    self.reply("235 2.7.0 Authentication successful")
                else:
                    self.reply("535 5.7.8 Authentication credentials invalid")
            elif verb == "MAIL":
                m = ADDR.search(line)
                if need_auth and not authed:
                    self.reply("530 5.7.0 Authentication required")
                elif not line.upper().startswith("MAIL FROM:") or not m:
                    self.reply("501 syntax: MAIL FROM:<address>")
                elif mode_code("mail"):
                    self.reply(f"{mode_code('mail')} MAIL refused by the test's mode")
                else:
                    mail_from = m.group(1)
                    rcpt = []
                    self.reply("250 2.1.0 OK")
            elif verb == "RCPT":
                m = ADDR.search(line)
                if mail_from is None:
                    self.reply("503 5.5.1 MAIL first")
                elif not line.upper().startswith("RCPT TO:") or not m:
                    self.reply("501 syntax: RCPT TO:<address>")
                elif mode_code("rcpt"):
                    self.reply(f"{mode_code('rcpt')} RCPT refused by the test's mode")
                else:
                    rcpt.append(m.group(1))
                    self.reply("250 2.1.5 OK")
            elif verb == "DATA":
                if not rcpt:
                    self.reply("503 5.5.1 RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    raw = self.rfile.readline(65536)
                    if not raw:
                        return
                    if raw == b".\r\n":
                        break
                    if raw.startswith(b"."):
                        raw = raw[1:]  # dot-unstuffing (RFC 5321 §4.5.2)
                    chunks.append(raw)
                data = b"".join(chunks)
                code = mode_code("data")
                if code:
                    self.reply(f"{code} DATA refused by the test's mode")
                else:
                    rec = check_message(data, mail_from, rcpt)
                    with LOCK:
                        rec.update({"n": len(MESSAGES) + 1, "mail_from": mail_from,
                                    "rcpt_to": list(rcpt), "helo": helo,
                                    "auth": session.get("user")})
                        MESSAGES.append(rec)
                    self.reply(f"250 2.0.0 OK queued as {len(MESSAGES)}")
                mail_from = None
                rcpt = []
            elif verb == "RSET":
                mail_from = None
                rcpt = []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 command not implemented")


class Control(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            if self.path == "/__messages":
                return self.send(MESSAGES)
            if self.path == "/__sessions":
                return self.send(SESSIONS)
        self.send({"error": "not found"}, 404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/__mode":
            with LOCK:
                MODE.clear()
                MODE.update(body)
            return self.send({"ok": True})
        self.send({"error": "not found"}, 404)


class TServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--auth", help="USER:PASSWORD required before MAIL")
    ARGS = ap.parse_args()
    smtp = TServer(("127.0.0.1", ARGS.port), SMTPHandler)
    ctl = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.http_port), Control)
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    print(f"listening on smtp://127.0.0.1:{smtp.server_address[1]} "
          f"http://127.0.0.1:{ctl.server_address[1]}", flush=True)
    try:
        ctl.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
