#!/usr/bin/env python3
"""standin_mcp: a stand-in MCP server (protocol 2025-11-25) for what the reference servers
cannot be made to do on demand: crash in the middle of a call, page tools/list, send the client
a ping and a sampling request, write garbage, a line that is too long, answer late, expire an
HTTP session, split SSE data over several lines. It is a test peer, not an implementation to
copy: just enough of the wire format (protocols.md §1) to drive forestall's client.

    standin_mcp.py stdio                   newline-delimited JSON-RPC on stdin/stdout
    standin_mcp.py http PORT               Streamable HTTP on 127.0.0.1:PORT/mcp
    standin_mcp.py stdio --state DIR --only a,b,c
                                           STANDIN_STATE given as an argument; list only the
                                           tools named, and create_page, redescribe only then

Environment: STANDIN_STATE (a directory: starts and cancellations are recorded there),
STANDIN_PAGE (tools per tools/list page, default 2), STANDIN_PROTOCOL (the version to answer,
default the client's when supported), STANDIN_SSE (http: "1" answers with event streams;
"resume" also cuts each tools/call stream after its priming event, to be resumed by a GET with
Last-Event-ID).

For the MCP hub's tests: create_page records each call (its arguments) in STATE/pages;
redescribe {tool, description} changes how a tool describes itself from then on (kept in
STATE/descriptions.json, so a restarted stand-in says the same) and sends list_changed."""
import json
import os
import sys
import threading
import time

SUPPORTED = ("2025-11-25", "2025-06-18")
STATE = os.environ.get("STANDIN_STATE", "")
PAGE = int(os.environ.get("STANDIN_PAGE", "2"))

TOOLS = [
    {"name": "echo", "description": "Echo the message back.",
     "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}},
                     "required": ["message"]},
     "annotations": {"readOnlyHint": True}},
    {"name": "crash", "description": "Exit in the middle of the call without answering.",
     "inputSchema": {"type": "object", "properties": {"code": {"type": "integer"}}}},
    {"name": "sleep", "description": "Answer after some seconds.",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
    {"name": "ask_client", "description": "Ping the client and ask it to sample, then report.",
     "inputSchema": {"type": "object"}},
    {"name": "change_tools", "description": "Send notifications/tools/list_changed.",
     "inputSchema": {"type": "object"}},
    {"name": "garbage", "description": "Write lines that are not JSON-RPC, then answer.",
     "inputSchema": {"type": "object"}},
    {"name": "huge", "description": "Answer with a line of N bytes.",
     "inputSchema": {"type": "object", "properties": {"bytes": {"type": "integer"}}}},
    {"name": "cancellations", "description": "The request ids cancelled so far.",
     "inputSchema": {"type": "object"}},
    {"name": "starts", "description": "How many times this stand-in was started.",
     "inputSchema": {"type": "object"}},
    {"name": "fail", "description": "A tool that reports a failure (isError).",
     "inputSchema": {"type": "object"}},
    {"name": "expire_session", "description": "HTTP: forget the session (next request 404).",
     "inputSchema": {"type": "object"}},
    {"name": "bad name!", "description": "A name the client must skip.",
     "inputSchema": {"type": "object"}},
    {"name": "no_schema", "description": "No inputSchema: the client must skip it."},
    {"name": "long_description", "description": "x" * 9000, "inputSchema": {"type": "object"}},
]
# listed only when --only names them (the client's tests count the tools above)
HUB_TOOLS = [
    {"name": "create_page", "description": "Page the on-call engineer.",
     "inputSchema": {"type": "object", "properties": {"summary": {"type": "string"}},
                     "required": ["summary"]}},
    {"name": "redescribe", "description": "Change a tool's description, then list_changed.",
     "inputSchema": {"type": "object", "properties": {"tool": {"type": "string"},
                                                      "description": {"type": "string"}}}},
]
ONLY = None  # --only: the names listed


def listed_tools():
    descs = {}
    if STATE:
        try:
            with open(os.path.join(STATE, "descriptions.json")) as f:
                descs = json.load(f)
        except (OSError, ValueError):
            descs = {}
    out = []
    for t in TOOLS + HUB_TOOLS:
        if (ONLY is None and t in HUB_TOOLS) or (ONLY is not None and t["name"] not in ONLY):
            continue
        if t["name"] in descs:
            t = dict(t, description=descs[t["name"]])
        out.append(t)
    return out


def record(name, value):
    if STATE:
        with open(os.path.join(STATE, name), "a") as f:
            f.write(f"{value}\n")


