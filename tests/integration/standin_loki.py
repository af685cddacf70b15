#!/usr/bin/env python3
"""A stand-in for Grafana Loki's HTTP API, for tests only (Loki cannot run here: it is not in
Debian). Standard library only. It speaks the documented protocol (shared/reference/protocols.md
§4.3) for what forestall uses:

  POST /loki/api/v1/push         JSON {"streams":[{"stream":{labels},"values":[["<ns>","line"]]}]}
                                 → 204
  GET  /loki/api/v1/query_range  query (LogQL log query: a stream selector with = != =~ !~
                                 matchers, then |= != |~ !~ line filters, strings in "..." with
                                 Go escapes or `...`), start/end (integer ns, float seconds or
                                 RFC 3339; start inclusive, end exclusive; default the last hour),
                                 since, limit (default 100), direction (backward|forward)
                                 → {"status":"success","data":{"resultType":"streams",
                                    "result":[{"stream":{...},"values":[["<ns>","line"],...]}],
                                    "stats":{}}}
  GET  /ready                    → 200 "ready"
Errors are plain-text 400 bodies, as Loki's are. Anything else in LogQL (parsers, metric
queries) is refused with 400 rather than half-supported.

Test hook (not Loki): GET /standin/requests → JSON list of the query_range parameters received.

    standin_loki.py [--port N]      prints "listening on http://127.0.0.1:N" when ready
"""
import argparse
import datetime
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STREAMS = {}      # frozenset(labels.items()) → list of (ns, line)
REQUESTS = []


class LogQLError(ValueError):
    pass


_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
        "\\": "\\", '"': '"', "'": "'"}


def _string(s, i):
    """A Go string literal at s[i:] ("..." with escapes, or `raw`) → (value, next index)."""
    if i >= len(s) or s[i] not in "\"`":
        raise LogQLError(f"parse error at {i}: expected a string")
    if s[i] == "`":
        j = s.find("`", i + 1)
        if j < 0:
            raise LogQLError("parse error: unterminated raw string")
        return s[i + 1:j], j + 1
    out = bytearray()
    i += 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return out.decode("utf-8", errors="strict"), i + 1
        if c == "\n":
            raise LogQLError("parse error: newline in string")
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        i += 1
        if i >= len(s):
            break
        e = s[i]
        if e in _ESC:
            out += _ESC[e].encode()
            i += 1
        elif e == "x":
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
        elif e in "01234567":
            out.append(int(s[i:i + 3], 8))
            i += 3
        elif e == "u":
            out += chr(int(s[i + 1:i + 5], 16)).encode()
            i += 5
        elif e == "U":
            out += chr(int(s[i + 1:i + 9], 16)).encode()
            i += 9
        else:
            raise LogQLError(f"parse error: unknown escape \\{e}")
    raise LogQLError("parse error: unterminated string")


def _ws(s, i):
    while i < len(s) and s[i] in " \t\n":
        i += 1
    return i


def parse_logql(q):
    """→ (matchers [(name, op, value)], filters [(op, value)])"""
    i = _ws(q, 0)
    if i >= len(q) or q[i] != "{":
        raise LogQLError("parse error: a log query starts with a stream selector {...}")
    i += 1
    matchers = []
    while True:
        i = _ws(q, i)
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(q, i)
        if not m:
            raise LogQLError(f"parse error at {i}: expected a label name")
        name = m.group(0)
        i = _ws(q, m.end())
        op = next((o for o in ("=~", "!~", "!=", "=") if q.startswith(o, i)), None)
        if not op:
            raise LogQLError(f"parse error at {i}: expected = != =~ !~")
        i = _ws(q, i + len(op))
        val, i = _string(q, i)
        matchers.append((name, op, val))
        i = _ws(q, i)
        if i < len(q) and q[i] == ",":
            i += 1
            continue
        if i < len(q) and q[i] == "}":
            i += 1
            break
        raise LogQLError(f"parse error at {i}: expected , or }}")
    filters = []
    while True:
        i = _ws(q, i)
        if i >= len(q):
            break
        op = next((o for o in ("|=", "!=", "|~", "!~") if q.startswith(o, i)), None)
        if not op:
            raise LogQLError(f"parse error at {i}: only line filters |= != |~ !~ are supported")
        i = _ws(q, i + 2)
        val, i = _string(q, i)
        filters.append((op, val))
    empty_ok = [m for m in matchers
                if (m[1] == "=" and m[2] != "") or (m[1] == "=~" and not re.fullmatch(m[2], ""))]
    if not empty_ok:
        raise LogQLError("queries require at least one regexp or equality matcher that does not "
                         "have an empty-compatible value")
    return matchers, filters


