#!/usr/bin/env python3
"""A stand-in for language-model endpoints, for tests only (no real model can run here).
Standard library only. One port serves four documented wire formats
(shared/reference/protocols.md §5.1, §5.3, §6.1, §6.3), each checked as the real service checks
it, and answers from a provider-neutral script:

  POST /v1/messages                  Anthropic Messages API: x-api-key (or Authorization: Bearer)
                                     and anthropic-version required; Message objects, or with
                                     "stream": true server-sent events (message_start, ping,
                                     content_block_start / content_block_delta (text_delta,
                                     input_json_delta with partial_json) / content_block_stop,
                                     message_delta with stop_reason and usage, message_stop) in
                                     chunked transfer encoding; errors
                                     {"type":"error","error":{"type":T,"message":M}} (before a
                                     stream starts, as the API does)
  POST /v1/messages/count_tokens     Anthropic token counting: {"input_tokens": N} (an estimate:
                                     bytes of the body / 4); takes no script step
  POST /model/{modelId}/converse     Bedrock Converse: SigV4 verified here from the AWS spec
                                     (canonical request with the double-encoded path, signed
                                     headers, X-Amz-Date, X-Amz-Security-Token, scope
                                     REGION/bedrock/aws4_request) or Authorization: Bearer API
                                     key; errors {"message":M} + header x-amzn-ErrorType
  POST /v1/chat/completions          OpenAI-compatible: Bearer key; arguments as JSON strings
  POST /api/chat                     Ollama native: "stream": false required; arguments objects

Script (JSON): a list of steps, or {"steps": [...], "api_keys": [...], "aws_credentials":
[{"access_key_id", "secret_access_key", "session_token"?}], "region": "us-east-1",
"max_skew_seconds": 900 (null = no clock check), "models": [...] (optional allow-list)}.
api_keys absent = any non-empty key is accepted (Ollama never checks one). Each request takes
the first unused step, in script order, whose "when" matches it. A step:

  {"respond": {"text": S, "tool_calls": [{"name": N, "input": {...}, "id"?: S (false: none,
               for Ollama), "raw_arguments"?: S (sent verbatim where the arguments go),
               "as_written"?: B}], "stop"?: end_turn|tool_use|max_tokens|refusal (default:
               tool_use when there are calls), "wire_stop"?: S (verbatim), "usage"?: {"in": N,
               "out": N} (default 100/20), "model"?: S}}
  {"error": {"status": N, "retry_after"?: SECONDS, "retry_after_ms"?: N, "message"?: S,
             "type"?: S, "kind"?: "context_length"|"model_not_found", "headers"?: {...}}}
  {"status": N}                      shorthand for {"error": {"status": N}}
  {"malformed": true | S}            200 with an invalid JSON body (or the body S verbatim)
  {"hangup": true}                   close the connection without an answer
  modifiers on any step: "delay": SECONDS (sleep first; alone = a text answer after the sleep),
  "repeat": N | true (use the step N times / forever; default once), "when": {COND},
  "expect": {COND} (not met: 400 in the provider's error shape and a logged problem), "note".
  COND keys, all must hold: provider, model, tool_result (B: the last turn holds tool results),
  tool_result_for (tool name), tool_result_contains, tool_result_error (B), body_contains,
  body_not_contains, system_contains, tools_offered [names], tools_not_offered [names],
  assistant_turns (N assistant messages in the history), stream (B: the request asked for a
  stream).
Claude Code (shared/reference/test-peers.md) talks to this endpoint through ANTHROPIC_BASE_URL:
it streams, offers MCP tools as "mcp__SERVER__TOOL" (a step may name one so, e.g.
"mcp__forestall__host.fs_usage": compared like every name, so the dot matches the '_' Claude
Code sends) and then sends the tool's result back, which "when"/"expect" check with
tool_result_for / tool_result_contains. What else it sends (HEAD / probes, GETs) is answered
404 and logged as a record with "probe": true and no problem.
Tool names in the script are forestall's ("host.fs_usage"); an answer names the tool as the
client offered it (names compared with every byte outside [A-Za-z0-9_] as '_'); a tool that was
not offered (or "as_written") is sent as written, as a hostile model would.

Every request (not /__*) is appended verbatim to --log as one JSON line: n, time, method, path,
headers (lower-case names), raw_headers, body, provider, model, auth, step, status, problem
(auth/validation/expect failures, script exhausted), tools_offered, tool_names_sent, sigv4
(canonical request, string to sign, expected signature when a SigV4 header was checked).
Test hooks (not the providers'): GET /__requests → those records as a JSON list, each also
with served_s once its answer is sent (seconds from the request to the answer's last byte: the
model's time as its client saw it);
POST /__script → replace the script (the used counts restart).

    standin_llm.py [--port N] [--script FILE] [--log FILE]   prints "listening on URL"
    standin_llm.py --selftest    checks the SigV4 code against AWS's published examples
"""
import argparse
import datetime
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---- AWS Signature Version 4, from the spec ------------------------------------------------

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def uri_encode(s, keep_slash=False):
    """AWS UriEncode: every byte but A-Z a-z 0-9 - _ . ~ as %XX (upper-case hex)."""
    data = s.encode("utf-8") if isinstance(s, str) else s
    out = []
    for b in data:
        if b in UNRESERVED or (keep_slash and b == 0x2F):
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def canonical_uri(raw_path):
    """The canonical URI of a non-S3 request: the path as it travelled, URI-encoded once more
    (so a model id's ':' sent as %3A signs as %253A: AWS's double-encoding rule)."""
    return uri_encode(raw_path or "/", keep_slash=True)


def canonical_query(raw_query):
    pairs = []
    for part in (raw_query or "").split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((uri_encode(urllib.parse.unquote(k)), uri_encode(urllib.parse.unquote(v))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _trimall(v):
    return re.sub(r" +", " ", v.strip())


def canonical_headers(headers, signed):
    """headers: [(name, value)] as received; signed: lower-case names in order."""
    vals = {}
    for name, value in headers:
        vals.setdefault(name.lower(), []).append(_trimall(value))
    return "".join(f"{n}:{','.join(vals.get(n, []))}\n" for n in signed)


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def sigv4_sign(method, raw_path, raw_query, headers, payload_hash, secret, region, service,
               amz_date, signed=None):
    """The AWS4-HMAC-SHA256 signature of a request. headers: [(name, value)]; signed: the
    lower-case names to sign (default: all given, sorted). Returns a dict with
    canonical_request, string_to_sign, signed_headers and signature."""
    if signed is None:
        signed = sorted({n.lower() for n, _ in headers})
    creq = "\n".join([method, canonical_uri(raw_path), canonical_query(raw_query),
                      canonical_headers(headers, signed), ";".join(signed), payload_hash])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret, amz_date[:8], region, service), sts.encode(),
                   hashlib.sha256).hexdigest()
    return {"canonical_request": creq, "string_to_sign": sts, "signed_headers": ";".join(signed),
            "signature": sig, "scope": scope}