def recorded(name):
    try:
        with open(os.path.join(STATE, name)) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def text_result(text, is_error=False, structured=None):
    r = {"content": [{"type": "text", "text": text}]}
    if is_error:
        r["isError"] = True
    if structured is not None:
        r["structuredContent"] = structured
    return r


class Peer:
    """One client connection: send(msg) writes a message; request(method) waits for the
    client's answer (it comes back through deliver)."""

    def __init__(self, send):
        self.send = send
        self.waiting = {}
        self.lock = threading.Lock()
        self.next_id = 0
        self.session_alive = True

    def request(self, method, params=None, timeout=5):
        with self.lock:
            self.next_id += 1
            rid = f"srv-{self.next_id}"
            ev = threading.Event()
            self.waiting[rid] = [ev, None]
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        ev.wait(timeout)
        with self.lock:
            return self.waiting.pop(rid)[1]

    def deliver(self, msg):
        with self.lock:
            slot = self.waiting.get(msg.get("id"))
        if slot:
            slot[1] = msg
            slot[0].set()
            return True
        return False


def call_tool(peer, name, args, raw_write):
    if name == "echo":
        return text_result("echo: " + str(args.get("message", "")),
                           structured={"message": args.get("message", "")})
    if name == "crash":
        sys.stderr.write("standin: crashing on purpose\n")
        sys.stderr.flush()
        os._exit(int(args.get("code", 3)))
    if name == "sleep":
        time.sleep(float(args.get("seconds", 1)))
        return text_result("slept")
    if name == "ask_client":
        pong = peer.request("ping")
        sampling = peer.request("sampling/createMessage",
                                {"messages": [], "maxTokens": 1})
        return text_result(json.dumps({"ping": pong, "sampling": sampling}, sort_keys=True))
    if name == "change_tools":
        peer.send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        return text_result("changed")
    if name == "garbage":
        raw_write(b"this is not json\n")
        raw_write(b'{"jsonrpc":"2.0","id":"x","method":"unknown/method"}\n')
        raw_write(b'{"jsonrpc":"1.0","id":99999,"result":{}}\n')
        raw_write(b'[{"jsonrpc":"2.0","method":"notifications/message"}]\n')
        raw_write(b'{"jsonrpc":"2.0","method":"notifications/message",'
                  b'"params":{"level":"info","data":"\\u001b[31mred\\u001b[0m"}}\n')
        return text_result("after garbage")
    if name == "huge":
        return text_result("x" * int(args.get("bytes", 1 << 20)))
    if name == "cancellations":
        return text_result(",".join(recorded("cancelled")))
    if name == "starts":
        return text_result(str(len(recorded("starts"))))
    if name == "fail":
        return text_result("it failed on purpose", is_error=True)
    if name == "create_page":
        record("pages", json.dumps(args, sort_keys=True))
        return text_result("paged: " + str(args.get("summary", "")))
    if name == "redescribe":
        path = os.path.join(STATE, "descriptions.json")
        try:
            with open(path) as f:
                descs = json.load(f)
        except (OSError, ValueError):
            descs = {}
        descs[args.get("tool", "")] = args.get("description", "")
        with open(path, "w") as f:
            json.dump(descs, f)
        peer.send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        return text_result("redescribed")
    if name == "expire_session":
        peer.session_alive = False
        return text_result("expired")
    return None


