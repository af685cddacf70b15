#!/usr/bin/env python3
"""A stand-in for Jira's REST API (Cloud v3 and Data Center / Server v2), for tests only: no
Jira runs here. Standard library only. It checks each request as the documented API does
(shared/reference/protocols.md §7.1) and answers in Jira's shapes:

  POST /rest/api/{2|3}/issue                 create an issue: 201 {"id","key","self"}
  POST /rest/api/{2|3}/issue/{key}/comment   comment on one: 201 {"id","self","body",...}
  GET  /rest/api/{2|3}/issue/{key}           the issue as stored (fields, comments)

Checked on every request (a failure answers as Jira does and is recorded in "problems"):
  - Content-Type: application/json and Accept: application/json
  - the auth header form: --basic EMAIL:TOKEN → "Authorization: Basic base64(EMAIL:TOKEN)";
    --bearer TOKEN → "Authorization: Bearer TOKEN"; a missing/other form or wrong value → 401
    (a Basic header on a --bearer server is refused: PATs are not basic-auth passwords)
  - --version 2 or 3 restricts the path (Data Center has v2 only; default: both accepted)
  - create: {"fields": {...}} only; project {key} or {id} of a --project; summary a non-empty
    string of at most 255 characters without a line break; issuetype {name} or {id}; labels a
    list of strings without spaces; priority {name} or {id} when present; description a string
    (v2) or an ADF document (v3: type doc, version 1, content of known block nodes, text nodes
    non-empty, marks known, link marks with attrs.href); any other field must be customfield_N
    or one of --allow-field → otherwise 400 {"errorMessages": [], "errors": {field: message}}
  - comment: {"body": ...} a string (v2) or an ADF document (v3); unknown issue → 404
    {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}

Test hooks:
  GET  /__requests → every request: n, method, path, headers (lower-case), body (parsed JSON or
                     text), status, problems
  GET  /__issues   → {key: {"fields": {...}, "comments": [body, ...], "version": N}}
  POST /__fail     → {"status": N, "times": K, "body"?: {...}, "path"?: substring} answer the
                     next K matching requests with N before any check (e.g. 503 to test retry)

    standin_jira.py [--port N] [--basic EMAIL:TOKEN | --bearer TOKEN] [--project OPS]...
                    [--version 2|3] [--allow-field NAME]...
prints "listening on http://127.0.0.1:P"
"""
import argparse
import base64
import http.server
import json
import re
import sys
import threading

LOCK = threading.Lock()
REQUESTS = []
ISSUES = {}
FAILS = []
ARGS = None
PROJECTS = {}  # key -> id

ADF_BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "listItem", "codeBlock",
              "blockquote", "rule", "panel", "table", "tableRow", "tableHeader", "tableCell"}
ADF_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"}
ADF_MARKS = {"strong", "em", "code", "link", "strike", "underline", "subsup", "textColor"}
STANDARD_FIELDS = {"project", "summary", "issuetype", "description", "labels", "priority",
                   "components", "assignee", "reporter", "duedate", "environment",
                   "fixVersions", "versions", "parent"}


def adf_problems(node, path="description", top=True):
    """Problems of an ADF document (empty list: valid as far as this stand-in knows ADF)."""
    out = []
    if not isinstance(node, dict):
        return [f"{path}: an ADF node must be an object"]
    t = node.get("type")
    if top:
        if t != "doc":
            return [f"{path}: an ADF document has type doc"]
        if node.get("version") != 1:
            out.append(f"{path}: an ADF document has version 1")
        content = node.get("content")
        if not isinstance(content, list):
            return out + [f"{path}.content: a list is required"]
        for i, c in enumerate(content):
            if not isinstance(c, dict) or c.get("type") not in ADF_BLOCKS:
                out.append(f"{path}.content[{i}]: not a block node: {c!r:.80}")
                continue
            out += adf_problems(c, f"{path}.content[{i}]", False)
        return out
    if t in ("text",):
        text = node.get("text")
        if not isinstance(text, str) or not text:
            out.append(f"{path}: a text node needs non-empty text")
        for j, m in enumerate(node.get("marks", [])):
            if not isinstance(m, dict) or m.get("type") not in ADF_MARKS:
                out.append(f"{path}.marks[{j}]: unknown mark")
            elif m["type"] == "link" and not isinstance((m.get("attrs") or {}).get("href"), str):
                out.append(f"{path}.marks[{j}]: a link mark needs attrs.href")
        extra = set(node) - {"type", "text", "marks"}
        if extra:
            out.append(f"{path}: unexpected keys {sorted(extra)}")
        return out
    if t == "hardBreak":
        if set(node) - {"type", "attrs"}:
            out.append(f"{path}: hardBreak takes no content")
        return out
    if t in ADF_INLINE:
        return out
    if t not in ADF_BLOCKS:
        return [f"{path}: unknown node type {t!r}"]
    content = node.get("content", [])
    if not isinstance(content, list):
        return [f"{path}.content: a list is required"]
    if t == "paragraph":
        for i, c in enumerate(content):
            if not isinstance(c, dict) or c.get("type") not in ADF_INLINE:
                out.append(f"{path}.content[{i}]: a paragraph holds inline nodes only")
            else:
                out += adf_problems(c, f"{path}.content[{i}]", False)
    else:
        for i, c in enumerate(content):
            out += adf_problems(c, f"{path}.content[{i}]", False)
    return out