def sigv4_authorization(access_key, signed):
    return (f"AWS4-HMAC-SHA256 Credential={access_key}/{signed['scope']}, "
            f"SignedHeaders={signed['signed_headers']}, Signature={signed['signature']}")


def selftest():
    """AWS's published SigV4 examples (the aws-sig-v4-test-suite and the IAM ListUsers example
    of the signing documentation) and one Bedrock vector from botocore. Returns the failures."""
    ak, sk = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    base = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
    cases = [
        ("GET", "/", "", base, "service",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("GET", "/", "Param2=value2&Param1=value1", base, "service",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("POST", "/", "", base, "service",
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        ("GET", "/\u1234", "", base, "service",
         "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        ("GET", "/", "Action=ListUsers&Version=2010-05-08",
         [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
          ("Host", "iam.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")], "iam",
         "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
    ]
    bad = []
    for method, path, query, hdrs, service, want in cases:
        got = sigv4_sign(method, path, query, hdrs, EMPTY_SHA256, sk, "us-east-1", service,
                         "20150830T123600Z")["signature"]
        if got != want:
            bad.append(f"{method} {path}?{query}: {got} != {want}")
    # A Converse call with a model id holding ':' (sent as %3A, so signed as %253A) and a
    # session token; the expected signature was computed with botocore 1.43.11 (AWS's SDK).
    body = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
    hdrs = [("Content-Type", "application/json"),
            ("Host", "bedrock-runtime.us-east-1.amazonaws.com"),
            ("X-Amz-Date", "20260102T030405Z"),
            ("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLE/token+==")]
    s = sigv4_sign("POST", "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", "",
                   hdrs, hashlib.sha256(body).hexdigest(), sk, "us-east-1", "bedrock",
                   "20260102T030405Z")
    want = "f151d50eced857e9e563fe7aa69c4cf2e794341458fca3f4e54f097ec0cad370"
    if s["signature"] != want:
        bad.append(f"bedrock converse (botocore vector): {s['signature']} != {want}")
    return bad


# ---- the script --------------------------------------------------------------------------

def norm_tool(name):
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name))


class Script:
    def __init__(self, data):
        if isinstance(data, list):
            data = {"steps": data}
        self.steps = list(data.get("steps", []))
        self.api_keys = data.get("api_keys")
        self.aws = {c["access_key_id"]: c for c in data.get("aws_credentials", [])}
        self.region = data.get("region", "us-east-1")
        self.max_skew = data.get("max_skew_seconds", 900)
        self.models = data.get("models")
        self.used = [0] * len(self.steps)

    def take(self, req):
        """The first unused step whose "when" matches: (index, step) or (None, None)."""
        for i, st in enumerate(self.steps):
            rep = st.get("repeat", 1)
            if rep is not True and self.used[i] >= int(rep):
                continue
            if st.get("when") and cond_failure(st["when"], req) is not None:
                continue
            self.used[i] += 1
            return i, st
        return None, None


def _last_results(req):
    msgs = req["messages"]
    if not msgs or msgs[-1]["role"] != "user":
        return []
    return [b for b in msgs[-1]["blocks"] if b["type"] == "tool_result"]


def cond_failure(cond, req):
    """None when every condition holds, else a sentence saying which did not."""
    results = _last_results(req)
    offered = {norm_tool(t) for t in req["tools"]}
    for key, want in cond.items():
        ok = True
        if key == "provider":
            ok = req["provider"] == want
        elif key == "model":
            ok = req["model"] == want
        elif key == "tool_result":
            ok = bool(results) == bool(want)
        elif key == "tool_result_for":
            ok = any(norm_tool(b.get("name") or "") == norm_tool(want) for b in results)
        elif key == "tool_result_contains":
            ok = any(want in b["content"] for b in results)
        elif key == "tool_result_error":
            ok = any(b["is_error"] for b in results) == bool(want)
        elif key == "body_contains":
            ok = want in req["body"]
        elif key == "body_not_contains":
            ok = want not in req["body"]
        elif key == "system_contains":
            ok = want in req["system"]
        elif key == "tools_offered":
            ok = all(norm_tool(t) in offered for t in want)
        elif key == "tools_not_offered":
            ok = not any(norm_tool(t) in offered for t in want)
        elif key == "assistant_turns":
            ok = sum(1 for m in req["messages"] if m["role"] == "assistant") == want
        elif key == "stream":
            ok = bool(req.get("stream")) == bool(want)
        else:
            return f"unknown condition {key!r}"
        if not ok:
            return f"{key} {json.dumps(want)} does not hold"
    return None


# ---- reading each wire format into the neutral view ----------------------------------------

class Invalid(Exception):
    """A request the real service would refuse with 400 (message in its words)."""


ANTHROPIC_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
BEDROCK_TOOL_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$")
BEDROCK_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
OPENAI_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _text_of(content):
    """A tool_result / tool message content as text (strings, text blocks, json blocks)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for b in content:
            if isinstance(b, dict) and "text" in b:
                parts.append(str(b["text"]))
            elif isinstance(b, dict) and "json" in b:
                parts.append(json.dumps(b["json"]))
            else:
                parts.append(json.dumps(b))
        return "\n".join(parts)
    return json.dumps(content)


def _alternation(roles, where):
    for i in range(1, len(roles)):
        if roles[i] == roles[i - 1]:
            raise Invalid(f"{where}: roles must alternate between \"user\" and \"assistant\", "
                          f"but found multiple \"{roles[i]}\" roles in a row")


def _pair_tools(msgs, where):
    """Every tool_use answered in the next user turn, every tool_result answering one of the
    previous assistant turn; fills each result's "name"."""
    for i, m in enumerate(msgs):
        if m["role"] != "user":
            continue
        prev = msgs[i - 1] if i > 0 and msgs[i - 1]["role"] == "assistant" else None
        uses = {b["id"]: b["name"] for b in (prev["blocks"] if prev else [])
                if b["type"] == "tool_use"}
        for b in m["blocks"]:
            if b["type"] != "tool_result":
                continue
            if b["tool_use_id"] not in uses:
                raise Invalid(f"{where}.{i}: unexpected tool result id {b['tool_use_id']!r}: "
                              "it answers no tool call of the previous assistant turn")
            b["name"] = uses[b["tool_use_id"]]
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        ids = [b["id"] for b in m["blocks"] if b["type"] == "tool_use"]
        if not ids or i == len(msgs) - 1:
            continue
        nxt = msgs[i + 1]
        answered = {b["tool_use_id"] for b in nxt["blocks"] if b["type"] == "tool_result"}
        missing = [x for x in ids if x not in answered]
        if missing:
            raise Invalid(f"{where}.{i + 1}: tool call ids were found without tool results "
                          f"immediately after: {', '.join(missing)}")


def read_anthropic(body, betas=()):
    """betas: the anthropic-beta header's names; "mid-conversation-system-*" lets a message
    have role "system" (Claude Code sends such turns): its text joins the system prompt."""
    mid_system = any(b.startswith("mid-conversation-system") for b in betas)
    for k in ("model", "max_tokens", "messages"):
        if k not in body:
            raise Invalid(f"{k}: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise Invalid("model: Input should be a valid string")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        raise Invalid("max_tokens: Input should be a positive integer")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise Invalid("stream: Input should be a valid boolean")
    system = body.get("system", "")
    if isinstance(system, list):
        if not all(isinstance(b, dict) and b.get("type") == "text" for b in system):
            raise Invalid("system: Input should be a valid list of text blocks")
        system = "\n".join(b.get("text", "") for b in system)
    elif not isinstance(system, str):
        raise Invalid("system: Input should be a valid string")
    tools = []
    for i, t in enumerate(body.get("tools") or []):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise Invalid(f"tools.{i}.name: Field required")
        if not ANTHROPIC_TOOL_NAME.match(t["name"]):
            raise Invalid(f"tools.{i}.custom.name: String should match pattern "
                          "'^[a-zA-Z0-9_-]{1,64}$'")
        sch = t.get("input_schema")
        if not isinstance(sch, dict) or sch.get("type") != "object":
            raise Invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
        tools.append(t["name"])
    if not isinstance(body["messages"], list) or not body["messages"]:
        raise Invalid("messages: at least one message is required")
    msgs = []
    for i, m in enumerate(body["messages"]):
        if mid_system and isinstance(m, dict) and m.get("role") == "system":
            system += "\n" + _text_of(m.get("content"))
            continue
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = m.get("content")
        blocks = []
        if isinstance(content, str):
            blocks.append({"type": "text", "text": content})
        elif isinstance(content, list):
            for j, b in enumerate(content):
                if not isinstance(b, dict) or "type" not in b:
                    raise Invalid(f"messages.{i}.content.{j}: Input should be a content block")
                if b["type"] == "text":
                    if not isinstance(b.get("text"), str):
                        raise Invalid(f"messages.{i}.content.{j}.text: Field required")
                    blocks.append({"type": "text", "text": b["text"]})
                elif b["type"] == "tool_use":
                    if m["role"] != "assistant":
                        raise Invalid(f"messages.{i}.content.{j}: tool_use only in assistant "
                                      "messages")
                    if not isinstance(b.get("input"), dict) or not b.get("id") \
                            or not isinstance(b.get("name"), str):
                        raise Invalid(f"messages.{i}.content.{j}.tool_use: id, name and an "
                                      "input object are required")
                    blocks.append({"type": "tool_use", "id": b["id"], "name": b["name"],
                                   "input": b["input"]})
                elif b["type"] == "tool_result":
                    if m["role"] != "user":
                        raise Invalid(f"messages.{i}.content.{j}: tool_result only in user "
                                      "messages")
                    if not isinstance(b.get("tool_use_id"), str):
                        raise Invalid(f"messages.{i}.content.{j}.tool_use_id: Field required")
                    blocks.append({"type": "tool_result", "tool_use_id": b["tool_use_id"],
                                   "content": _text_of(b.get("content")),
                                   "is_error": bool(b.get("is_error"))})
                else:
                    blocks.append({"type": b["type"]})
        else:
            raise Invalid(f"messages.{i}.content: Input should be a valid string or list")
        if msgs and msgs[-1]["role"] == m["role"]:
            msgs[-1]["blocks"].extend(blocks)  # the API combines consecutive same-role turns
        else:
            msgs.append({"role": m["role"], "blocks": blocks})
    _pair_tools(msgs, "messages")
    return {"model": body["model"], "system": system, "tools": tools, "messages": msgs,
            "stream": bool(body.get("stream"))}


def read_bedrock(body, model_id):
    if "messages" not in body:
        raise Invalid("1 validation error detected: Value null at 'messages' failed to satisfy "
                      "constraint: Member must not be null")
    system = body.get("system") or []
    if not isinstance(system, list) or not all(isinstance(b, dict) for b in system):
        raise Invalid("system: expected a list of SystemContentBlock")
    ic = body.get("inferenceConfig")
    if ic is not None:
        mt = ic.get("maxTokens") if isinstance(ic, dict) else None
        if mt is not None and (not isinstance(mt, int) or mt < 1):
            raise Invalid("inferenceConfig.maxTokens: Member must have value greater than or "
                          "equal to 1")
    tools = []
    tc = body.get("toolConfig")
    if tc is not None:
        if not isinstance(tc, dict) or not isinstance(tc.get("tools"), list) or not tc["tools"]:
            raise Invalid("toolConfig.tools: Member must have length greater than or equal to 1")
        for i, t in enumerate(tc["tools"]):
            spec = t.get("toolSpec") if isinstance(t, dict) else None
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise Invalid(f"toolConfig.tools.{i}.toolSpec.name: Member must not be null")
            if not BEDROCK_TOOL_NAME.match(spec["name"]):
                raise Invalid(f"1 validation error detected: Value '{spec['name']}' at "
                              f"'toolConfig.tools.{i + 1}.member.toolSpec.name' failed to satisfy "
                              "constraint: Member must satisfy regular expression pattern: "
                              "[a-zA-Z][a-zA-Z0-9_]*")
            sch = spec.get("inputSchema")
            if not isinstance(sch, dict) or not isinstance(sch.get("json"), dict):
                raise Invalid(f"toolConfig.tools.{i}.toolSpec.inputSchema: expected "
                              "{\"json\": {...}}")
            tools.append(spec["name"])
    if not isinstance(body["messages"], list) or not body["messages"]:
        raise Invalid("messages: Member must have length greater than or equal to 1")
    msgs, uses_tools = [], False
    for i, m in enumerate(body["messages"]):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise Invalid(f"messages.{i}.role: Member must satisfy enum value set: "
                          "[user, assistant]")
        if not isinstance(m.get("content"), list):
            raise Invalid(f"messages.{i}.content: Member must not be null")
        blocks = []
        for j, b in enumerate(m["content"]):
            if not isinstance(b, dict) or len(b) != 1:
                raise Invalid(f"messages.{i}.content.{j}: a ContentBlock is a union: exactly one "
                              "member must be set")
            (kind, v), = b.items()
            if kind == "text":
                blocks.append({"type": "text", "text": str(v)})
            elif kind == "toolUse":
                uses_tools = True
                if m["role"] != "assistant" or not isinstance(v, dict) \
                        or not BEDROCK_TOOL_USE_ID.match(str(v.get("toolUseId", ""))) \
                        or not isinstance(v.get("name"), str) or "input" not in v:
                    raise Invalid(f"messages.{i}.content.{j}.toolUse: toolUseId, name and input "
                                  "are required, in an assistant message")
                blocks.append({"type": "tool_use", "id": v["toolUseId"], "name": v["name"],
                               "input": v["input"]})
            elif kind == "toolResult":
                uses_tools = True
                if m["role"] != "user" or not isinstance(v, dict) \
                        or not isinstance(v.get("content"), list):
                    raise Invalid(f"messages.{i}.content.{j}.toolResult: toolUseId and a content "
                                  "list are required, in a user message")
                st = v.get("status", "success")
                if st not in ("success", "error"):
                    raise Invalid(f"messages.{i}.content.{j}.toolResult.status: Member must "
                                  "satisfy enum value set: [success, error]")
                blocks.append({"type": "tool_result", "tool_use_id": v.get("toolUseId"),
                               "content": _text_of(v["content"]), "is_error": st == "error"})
            else:
                blocks.append({"type": kind})
        msgs.append({"role": m["role"], "blocks": blocks})
    if uses_tools and tc is None:
        raise Invalid("The toolConfig field must be defined when using toolUse and toolResult "
                      "content blocks.")
    _alternation([m["role"] for m in msgs], "messages")
    _pair_tools(msgs, "messages")
    return {"model": model_id, "system": "\n".join(str(b.get("text", "")) for b in system),
            "tools": tools, "messages": msgs}


def _read_chat(body, provider):
    """OpenAI Chat Completions and Ollama /api/chat (arguments: string vs object)."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("you must provide a model parameter" if provider == "openai"
                      else "model is required")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise Invalid("messages: must be a non-empty array")
    tools = []
    for i, t in enumerate(body.get("tools") or []):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(t, dict) or t.get("type") != "function" or not isinstance(fn, dict) \
                or not isinstance(fn.get("name"), str):
            raise Invalid(f"tools[{i}]: expected {{\"type\": \"function\", \"function\": "
                          "{\"name\": ...}}")
        if provider == "openai" and not OPENAI_TOOL_NAME.match(fn["name"]):
            raise Invalid(f"Invalid 'tools[{i}].function.name': string does not match pattern. "
                          "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.")
        if "parameters" in fn and not isinstance(fn["parameters"], dict):
            raise Invalid(f"tools[{i}].function.parameters: expected an object")
        tools.append(fn["name"])
    system, msgs = [], []
    for i, m in enumerate(body["messages"]):
        role = m.get("role") if isinstance(m, dict) else None
        if role in ("system", "developer"):
            system.append(_text_of(m.get("content")))
            continue
        if role == "tool":
            tid = m.get("tool_call_id")
            if provider == "openai" and not isinstance(tid, str):
                raise Invalid(f"messages[{i}].tool_call_id: required for role 'tool'")
            blk = {"type": "tool_result", "tool_use_id": tid, "content": _text_of(m.get("content")),
                   "is_error": False}
            if tid is None:  # Ollama may answer by name alone
                blk["by_name"] = m.get("tool_name") or m.get("name")
            if msgs and msgs[-1]["role"] == "user" and msgs[-1].get("tool_turn"):
                msgs[-1]["blocks"].append(blk)
            else:
                msgs.append({"role": "user", "tool_turn": True, "blocks": [blk]})
            continue
        if role not in ("user", "assistant"):
            raise Invalid(f"messages[{i}].role: invalid role {role!r}")
        blocks = []
        if m.get("content"):
            blocks.append({"type": "text", "text": _text_of(m["content"])})
        for j, tc in enumerate(m.get("tool_calls") or []):
            fn = tc.get("function") if isinstance(tc, dict) else None
            if role != "assistant" or not isinstance(fn, dict) \
                    or not isinstance(fn.get("name"), str):
                raise Invalid(f"messages[{i}].tool_calls[{j}]: a function call with a name, in an "
                              "assistant message")
            args = fn.get("arguments")
            if provider == "openai":
                if not isinstance(args, str):
                    raise Invalid(f"Invalid type for 'messages[{i}].tool_calls[{j}].function."
                                  "arguments': expected a string")
                try:
                    args = json.loads(args)
                except ValueError:
                    args = {"__unparsed__": args}
                if not isinstance(tc.get("id"), str):
                    raise Invalid(f"messages[{i}].tool_calls[{j}].id: required")
                tid = tc["id"]
            else:
                if not isinstance(args, dict):
                    raise Invalid(f"messages[{i}].tool_calls[{j}].function.arguments: json: "
                                  "cannot unmarshal into Go value of type "
                                  "api.ToolCallFunctionArguments")
                tid = tc.get("id") or f"__byname_{fn['name']}_{j}"
            blocks.append({"type": "tool_use", "id": tid, "name": fn["name"], "input": args})
        if msgs and role == "user" and msgs[-1]["role"] == "user":
            msgs[-1]["blocks"].extend(blocks)  # a text after tool messages: the same turn
            continue
        msgs.append({"role": role, "blocks": blocks})
    # results answered by tool_name (Ollama): give them the id of the matching call
    for i, m in enumerate(msgs):
        for b in m["blocks"]:
            if b["type"] == "tool_result" and b["tool_use_id"] is None:
                prev = msgs[i - 1] if i > 0 else {"blocks": []}
                for u in prev["blocks"]:
                    if u["type"] == "tool_use" and u["name"] == b.get("by_name"):
                        b["tool_use_id"] = u["id"]
                        break
    if provider == "openai":
        _pair_tools(msgs, "messages")
    else:
        try:
            _pair_tools(msgs, "messages")
        except Invalid:
            pass  # Ollama does not insist on pairing
    for m in msgs:
        m.pop("tool_turn", None)
    return {"model": body["model"], "system": "\n".join(system), "tools": tools, "messages": msgs}


def read_openai(body):
    if body.get("stream"):
        raise Invalid("stream: this stand-in answers non-streaming requests only")
    return _read_chat(body, "openai")


def read_ollama(body):
    if body.get("stream") is not False:
        raise Invalid("stream must be false: /api/chat streams NDJSON unless \"stream\": false "
                      "is sent")
    return _read_chat(body, "ollama")


# ---- rendering the neutral answer in each wire format --------------------------------------

ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                         402: "billing_error", 403: "permission_error", 404: "not_found_error",
                         413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                         504: "timeout_error", 529: "overloaded_error"}
BEDROCK_ERROR_TYPES = {400: "ValidationException", 401: "UnrecognizedClientException",
                       403: "AccessDeniedException", 404: "ResourceNotFoundException",
                       408: "ModelTimeoutException", 424: "ModelErrorException",
                       429: "ThrottlingException", 500: "InternalServerException",
                       503: "ServiceUnavailableException"}
OPENAI_ERROR_TYPES = {400: ("invalid_request_error", None),
                      401: ("invalid_request_error", "invalid_api_key"),
                      403: ("invalid_request_error", "unsupported_country_region_territory"),
                      404: ("invalid_request_error", "model_not_found"),
                      429: ("requests", "rate_limit_exceeded"), 500: ("server_error", None),
                      503: ("server_error", None)}
STOP_WIRE = {
    "anthropic": {"end_turn": "end_turn", "tool_use": "tool_use", "max_tokens": "max_tokens",
                  "refusal": "refusal"},
    "bedrock": {"end_turn": "end_turn", "tool_use": "tool_use", "max_tokens": "max_tokens",
                "refusal": "content_filtered"},
    "openai": {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length",
               "refusal": "content_filter"},
    "ollama": {"end_turn": "stop", "tool_use": "stop", "max_tokens": "length",
               "refusal": "stop"},
}


def error_body(provider, status, message, etype=None, code=None):
    """(body dict or str, extra headers) for an error in the provider's shape."""
    if provider == "anthropic":
        t = etype or ANTHROPIC_ERROR_TYPES.get(status) or (
            "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": t, "message": message}}, {}
    if provider == "bedrock":
        t = etype or BEDROCK_ERROR_TYPES.get(status) or (
            "InternalServerException" if status >= 500 else "ValidationException")
        return {"message": message}, {
            "x-amzn-ErrorType": f"{t}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    if provider == "openai":
        t, c = OPENAI_ERROR_TYPES.get(status, ("server_error" if status >= 500
                                               else "invalid_request_error", None))
        return {"error": {"message": message, "type": etype or t, "param": None,
                          "code": code if code is not None else c}}, {}
    return {"error": message}, {}


DEFAULT_MESSAGES = {400: "bad request", 401: "invalid x-api-key", 403: "forbidden",
                    404: "not found", 408: "request timeout", 429: "rate limited: slow down",
                    500: "internal server error", 503: "service unavailable",
                    529: "overloaded"}


def kind_error(provider, kind, model):
    """(status, message, code) for the documented errors the client must classify."""
    if kind == "context_length":
        return {"anthropic": (400, "prompt is too long: 250000 tokens > 200000 maximum", None),
                "bedrock": (400, "Input is too long for requested model.", None),
                "openai": (400, "This model's maximum context length is 8192 tokens. However, "
                                "your messages resulted in 9000 tokens. Please reduce the length "
                                "of the messages.", "context_length_exceeded"),
                "ollama": (400, "prompt too long; exceeded max context length by 808 tokens",
                           None)}[provider]
    if kind == "model_not_found":
        return {"anthropic": (404, f"model: {model}", None),
                "bedrock": (400, "The provided model identifier is invalid.", None),
                "openai": (404, f"The model `{model}` does not exist or you do not have access "
                                "to it.", "model_not_found"),
                "ollama": (404, f"model '{model}' not found", None)}[provider]
    raise ValueError(f"unknown error kind {kind!r}")


def render_answer(provider, req, step, n):
    """The 200 body for a respond step. Returns (body dict, tool names sent)."""
    r = step.get("respond") or {"text": "standin: delayed answer"}
    offered = req["tools"]
    by_norm = {}
    for name in offered:
        by_norm.setdefault(norm_tool(name), name)
    calls, names = [], []
    for i, tc in enumerate(r.get("tool_calls") or []):
        name = tc["name"]
        if not tc.get("as_written") and name not in offered:
            name = by_norm.get(norm_tool(name), name)
        names.append(name)
        calls.append((tc.get("id"), name, tc.get("input", {}), tc.get("raw_arguments"), i))
    stop = r.get("stop") or ("tool_use" if calls else "end_turn")
    wire_stop = r.get("wire_stop") or STOP_WIRE[provider].get(stop, stop)
    usage = r.get("usage") or {}
    tin, tout = int(usage.get("in", 100)), int(usage.get("out", 20))
    text = r.get("text", "")
    model = r.get("model") or req["model"]
    if provider == "anthropic":
        content = [{"type": "text", "text": text}] if text else []
        for cid, name, inp, raw, i in calls:
            content.append({"type": "tool_use", "id": cid or f"toolu_standin_{n}_{i}",
                            "name": name, "input": raw if raw is not None else inp})
        return {"id": f"msg_standin_{n}", "type": "message", "role": "assistant",
                "model": model, "content": content, "stop_reason": wire_stop,
                "stop_sequence": None,
                "usage": {"input_tokens": tin, "output_tokens": tout}}, names
    if provider == "bedrock":
        content = [{"text": text}] if text else []
        for cid, name, inp, raw, i in calls:
            content.append({"toolUse": {"toolUseId": cid or f"tooluse_standin_{n}_{i}",
                                        "name": name, "input": raw if raw is not None else inp}})
        return {"output": {"message": {"role": "assistant", "content": content}},
                "stopReason": wire_stop,
                "usage": {"inputTokens": tin, "outputTokens": tout, "totalTokens": tin + tout},
                "metrics": {"latencyMs": 42}}, names
    if provider == "openai":
        msg = {"role": "assistant", "content": text if text else None}
        if calls:
            msg["tool_calls"] = [
                {"id": cid or f"call_standin_{n}_{i}", "type": "function",
                 "function": {"name": name,
                              "arguments": raw if raw is not None else json.dumps(inp)}}
                for cid, name, inp, raw, i in calls]
        return {"id": f"chatcmpl-standin-{n}", "object": "chat.completion",
                "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": wire_stop, "message": msg,
                             "logprobs": None}],
                "usage": {"prompt_tokens": tin, "completion_tokens": tout,
                          "total_tokens": tin + tout}}, names
    msg = {"role": "assistant", "content": text}
    if calls:
        msg["tool_calls"] = []
        for cid, name, inp, raw, i in calls:
            tc = {"function": {"index": i, "name": name,
                               "arguments": raw if raw is not None else inp}}
            if cid is not False:
                tc["id"] = cid or f"call_standin_{n}_{i}"
            msg["tool_calls"].append(tc)
    return {"model": model,
            "created_at": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"),
            "message": msg, "done": True, "done_reason": wire_stop,
            "total_duration": 1000000, "prompt_eval_count": tin, "eval_count": tout}, names


def _pieces(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def anthropic_events(msg):
    """A Message object (render_answer's) as the streaming API sends it: a list of (event name,
    data dict), in order. Text arrives in text_delta pieces, a tool's input as input_json_delta
    pieces of its JSON text (the first one empty, as the API sends it); message_start carries
    the input tokens, message_delta the stop reason and the output tokens."""
    usage = msg["usage"]
    start = dict(msg, content=[], stop_reason=None, stop_sequence=None,
                 usage={"input_tokens": usage["input_tokens"], "output_tokens": 1})
    ev = [("message_start", {"type": "message_start", "message": start}),
          ("ping", {"type": "ping"})]
    for i, b in enumerate(msg["content"]):
        if b["type"] == "text":
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "text", "text": ""}}))
            for piece in _pieces(b["text"], 24):
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "text_delta",
                                                             "text": piece}}))
        else:
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "tool_use",
                                                                 "id": b["id"],
                                                                 "name": b["name"],
                                                                 "input": {}}}))
            inp = b["input"]
            raw = inp if isinstance(inp, str) else json.dumps(inp)
            for piece in [""] + _pieces(raw, 16):
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "input_json_delta",
                                                             "partial_json": piece}}))
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": msg["stop_reason"],
                                           "stop_sequence": None},
                                 "usage": {"output_tokens": usage["output_tokens"]}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