def _label_ok(labels, matchers):
    for name, op, val in matchers:
        have = labels.get(name, "")
        if op == "=" and have != val:
            return False
        if op == "!=" and have == val:
            return False
        if op == "=~" and not re.fullmatch(val, have):
            return False
        if op == "!~" and re.fullmatch(val, have):
            return False
    return True


def _line_ok(line, filters):
    for op, val in filters:
        if op == "|=" and val not in line:
            return False
        if op == "!=" and val in line:
            return False
        if op == "|~" and not re.search(val, line):
            return False
        if op == "!~" and re.search(val, line):
            return False
    return True


def parse_time(s):
    """integer ns, float seconds or RFC 3339 → ns"""
    if re.fullmatch(r"\d+", s):
        return int(s)
    if re.fullmatch(r"\d+\.\d*", s):
        return int(float(s) * 1e9)
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return int(d.timestamp()) * 10**9 + d.microsecond * 1000


def parse_duration(s):
    total, pos = 0, 0
    units = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
             "d": 86400 * 10**9}
    for m in re.finditer(r"(\d+)(ns|us|ms|s|m|h|d)", s):
        if m.start() != pos:
            raise ValueError(s)
        total += int(m.group(1)) * units[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(s)
    return total


def query_range(params):
    q = params.get("query")
    if not q:
        raise LogQLError("query parameter is required")
    matchers, filters = parse_logql(q)
    now = time.time_ns()
    end = parse_time(params["end"]) if "end" in params else now
    if "start" in params:
        start = parse_time(params["start"])
    elif "since" in params:
        start = end - parse_duration(params["since"])
    else:
        start = end - 3600 * 10**9
    if end < start:
        raise LogQLError("invalid query, through < from")
    limit = int(params.get("limit", "100"))
    if limit <= 0:
        raise LogQLError("limit must be a positive value")
    direction = params.get("direction", "backward").lower()
    if direction not in ("backward", "forward"):
        raise LogQLError(f"invalid direction {direction!r}")
    hits = []
    with LOCK:
        for key, entries in STREAMS.items():
            labels = dict(key)
            if not _label_ok(labels, matchers):
                continue
            for ns, line in entries:
                if start <= ns < end and _line_ok(line, filters):
                    hits.append((ns, key, line))
    hits.sort(key=lambda h: h[0], reverse=(direction == "backward"))
    hits = hits[:limit]
    by_stream = {}
    for ns, key, line in hits:
        by_stream.setdefault(key, []).append([str(ns), line])
    result = [{"stream": dict(k), "values": v} for k, v in by_stream.items()]
    return {"status": "success",
            "data": {"resultType": "streams", "result": result,
                     "stats": {"summary": {"totalEntriesReturned": len(hits)}}}}


def push(body):
    doc = json.loads(body)
    streams = doc.get("streams")
    if not isinstance(streams, list):
        raise LogQLError("streams: expected a list")
    with LOCK:
        for s in streams:
            labels = s.get("stream")
            if not isinstance(labels, dict) or not labels or not all(
                    isinstance(v, str) for v in labels.values()):
                raise LogQLError("stream: expected a non-empty object of string labels")
            key = frozenset(labels.items())
            for v in s.get("values", []):
                if not (isinstance(v, list) and len(v) in (2, 3) and isinstance(v[0], str)
                        and v[0].isdigit() and isinstance(v[1], str)):
                    raise LogQLError('values: expected ["<ns>", "line"]')
                STREAMS.setdefault(key, []).append((int(v[0]), v[1]))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, code, body=b"", ctype="text/plain; charset=utf-8"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        if body:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        if u.path == "/ready":
            return self._send(200, "ready\n")
        if u.path == "/standin/requests":
            with LOCK:
                return self._send(200, json.dumps(REQUESTS), "application/json")
        if u.path == "/loki/api/v1/query_range":
            with LOCK:
                REQUESTS.append(params)
            try:
                res = query_range(params)
            except (LogQLError, ValueError, re.error) as e:
                return self._send(400, f"parse error: {e}\n")
            return self._send(200, json.dumps(res), "application/json; charset=UTF-8")
        return self._send(404, "404 page not found\n")

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        if u.path != "/loki/api/v1/push":
            return self._send(404, "404 page not found\n")
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._send(415, "only application/json pushes are supported here\n")
        try:
            push(body)
        except (LogQLError, ValueError) as e:
            return self._send(400, f"{e}\n")
        return self._send(204)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