def ref_ok(v, names):
    return isinstance(v, dict) and len(v) == 1 and next(iter(v)) in names and \
        isinstance(next(iter(v.values())), str) and next(iter(v.values()))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, rec, status, obj):
        rec["status"] = status
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__requests":
            with LOCK:
                return self.answer({}, 200, REQUESTS)
        if self.path == "/__issues":
            with LOCK:
                return self.answer({}, 200, ISSUES)
        m = re.fullmatch(r"/rest/api/([23])/issue/([A-Za-z0-9_-]+)", self.path)
        rec = {"method": "GET", "path": self.path, "problems": []}
        if m and self.auth_ok(rec):
            with LOCK:
                issue = ISSUES.get(m.group(2))
            if issue:
                return self.answer(rec, 200, {"key": m.group(2), **issue})
            return self.answer(rec, 404, {"errorMessages": ["Issue does not exist or you do "
                                                            "not have permission to see it."],
                                          "errors": {}})
        if m:
            return self.answer(rec, 401, {"errorMessages": ["unauthorized"], "errors": {}})
        self.answer(rec, 404, {"errorMessages": ["not found"], "errors": {}})

    def auth_ok(self, rec):
        h = self.headers.get("Authorization") or ""
        if ARGS.bearer is not None:
            if h.startswith("Basic "):
                rec["problems"].append("Basic auth sent to a server that takes a PAT as Bearer")
                return False
            if h != "Bearer " + ARGS.bearer:
                rec["problems"].append("Authorization is not Bearer <the PAT>")
                return False
            return True
        if ARGS.basic is not None:
            want = "Basic " + base64.b64encode(ARGS.basic.encode()).decode()
            if h != want:
                rec["problems"].append("Authorization is not Basic base64(email:token)")
                return False
            return True
        return True

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if self.path == "/__fail":
            with LOCK:
                FAILS.append(json.loads(raw or b"{}"))
            return self.answer({}, 200, {"ok": True})
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = {"method": "POST", "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
               "problems": []}
        with LOCK:
            rec["n"] = len(REQUESTS) + 1
            REQUESTS.append(rec)
            fail = None
            for f in FAILS:
                if f.get("times", 1) > 0 and f.get("path", "") in self.path:
                    f["times"] = f.get("times", 1) - 1
                    fail = f
                    break
        if fail:
            return self.answer(rec, fail["status"], fail.get("body", {
                "errorMessages": [f"injected {fail['status']}"], "errors": {}}))
        m = re.fullmatch(r"/rest/api/([23])/issue(?:/([^/]+)/comment)?", self.path)
        if not m:
            rec["problems"].append("unknown path")
            return self.answer(rec, 404, {"errorMessages": ["not found"], "errors": {}})
        version = int(m.group(1))
        if ARGS.version and version != ARGS.version:
            rec["problems"].append(f"v{version} path on a v{ARGS.version}-only server")
            return self.answer(rec, 404, {"errorMessages": ["not found"], "errors": {}})
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            rec["problems"].append(f"Content-Type is {ctype!r}, not application/json")
            return self.answer(rec, 415, {"errorMessages": ["Unsupported Media Type"],
                                          "errors": {}})
        if "application/json" not in (self.headers.get("Accept") or ""):
            rec["problems"].append("Accept: application/json missing")
        if not self.auth_ok(rec):
            self.send_response(401)
            rec["status"] = 401
            self.send_header("WWW-Authenticate", "Basic realm=\"protected-area\"")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not isinstance(body, dict):
            rec["problems"].append("the body is not a JSON object")
            return self.answer(rec, 400, {"errorMessages": ["Unexpected token"], "errors": {}})
        if m.group(2):
            return self.comment(rec, version, m.group(2), body)
        return self.create(rec, version, body)

    def create(self, rec, version, body):
        errors = {}
        if set(body) - {"fields", "update", "properties"}:
            rec["problems"].append(f"unexpected top-level keys {sorted(set(body))}")
        f = body.get("fields")
        if not isinstance(f, dict):
            errors["fields"] = "fields is required"
            f = {}
        project = f.get("project")
        if not ref_ok(project, ("key", "id")):
            errors["project"] = "Specify a valid project ID or key"
        elif (project.get("key") not in PROJECTS and project.get("id") not in PROJECTS.values()):
            errors["project"] = "valid project is required"
        summary = f.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255 or "\n" in summary or "\r" in summary:
            errors["summary"] = "Summary must be less than 255 characters, on one line."
        if not ref_ok(f.get("issuetype"), ("name", "id")):
            errors["issuetype"] = "Specify an issue type"
        if "priority" in f and not ref_ok(f["priority"], ("name", "id")):
            errors["priority"] = "Specify the Priority (id or name) in the string format"
        labels = f.get("labels", [])
        if not isinstance(labels, list) or \
                not all(isinstance(x, str) and x and " " not in x for x in labels):
            errors["labels"] = "labels: a list of strings without spaces"
        desc = f.get("description")
        if desc is not None:
            if version == 2 and not isinstance(desc, str):
                errors["description"] = "Operation value must be a string"
            if version == 3:
                probs = adf_problems(desc)
                if probs:
                    rec["problems"] += probs
                    errors["description"] = "Operation value must be an Atlassian Document " \
                                            "(see the Atlassian Document Format)"
        for k in f:
            if k not in STANDARD_FIELDS and not re.fullmatch(r"customfield_\d+", k) and \
                    k not in (ARGS.allow_field or []):
                errors[k] = f"Field '{k}' cannot be set. It is not on the appropriate screen, " \
                            "or unknown."
        if errors:
            rec["problems"].append(f"400: {errors}")
            return self.answer(rec, 400, {"errorMessages": [], "errors": errors})
        with LOCK:
            pkey = project.get("key") or next(k for k, v in PROJECTS.items()
                                              if v == project.get("id"))
            num = sum(1 for k in ISSUES if k.startswith(pkey + "-")) + 1
            key = f"{pkey}-{num}"
            iid = str(10000 + len(ISSUES))
            ISSUES[key] = {"id": iid, "fields": f, "comments": [], "version": version}
        host = self.headers.get("Host") or "127.0.0.1"
        self.answer(rec, 201, {"id": iid, "key": key,
                               "self": f"http://{host}/rest/api/{version}/issue/{iid}"})

    def comment(self, rec, version, key, body):
        with LOCK:
            issue = ISSUES.get(key)
        if issue is None:
            return self.answer(rec, 404, {"errorMessages": ["Issue does not exist or you do not "
                                                            "have permission to see it."],
                                          "errors": {}})
        if set(body) - {"body", "visibility", "properties"}:
            rec["problems"].append(f"unexpected keys {sorted(set(body))}")
        b = body.get("body")
        if version == 2 and (not isinstance(b, str) or not b.strip()):
            rec["problems"].append("v2 comment body must be a non-empty string")
            return self.answer(rec, 400, {"errorMessages": [],
                                          "errors": {"comment": "Comment body can not be empty!"}})
        if version == 3:
            probs = adf_problems(b, "body")
            if probs:
                rec["problems"] += probs
                return self.answer(rec, 400, {"errorMessages": [], "errors": {
                    "comment": "Comment body is not a valid Atlassian Document"}})
        with LOCK:
            issue["comments"].append(b)
            cid = str(20000 + sum(len(i["comments"]) for i in ISSUES.values()))
        host = self.headers.get("Host") or "127.0.0.1"
        self.answer(rec, 201, {"id": cid, "body": b,
                               "self": f"http://{host}/rest/api/{version}/issue/{key}/comment/"
                                       f"{cid}"})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--basic", help="EMAIL:TOKEN (Cloud)")
    g.add_argument("--bearer", help="a personal access token (Data Center)")
    ap.add_argument("--project", action="append", help="KEY or KEY=ID (default OPS=10000)")
    ap.add_argument("--version", type=int, choices=(2, 3))
    ap.add_argument("--allow-field", action="append")
    ARGS = ap.parse_args()
    for i, p in enumerate(ARGS.project or ["OPS=10000"]):
        k, _, v = p.partition("=")
        PROJECTS[k] = v or str(10000 + i)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