def handle(peer, msg, raw_write):
    """One message from the client; returns the answer to send, or None."""
    if not isinstance(msg, dict):
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch"}}
    method, mid = msg.get("method"), msg.get("id")
    if method is None:
        peer.deliver(msg)
        return None
    if mid is None:
        if method == "notifications/cancelled":
            record("cancelled", msg.get("params", {}).get("requestId"))
        return None
    params = msg.get("params") or {}
    if method == "initialize":
        want = params.get("protocolVersion")
        ver = os.environ.get("STANDIN_PROTOCOL") or (want if want in SUPPORTED else SUPPORTED[0])
        return {"jsonrpc": "2.0", "id": mid, "result": {
            "protocolVersion": ver,
            "capabilities": {"tools": {"listChanged": True}},
            "serverInfo": {"name": "standin-mcp", "version": "0.0.1"}}}
    if method == "ping":
        return {"jsonrpc": "2.0", "id": mid, "result": {}}
    if method == "tools/list":
        tools = listed_tools()
        start = int(params.get("cursor") or 0)
        page = tools[start:start + PAGE]
        res = {"tools": page}
        if start + PAGE < len(tools):
            res["nextCursor"] = str(start + PAGE)
        return {"jsonrpc": "2.0", "id": mid, "result": res}
    if method == "tools/call":
        res = call_tool(peer, params.get("name"), params.get("arguments") or {}, raw_write)
        if res is None:
            return {"jsonrpc": "2.0", "id": mid,
                    "error": {"code": -32602, "message": f"Unknown tool: {params.get('name')}"}}
        return {"jsonrpc": "2.0", "id": mid, "result": res}
    return {"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "Method not found"}}


def serve_stdio():
    out_lock = threading.Lock()
    out = sys.stdout.buffer

    def raw_write(b):
        with out_lock:
            out.write(b)
            out.flush()

    def send(msg):
        raw_write((json.dumps(msg) + "\n").encode())

    peer = Peer(send)

    def work(msg):
        ans = handle(peer, msg, raw_write)
        if ans is not None:
            send(ans)

    for line in sys.stdin.buffer:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse"}})
            continue
        # requests run on their own thread, so a slow call never blocks a ping or a pong
        if isinstance(msg, dict) and msg.get("method") and msg.get("id") is not None:
            threading.Thread(target=work, args=(msg,), daemon=True).start()
        else:
            work(msg)


def serve_http(port):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import uuid

    sessions = {}  # id -> Peer
    sse = os.environ.get("STANDIN_SSE") in ("1", "resume")
    resume = os.environ.get("STANDIN_SSE") == "resume"
    held = {}  # session -> the answer a cut stream did not deliver (resume mode)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body=b"", ctype="application/json", headers=None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if body:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_DELETE(self):
            sessions.pop(self.headers.get("Mcp-Session-Id"), None)
            record("deleted", self.headers.get("Mcp-Session-Id"))
            self.reply(200)

        def do_GET(self):
            sid, last = self.headers.get("Mcp-Session-Id"), self.headers.get("Last-Event-ID")
            if not (resume and last and sid in held):
                return self.reply(405)
            record("resumed", last)
            ans = held.pop(sid)
            self.reply(200, f"id: r2\ndata: {json.dumps(ans)}\n\n".encode(), "text/event-stream")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            accept = self.headers.get("Accept", "")
            if "application/json" not in accept or "text/event-stream" not in accept:
                return self.reply(406)
            msg = json.loads(body)
            sid = self.headers.get("Mcp-Session-Id")
            record("http", json.dumps({"method": msg.get("method"), "session": sid,
                                       "version": self.headers.get("MCP-Protocol-Version")}))
            if msg.get("method") == "initialize":
                sid = str(uuid.uuid4())
                sessions[sid] = None
                record("inits", sid)
            elif not sid:
                return self.reply(400, b'{"jsonrpc":"2.0","error":{"code":-32000,'
                                       b'"message":"Bad Request: Mcp-Session-Id header is '
                                       b'required"},"id":null}')
            elif sid not in sessions:
                return self.reply(404, b'{"jsonrpc":"2.0","error":{"code":-32001,'
                                       b'"message":"Session not found"},"id":null}')
            events = []

            def send(m):
                events.append(m)

            peer = Peer(send)
            ans = handle(peer, msg, lambda b: None)
            if not peer.session_alive:
                sessions.pop(sid, None)
            if ans is None:
                return self.reply(202)
            headers = {"Mcp-Session-Id": sid} if msg.get("method") == "initialize" else {}
            if resume and msg.get("method") == "tools/call":
                # the stream ends after its priming event; the answer waits for a GET with
                # Last-Event-ID (2025-11-25 polling)
                held[sid] = ans
                return self.reply(200, b"id: r1\nretry: 50\ndata: \n\n", "text/event-stream")
            if not sse:
                return self.reply(200, json.dumps(ans).encode(), headers=headers)
            # an event stream: a priming event, the notifications, then the answer with its
            # JSON split over several data lines and CRLF line ends
            parts = ["id: 0\r\nretry: 100\r\ndata: \r\n\r\n"]
            for i, m in enumerate(events + [ans], 1):
                text = json.dumps(m, indent=1)
                lines = "".join(f"data: {ln}\r\n" for ln in text.split("\n"))
                parts.append(f": comment\r\nid: {i}\r\nevent: message\r\n{lines}\r\n")
            self.reply(200, "".join(parts).encode(), "text/event-stream", headers)

    srv = ThreadingHTTPServer(("127.0.0.1", port), H)
    print(f"listening on 127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


def main():
    global STATE, ONLY
    args = sys.argv[1:]
    for i, a in enumerate(args):
        if a == "--state" and i + 1 < len(args):
            STATE = args[i + 1]
        elif a == "--only" and i + 1 < len(args):
            ONLY = set(args[i + 1].split(","))
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        serve_http(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    else:
        record("starts", os.getpid())
        serve_stdio()


if __name__ == "__main__":
    main()