# ---- the server ----------------------------------------------------------------------------

class State:
    def __init__(self, script, log_path):
        self.lock = threading.Lock()
        self.script = Script(script)
        self.log_path = log_path
        self.records = []

    def record(self, rec, handler=None):
        if handler is not None:
            handler.last_rec = rec
        with self.lock:
            rec["n"] = len(self.records) + 1
            self.records.append(rec)
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")


class Reply(Exception):
    def __init__(self, status, body, headers=None, problem=None, events=None):
        super().__init__(problem or str(status))
        self.status, self.body, self.headers, self.problem = status, body, headers or {}, problem
        self.events = events  # a streamed answer: [(event, data)] sent as server-sent events


ROUTES = [
    (re.compile(r"^/v1/messages$"), "anthropic"),
    (re.compile(r"^/model/([^/]+)/converse$"), "bedrock"),
    (re.compile(r"^/v1/chat/completions$"), "openai"),
    (re.compile(r"^/api/chat$"), "ollama"),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin-llm/1"
    state = None  # set by serve()

    def log_message(self, *args):
        pass

    # -- plumbing
    def _send(self, status, body, headers=None, ctype="application/json"):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _send_events(self, status, events, headers=None):
        """Server-sent events in chunked transfer encoding, one chunk per event."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            for name, data in events:
                chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _probe(self, method):
        """A request that is no model call (Claude Code's HEAD / at start, a GET): 404, logged
        with "probe": true and no problem."""
        rec = {"time": time.time(), "method": method, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "raw_headers": [[k, v] for k, v in self.headers.items()], "body": "",
               "provider": None, "model": None, "auth": None, "step": None, "status": 404,
               "problem": None, "probe": True, "tools_offered": [], "tool_names_sent": [],
               "sigv4": None}
        self.state.record(rec, self)
        if method == "HEAD":
            try:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                self.close_connection = True
            return
        self._send(404, {"error": f"standin: no route {self.path}"})

    def do_HEAD(self):
        self._probe("HEAD")

    def do_GET(self):
        if self.path.split("?")[0] == "/__requests":
            with self.state.lock:
                data = json.dumps(self.state.records)
            return self._send(200, data)
        self._probe("GET")

    def do_POST(self):
        t0 = time.monotonic()
        try:
            self._post()
        finally:
            # how long the model took to answer, as its client saw it (benchmarks subtract it)
            if self.last_rec is not None:
                with self.state.lock:
                    self.last_rec["served_s"] = time.monotonic() - t0
                self.last_rec = None

    last_rec = None

    def _post(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if path == "/__script":
            with self.state.lock:
                self.state.script = Script(json.loads(raw))
            return self._send(200, {"ok": True})
        if path == "/v1/messages/count_tokens":
            rec = {"time": time.time(), "method": "POST", "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "raw_headers": [[k, v] for k, v in self.headers.items()],
                   "body": raw.decode("utf-8", errors="replace"), "provider": "anthropic",
                   "model": None, "auth": None, "step": None, "status": 200, "problem": None,
                   "count_tokens": True, "tools_offered": [], "tool_names_sent": [],
                   "sigv4": None}
            self.state.record(rec, self)
            return self._send(200, {"input_tokens": max(1, len(raw) // 4)})
        provider, model_id = None, None
        for rx, p in ROUTES:
            m = rx.match(path)
            if m:
                provider = p
                if p == "bedrock":
                    model_id = urllib.parse.unquote(m.group(1))
                break
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
        rec = {"time": time.time(), "method": "POST", "path": self.path,
               "headers": {}, "raw_headers": [[k, v] for k, v in self.headers.items()],
               "body": text, "provider": provider, "model": model_id, "auth": None,
               "step": None, "status": None, "problem": None, "tools_offered": [],
               "tool_names_sent": [], "sigv4": None}
        for k, v in self.headers.items():
            lk = k.lower()
            rec["headers"][lk] = rec["headers"][lk] + "," + v if lk in rec["headers"] else v
        if provider is None:
            rec.update(status=404, problem=f"no such route {path}")
            self.state.record(rec, self)
            return self._send(404, {"error": f"standin: no route {path}"})
        delay = [0.0]
        try:
            self._handle(provider, model_id, path, query, raw, text, rec, delay)
            raise AssertionError("unreachable: _handle always raises Reply")
        except Reply as r:
            rec["status"] = r.status
            rec["problem"] = r.problem
            self.state.record(rec, self)  # before the delay: a client that gave up still sees it
            if delay[0]:
                time.sleep(delay[0])
            if r.status == 0:  # hang up without an answer
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if r.events is not None:
                self._send_events(r.status, r.events, r.headers)
            else:
                self._send(r.status, r.body, r.headers)

    def _fail(self, provider, status, message, problem=None, etype=None, headers=None, code=None,
              scripted=False):
        """Answer an error in the provider's shape. problem: what the stand-in refused (logged);
        a scripted error is no problem."""
        body, hdrs = error_body(provider, status, message, etype, code)
        hdrs.update(self._ids(provider))
        hdrs.update(headers or {})
        raise Reply(status, body, hdrs, None if scripted else (problem or message))

    def _ids(self, provider):
        rid = f"standin-{int(time.time() * 1000)}-{threading.get_ident() % 100000}"
        return {"anthropic": {"request-id": "req_" + rid},
                "bedrock": {"x-amzn-RequestId": rid},
                "openai": {"x-request-id": rid}}.get(provider, {})

    # -- authentication
    def _key_ok(self, key):
        keys = self.state.script.api_keys
        return bool(key) and (keys is None or key in keys)

    def _auth(self, provider, path, query, raw, rec):
        h = self.headers
        authz = h.get("Authorization") or ""
        bearer = authz[7:].strip() if authz.lower().startswith("bearer ") else None
        if provider == "anthropic":
            key = h.get("x-api-key")
            if key is not None:
                if not self._key_ok(key):
                    self._fail(provider, 401, "invalid x-api-key", "bad x-api-key")
                rec["auth"] = "x-api-key"
            elif bearer is not None:
                if not self._key_ok(bearer):
                    self._fail(provider, 401, "invalid bearer token", "bad bearer token")
                rec["auth"] = "bearer"
            else:
                self._fail(provider, 401, "x-api-key header is required", "no x-api-key")
            ver = h.get("anthropic-version")
            if ver is None:
                self._fail(provider, 400, "anthropic-version: header is required",
                           "no anthropic-version")
            if ver not in ("2023-06-01", "2023-01-01"):
                self._fail(provider, 400, f"anthropic-version: invalid version {ver!r}")
        elif provider == "openai":
            if self.state.script.api_keys is not None or bearer is not None:
                if bearer is None or not self._key_ok(bearer):
                    self._fail(provider, 401, "Incorrect API key provided. You can find your "
                               "API key at https://platform.openai.com/account/api-keys.",
                               "bad bearer key")
                rec["auth"] = "bearer"
        elif provider == "ollama":
            rec["auth"] = "bearer" if bearer is not None else None
        else:
            self._auth_bedrock(path, query, raw, rec, authz, bearer)

    def _auth_bedrock(self, path, query, raw, rec, authz, bearer):
        sc = self.state.script

        def deny(status, etype, message, problem=None):
            self._fail("bedrock", status, message, problem or f"{etype}: {message}", etype)

        if bearer is not None:
            if not self._key_ok(bearer):
                deny(403, "UnrecognizedClientException", "Invalid API Key format: Must start "
                     "with pre-defined prefix or the API key is not valid.", "bad bearer key")
            rec["auth"] = "bearer"
            return
        if not authz:
            deny(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        if not authz.startswith("AWS4-HMAC-SHA256 "):
            deny(403, "IncompleteSignatureException", "Authorization header requires "
                 "'AWS4-HMAC-SHA256' as its algorithm.")
        fields = {}
        for part in authz[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v
        for need in ("Credential", "SignedHeaders", "Signature"):
            if need not in fields:
                deny(403, "IncompleteSignatureException", f"Authorization header requires "
                     f"'{need}' parameter. Authorization={authz}")
        cred = fields["Credential"].split("/")
        if len(cred) != 5:
            deny(403, "IncompleteSignatureException",
                 f"Credential is not well formed: {fields['Credential']}")
        akid, date, region, service, term = cred
        amz_date = self.headers.get("X-Amz-Date")
        if not amz_date:
            deny(403, "IncompleteSignatureException", "Authorization header requires existence "
                 "of either a 'X-Amz-Date' or a 'Date' header.")
        if akid not in sc.aws:
            deny(403, "UnrecognizedClientException",
                 "The security token included in the request is invalid.",
                 f"unknown access key {akid}")
        if term != "aws4_request":
            deny(403, "InvalidSignatureException", "Credential should be scoped with a valid "
                 f"terminator: 'aws4_request', not '{term}'.")
        if service != "bedrock":
            deny(403, "InvalidSignatureException",
                 f"Credential should be scoped to correct service: 'bedrock'. ")
        if region != sc.region:
            deny(403, "InvalidSignatureException",
                 f"Credential should be scoped to a valid region, not '{region}'. ")
        if date != amz_date[:8]:
            deny(403, "InvalidSignatureException", "Date in Credential scope does not match "
                 f"YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != "
                 f"'{amz_date[:8]}', from '{amz_date}'.")
        try:
            t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            deny(403, "IncompleteSignatureException", f"X-Amz-Date is not ISO 8601 basic "
                 f"format: {amz_date}")
        if sc.max_skew is not None and abs(time.time() - t) > sc.max_skew:
            deny(403, "InvalidSignatureException", f"Signature expired: {amz_date} is now "
                 f"earlier or later than the server's time by more than {sc.max_skew} s.")
        signed = fields["SignedHeaders"].split(";")
        present = {k.lower() for k in self.headers.keys()}
        if "host" not in signed:
            deny(403, "InvalidSignatureException",
                 "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        for must in ("x-amz-date", "x-amz-security-token", "x-amz-content-sha256"):
            if must in present and must not in signed:
                deny(403, "InvalidSignatureException", f"'{must}' must be a 'SignedHeader' in "
                     "the AWS Authorization.")
        for s in signed:
            if s not in present:
                deny(403, "InvalidSignatureException", f"The request signature names header "
                     f"'{s}', which is not in the request.")
        if signed != sorted(signed):
            deny(403, "InvalidSignatureException", "SignedHeaders must be sorted.")
        body_hash = hashlib.sha256(raw).hexdigest()
        given_hash = self.headers.get("x-amz-content-sha256")
        if given_hash is not None and given_hash != body_hash:
            deny(400, "ValidationException", "The provided 'x-amz-content-sha256' header does "
                 "not match what was computed.")
        c = sc.aws[akid]
        token = self.headers.get("X-Amz-Security-Token")
        if (c.get("session_token") or None) != token:
            deny(403, "UnrecognizedClientException",
                 "The security token included in the request is invalid.",
                 "session token missing or wrong")
        s = sigv4_sign("POST", path, query, list(self.headers.items()), body_hash,
                       c["secret_access_key"], region, service, amz_date, signed)
        rec["sigv4"] = {"canonical_request": s["canonical_request"],
                        "string_to_sign": s["string_to_sign"],
                        "expected_signature": s["signature"], "signature": fields["Signature"]}
        if not hmac.compare_digest(s["signature"], fields["Signature"]):
            deny(403, "InvalidSignatureException", "The request signature we calculated does "
                 "not match the signature you provided. Check your AWS Secret Access Key and "
                 "signing method. Consult the service documentation for details.",
                 "signature mismatch")
        rec["auth"] = f"sigv4:{akid}"

    # -- one model request
    def _handle(self, provider, model_id, path, query, raw, text, rec, delay):
        st = self.state
        self._auth(provider, path, query, raw, rec)
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as e:
            self._fail(provider, 400, f"The request body is not valid JSON: {e}",
                       "invalid JSON body")
        try:
            betas = [b.strip() for b in (self.headers.get("anthropic-beta") or "").split(",")]
            req = read_anthropic(body, betas) if provider == "anthropic" else \
                read_bedrock(body, model_id) if provider == "bedrock" else \
                {"openai": read_openai, "ollama": read_ollama}[provider](body)
        except Invalid as e:
            self._fail(provider, 400, str(e), f"invalid request: {e}")
        req["provider"], req["body"] = provider, text
        rec["model"], rec["tools_offered"] = req["model"], req["tools"]
        if st.script.models is not None and req["model"] not in st.script.models:
            status, msg, code = kind_error(provider, "model_not_found", req["model"])
            self._fail(provider, status, msg, "unknown model", code=code)
        with st.lock:
            idx, step = st.script.take(req)
        rec["step"] = idx
        if step is None:
            self._fail(provider, 400, f"standin: script exhausted (request {len(st.records) + 1})",
                       "script exhausted")
        if step.get("expect"):
            why = cond_failure(step["expect"], req)
            if why:
                self._fail(provider, 400, f"standin: step {idx} expected: {why}",
                           f"step {idx} expect: {why}")
        if step.get("delay"):
            rec["delay"] = delay[0] = float(step["delay"])
        if step.get("hangup"):
            raise Reply(0, b"")
        if step.get("malformed"):
            m = step["malformed"]
            data = m if isinstance(m, str) else '{"id": "standin", "content": [{"type": "te'
            raise Reply(200, data, self._ids(provider))
        err = step.get("error") or ({"status": step["status"]} if "status" in step else None)
        if err:
            status = int(err.get("status", 500))
            msg, code = err.get("message"), None
            if err.get("kind"):
                status, msg, code = kind_error(provider, err["kind"], req["model"])
            hdrs = dict(err.get("headers") or {})
            if err.get("retry_after") is not None:
                hdrs["retry-after"] = str(err["retry_after"])
            if err.get("retry_after_ms") is not None:
                hdrs["retry-after-ms"] = str(err["retry_after_ms"])
            self._fail(provider, status, msg or DEFAULT_MESSAGES.get(status, f"error {status}"),
                       etype=err.get("type"), headers=hdrs, code=code, scripted=True)
        answer, names = render_answer(provider, req, step, len(st.records) + 1)
        rec["tool_names_sent"] = names
        rec["stream"] = bool(req.get("stream"))
        if provider == "anthropic" and req.get("stream"):
            raise Reply(200, b"", self._ids(provider), events=anthropic_events(answer))
        raise Reply(200, answer, self._ids(provider))


def serve(script, log_path, port=0):
    Handler.state = State(script, log_path)
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--script", default=None)
    ap.add_argument("--log", default=None)
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    if a.selftest:
        bad = selftest()
        print("\n".join(bad) if bad else "sigv4 selftest: 6/6 AWS examples match")
        return 1 if bad else 0
    script = []
    if a.script:
        with open(a.script) as f:
            script = json.load(f)
    srv = serve(script, a.log, a.port)
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


# ---- for tests: start it as a process -------------------------------------------------------

class StandinLLM:
    """The stand-in as a child process of a test: StandinLLM(ctx, script).url, .requests(),
    .problems(), .set_script(script), .stop(). ctx (lib.Context) tracks and cleans it up."""

    def __init__(self, ctx, script, name="llm"):
        self.dir = ctx.dir
        self.script_path = os.path.join(ctx.dir, f"standin-{name}.json")
        self.log_path = os.path.join(ctx.dir, f"standin-{name}.log")
        with open(self.script_path, "w") as f:
            json.dump(script, f)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--port", "0", "--script",
             self.script_path, "--log", self.log_path],
            stdout=subprocess.PIPE, stderr=open(self.log_path + ".stderr", "w"), text=True)
        ctx.track(self.proc)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise AssertionError(f"standin_llm did not start: {line!r}")
        self.url = line.split()[-1]

    def _http(self, method, path, body=None):
        rq = urllib.request.Request(self.url + path, method=method,
                                    data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(rq, timeout=10) as r:
            return json.loads(r.read())

    def requests(self):
        """Every model request so far, oldest first (the records of the log)."""
        return self._http("GET", "/__requests")

    def problems(self):
        return [(r["n"], r["problem"]) for r in self.requests() if r["problem"]]

    def set_script(self, script):
        self._http("POST", "/__script", script)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


if __name__ == "__main__":
    sys.exit(main())
