"""The language-model providers (src/llm) through the real binary (`forestall llm check`) against
standin_llm.py, a stand-in that speaks the Anthropic Messages, Bedrock Converse (SigV4 checked
from the AWS spec), OpenAI Chat Completions and Ollama /api/chat wire formats: tool calls, auth
failures, retries, malformed answers, timeouts, secrets that must never reach a request body,
and a fixed-date Bedrock signature recomputed here."""
import hashlib
import json
import os
import subprocess
import time
import urllib.request

import lib
from lib import check
from standin_llm import StandinLLM, sigv4_sign, selftest

API_KEY = "sk-standin-key-7f3a91c2"
AWS_AK, AWS_SK = "AKIASTANDINEXAMPLE01", "standin/Secret+Key/ExAmPlE0123456789abcd"
AWS_TEMP_AK, AWS_TEMP_SK = "ASIASTANDINEXAMPLE02", "standin/Temp+Secret/ExAmPlE9876543210wxyz"
AWS_TOKEN = "FwoGZXIvYXdzEStandinSessionToken//Canary+0123456789=="
REGION = "eu-west-3"
BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
CANARY_OTHER = "canary-unrelated-secret-5b8e0d"   # a FORESTALL_* secret the config references

TOOL_STEP = {"respond": {"text": "Checking disk usage first.",
                         "tool_calls": [{"name": "host.fs_usage", "input": {"path": "/var"}}],
                         "usage": {"in": 321, "out": 45}}}
TEXT_STEP = {"respond": {"text": "standin answer", "usage": {"in": 10, "out": 3}}}

# the providers as deployed: (name, provider, model, auth, extra config lines, extra env)
PROVIDERS = {
    "anthropic": ("anthropic", "claude-standin-1", "key"),
    "bedrock-sigv4": ("bedrock", BEDROCK_MODEL, "sigv4"),
    "bedrock-apikey": ("bedrock", BEDROCK_MODEL, "key"),
    "openai": ("openai", "qwen-standin", "key"),
    "ollama": ("ollama", "llama-standin", "none"),
}


def script(steps, **extra):
    s = {"steps": steps, "api_keys": [API_KEY], "region": REGION,
         "aws_credentials": [
             {"access_key_id": AWS_AK, "secret_access_key": AWS_SK},
             {"access_key_id": AWS_TEMP_AK, "secret_access_key": AWS_TEMP_SK,
              "session_token": AWS_TOKEN}]}
    s.update(extra)
    return s


def deploy(ctx, name, url, timeout="10s", max_retries=None, api_key=API_KEY, aws=None,
           extra=""):
    """A config file for one provider pointed at the stand-in, and the environment to run it
    with: (config path, env). aws: (access key, secret, session token or None)."""
    provider, model, auth = PROVIDERS[name]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "FORESTALL_LLM_"))}
    env["HOME"] = ctx.dir  # no ~/.aws of the machine running the tests
    env["FORESTALL_CANARY_TOKEN"] = CANARY_OTHER
    lines = ["auth:", "  token: {env: FORESTALL_CANARY_TOKEN}", "llm:",
             f"  provider: {provider}", f"  model: {json.dumps(model)}",
             f"  base_url: {url}", f"  timeout: {timeout}"]
    if max_retries is not None:
        lines.append(f"  max_retries: {max_retries}")
    if auth == "key":
        lines.append("  api_key: {env: FORESTALL_LLM_API_KEY}")
        env["FORESTALL_LLM_API_KEY"] = api_key
    if provider == "bedrock":
        lines.append(f"  region: {REGION}")
    if auth == "sigv4":
        ak, sk, tok = aws or (AWS_TEMP_AK, AWS_TEMP_SK, AWS_TOKEN)
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = ak, sk
        if tok:
            env["AWS_SESSION_TOKEN"] = tok
    path = os.path.join(ctx.dir, f"llm-{name}.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)
    return path, env


def llm_check(cfg, env, timeout=60, prompt=None):
    """`forestall llm check -c CFG -o json [--prompt TEXT]`: (exit code, parsed stdout or None,
    stderr, seconds). stdout is {ok, provider, endpoint, model, stop_reason, input_tokens,
    output_tokens, attempts, latency_ms, content} or {ok: false, ..., error: {code, message}}."""
    t0 = time.monotonic()
    argv = [lib.BIN, "llm", "check", "-c", cfg, "-o", "json"]
    if prompt is not None:
        argv += ["--prompt", prompt]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    took = time.monotonic() - t0
    try:
        out = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        out = None
    for mark in lib.SANITIZER_MARKS:
        check(mark not in p.stderr, f"sanitizer report:\n{p.stderr[-4000:]}")
    return p.returncode, out, p.stderr, took


def failed_with(name, out, code, attempts):
    """The JSON of a failed check says code after `attempts` HTTP attempts."""
    check(isinstance(out, dict) and out.get("ok") is False, f"{name}: not a failure: {out}")
    check(out["error"]["code"] == code, f"{name}: error {out['error']}, expected {code}")
    check(out["provider"] == PROVIDERS[name][0], f"{name}: provider {out['provider']}")
    check(out["attempts"] == attempts, f"{name}: {out['attempts']} attempts, expected {attempts}")


# ---- the stand-in itself ---------------------------------------------------------------------

def test_standin_llm_sigv4_matches_aws_published_signatures(ctx):
    bad = selftest()
    check(not bad, "the stand-in's SigV4 disagrees with AWS's examples:\n" + "\n".join(bad))


def _post(url, path, body, headers):
    rq = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                headers=dict({"Content-Type": "application/json"}, **headers))
    try:
        with urllib.request.urlopen(rq, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_standin_llm_two_turn_conversation_in_every_wire_format(ctx):
    """Turn 1 offers host_fs_usage and gets a call under the offered name; turn 2 carries the
    tool result and gets the text step chosen by its "when"; an unanswered tool call is
    refused with 400 as the real services refuse it."""
    steps = [
        {"when": {"tool_result": True}, "expect": {"tool_result_contains": "91%"},
         "respond": {"text": "done"}, "repeat": True},
        {"when": {"tool_result": False}, "repeat": True,
         "respond": {"tool_calls": [{"name": "host.fs_usage", "input": {"path": "/"}},
                                    {"name": "evil.shell", "input": {"cmd": "rm -rf /"}}]}},
    ]
    sd = StandinLLM(ctx, script(steps))
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    hdr = {"anthropic": {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
           "openai": {"Authorization": "Bearer " + API_KEY}, "ollama": {},
           "bedrock": {"Authorization": "Bearer " + API_KEY}}

    def turn1(p):
        if p == "anthropic":
            return "/v1/messages", {"model": "m", "max_tokens": 50,
                                    "tools": [{"name": "host_fs_usage", "input_schema": schema}],
                                    "messages": [{"role": "user", "content": "disk?"}]}
        if p == "bedrock":
            return "/model/m%3A0/converse", {
                "messages": [{"role": "user", "content": [{"text": "disk?"}]}],
                "toolConfig": {"tools": [{"toolSpec": {"name": "host_fs_usage",
                                                       "inputSchema": {"json": schema}}}]}}
        tools = [{"type": "function", "function": {"name": "host_fs_usage",
                                                   "parameters": schema}}]
        body = {"model": "m", "messages": [{"role": "user", "content": "disk?"}], "tools": tools}
        if p == "ollama":
            body["stream"] = False
        return ("/v1/chat/completions" if p == "openai" else "/api/chat"), body

    def calls_of(p, ans):
        if p == "anthropic":
            return [(b["id"], b["name"], b["input"]) for b in ans["content"]
                    if b["type"] == "tool_use"]
        if p == "bedrock":
            return [(b["toolUse"]["toolUseId"], b["toolUse"]["name"], b["toolUse"]["input"])
                    for b in ans["output"]["message"]["content"] if "toolUse" in b]
        msg = ans["choices"][0]["message"] if p == "openai" else ans["message"]
        return [(c.get("id"), c["function"]["name"],
                 json.loads(c["function"]["arguments"]) if p == "openai"
                 else c["function"]["arguments"]) for c in msg["tool_calls"]]

    def turn2(p, body, ans, calls, answer_all=True):
        body = json.loads(json.dumps(body))
        answered = calls if answer_all else calls[:1]
        if p == "anthropic":
            body["messages"] += [{"role": "assistant", "content": ans["content"]},
                                 {"role": "user", "content": [
                                     {"type": "tool_result", "tool_use_id": i,
                                      "content": "/ 91% used"} for i, _, _ in answered]}]
        elif p == "bedrock":
            body["messages"] += [ans["output"]["message"], {"role": "user", "content": [
                {"toolResult": {"toolUseId": i, "content": [{"text": "/ 91% used"}]}}
                for i, _, _ in answered]}]
        else:
            msg = ans["choices"][0]["message"] if p == "openai" else ans["message"]
            body["messages"].append(msg)
            body["messages"] += [{"role": "tool", "tool_call_id": i, "content": "/ 91% used"}
                                 for i, _, _ in answered]
        return body

    for p in ("anthropic", "bedrock", "openai", "ollama"):
        path, body = turn1(p)
        st, ans = _post(sd.url, path, body, hdr[p])
        check(st == 200, f"{p} turn 1: {st} {ans}")
        calls = calls_of(p, ans)
        check([c[1] for c in calls] == ["host_fs_usage", "evil.shell"],
              f"{p}: the offered tool is named as offered, the other as written: {calls}")
        check(calls[0][2] == {"path": "/"}, f"{p}: arguments {calls[0][2]}")
        st, ans2 = _post(sd.url, path, turn2(p, body, ans, calls), hdr[p])
        check(st == 200, f"{p} turn 2: {st} {ans2}")
        check("done" in json.dumps(ans2), f"{p} turn 2 answered by the tool_result step: {ans2}")
        if p != "ollama":  # Ollama does not insist that every call is answered
            st, err = _post(sd.url, path, turn2(p, body, ans, calls, answer_all=False), hdr[p])
            check(st == 400, f"{p}: an unanswered tool call is refused: {st} {err}")
    recs = sd.requests()
    check([r["tool_names_sent"] for r in recs if r["status"] == 200 and r["tool_names_sent"]]
          == [["host_fs_usage", "evil.shell"]] * 4, "tool names sent as logged")
    check(all(r["problem"] is None for r in recs if r["status"] == 200), sd.problems())


# ---- through the binary ----------------------------------------------------------------------

def _tool_uses(out):
    """The tool_use blocks of `llm check -o json` (the neutral content array)."""
    content = out.get("content") if isinstance(out, dict) else None
    return [b for b in content or [] if b.get("type") == "tool_use"]


def _model_requests(sd):
    return [r for r in sd.requests() if r["provider"]]


def test_llm_check_parses_a_tool_call_from_every_provider(ctx):
    sd = StandinLLM(ctx, script([dict(TOOL_STEP, repeat=True)]))
    for name in PROVIDERS:
        cfg, env = deploy(ctx, name, sd.url)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 0, f"{name}: llm check exited {rc}: {err}")
        uses = _tool_uses(out)
        check(len(uses) == 1 and uses[0]["name"] == "host.fs_usage"
              and uses[0]["input"] == {"path": "/var"},
              f"{name}: the call comes back under forestall's name with its input: {out}")
        check(out.get("stop_reason") == "tool_use", f"{name}: stop_reason {out}")
        check(out.get("input_tokens") == 321 and out.get("output_tokens") == 45,
              f"{name}: usage {out}")
        check(any(b.get("type") == "text" and b.get("text") == "Checking disk usage first."
                  for b in out.get("content", [])), f"{name}: text block {out}")
    recs = _model_requests(sd)
    check(len(recs) == len(PROVIDERS), f"one request per provider: {len(recs)}")
    check(all(r["status"] == 200 and r["problem"] is None for r in recs),
          f"the stand-in accepted every request: {sd.problems()}")
    for r in recs:
        check("host_fs_usage" in r["tools_offered"] and r["tool_names_sent"] == ["host_fs_usage"],
              f"{r['provider']}: offered {r['tools_offered']}, answered {r['tool_names_sent']}")


def _auth_failure(ctx, name, sd):
    """Deploy name with a bad credential (a scripted 401 for Ollama, which checks none)."""
    if name == "bedrock-sigv4":
        return deploy(ctx, name, sd.url, aws=(AWS_AK, "wrong/secret", None))
    return deploy(ctx, name, sd.url, api_key="sk-wrong-key-0000")


def test_llm_check_bad_credentials_fail_at_once_naming_the_provider(ctx):
    """401 (403 for Bedrock) → exit 1, a message naming the provider, exactly one request (no
    retry), and the key not echoed."""
    for name in PROVIDERS:
        provider = PROVIDERS[name][0]
        sd = StandinLLM(ctx, script([{"status": 401, "repeat": True}] if name == "ollama"
                                    else [dict(TEXT_STEP, repeat=True)]), name=name)
        cfg, env = _auth_failure(ctx, name, sd)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 1, f"{name}: exit {rc}, expected 1: {err}")
        failed_with(name, out, "unauthorized", 1)
        check(provider in err, f"{name}: the error names the provider: {err!r}")
        check("401" in err or "403" in err, f"{name}: the error gives the status: {err!r}")
        for secret in ("sk-wrong-key-0000", "wrong/secret"):
            check(secret not in err and secret not in (json.dumps(out) if out else ""),
                  f"{name}: the credential is not echoed")
        recs = _model_requests(sd)
        check(len(recs) == 1, f"{name}: {len(recs)} requests, expected 1 (no retry)")
        want = 403 if name.startswith("bedrock") else 401
        check(recs[0]["status"] == want, f"{name}: the stand-in answered {recs[0]['status']}")


def test_llm_check_retries_429_after_its_retry_after_then_succeeds(ctx):
    for name in PROVIDERS:
        sd = StandinLLM(ctx, script([{"error": {"status": 429, "retry_after": 1}}, TOOL_STEP]),
                        name=name)
        cfg, env = deploy(ctx, name, sd.url)
        rc, out, err, took = llm_check(cfg, env)
        check(rc == 0, f"{name}: exit {rc}: {err}")
        check(len(_tool_uses(out)) == 1, f"{name}: the answer after the retry: {out}")
        recs = _model_requests(sd)
        check([r["status"] for r in recs] == [429, 200], f"{name}: statuses {recs}")
        gap = recs[1]["time"] - recs[0]["time"]
        check(gap >= 0.95, f"{name}: retried {gap:.2f}s after a retry-after of 1 s")
        check(gap < 5, f"{name}: waited {gap:.2f}s, far more than retry-after")
        check(out["attempts"] == 2, f"{name}: attempts {out['attempts']}")


def test_llm_check_retries_500_twice_then_succeeds(ctx):
    for name in PROVIDERS:
        sd = StandinLLM(ctx, script([{"status": 500, "repeat": 2}, TOOL_STEP]), name=name)
        cfg, env = deploy(ctx, name, sd.url)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 0, f"{name}: exit {rc}: {err}")
        check(len(_tool_uses(out)) == 1, f"{name}: the answer after the retries: {out}")
        check([r["status"] for r in _model_requests(sd)] == [500, 500, 200],
              f"{name}: three attempts")
        check(out["attempts"] == 3, f"{name}: attempts {out['attempts']}")


def test_llm_check_retries_a_connection_dropped_without_an_answer(ctx):
    for name in PROVIDERS:
        sd = StandinLLM(ctx, script([{"hangup": True}, TOOL_STEP]), name=name)
        cfg, env = deploy(ctx, name, sd.url)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 0, f"{name}: exit {rc}: {err}")
        check(out["attempts"] == 2 and len(_tool_uses(out)) == 1, f"{name}: {out}")
        check(len(_model_requests(sd)) == 2, f"{name}: two requests")


def test_llm_check_gives_up_after_max_retries_of_503(ctx):
    sd = StandinLLM(ctx, script([{"status": 503, "repeat": True}]))
    for name in PROVIDERS:
        cfg, env = deploy(ctx, name, sd.url, max_retries=1)
        n0 = len(_model_requests(sd))
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 1, f"{name}: exit {rc}: {err}")
        failed_with(name, out, "overloaded", 2)
        check(len(_model_requests(sd)) - n0 == 2, f"{name}: max_retries 1 = two attempts")
        check(PROVIDERS[name][0] in err and "503" in err, f"{name}: message {err!r}")


def test_llm_check_malformed_json_is_a_protocol_error_without_retry(ctx):
    sd = StandinLLM(ctx, script([{"malformed": True, "repeat": True}]))
    for name in PROVIDERS:
        cfg, env = deploy(ctx, name, sd.url)
        n0 = len(_model_requests(sd))
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 1, f"{name}: exit {rc}: {err}")
        failed_with(name, out, "protocol_error", 1)
        check(PROVIDERS[name][0] in err, f"{name}: names the provider: {err!r}")
        check(len(_model_requests(sd)) - n0 == 1, f"{name}: one request")


def test_llm_check_times_out_after_llm_timeout(ctx):
    sd = StandinLLM(ctx, script([{"delay": 6, "repeat": True}]))
    for name in PROVIDERS:
        cfg, env = deploy(ctx, name, sd.url, timeout="1s", max_retries=0)
        rc, out, err, took = llm_check(cfg, env)
        check(rc == 1, f"{name}: exit {rc}: {err}")
        failed_with(name, out, "timeout", 1)
        check(PROVIDERS[name][0] in err, f"{name}: names the provider: {err!r}")
        check(0.9 <= took < 4, f"{name}: gave up after {took:.1f}s with llm.timeout 1s")


def test_llm_request_bodies_never_carry_planted_secrets(ctx):
    """The API key (FORESTALL_LLM_API_KEY), an unrelated FORESTALL_* secret the config
    references, and the AWS secret key and session token are never in a request body; the key
    travels only in its header, the session token only in X-Amz-Security-Token."""
    canary_key = "sk-canary-llm-key-d41d8cd98f"
    sd = StandinLLM(ctx, script([dict(TOOL_STEP, repeat=True)],
                                api_keys=[API_KEY, canary_key]))
    for name in PROVIDERS:
        cfg, env = deploy(ctx, name, sd.url, api_key=canary_key)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 0, f"{name}: exit {rc}: {err}")
        for s in (canary_key, CANARY_OTHER, AWS_TEMP_SK, AWS_TOKEN):
            check(s not in (json.dumps(out) + err), f"{name}: a secret in the output")
    recs = _model_requests(sd)
    check(len(recs) == len(PROVIDERS), f"{len(recs)} requests")
    for r in recs:
        for s in (canary_key, CANARY_OTHER, AWS_TEMP_SK, AWS_TOKEN, AWS_SK):
            check(s not in r["body"], f"{r['provider']}: a secret in the request body")
        check(CANARY_OTHER not in json.dumps(r["headers"]),
              f"{r['provider']}: the unrelated secret in a header")
        check(AWS_TEMP_SK not in json.dumps(r["headers"]), "the AWS secret key is never sent")
    by = {(r["provider"], r["auth"]): r for r in recs}
    check(by[("anthropic", "x-api-key")]["headers"]["x-api-key"] == canary_key, "anthropic key")
    check(by[("openai", "bearer")]["headers"]["authorization"] == "Bearer " + canary_key,
          "openai key")
    check(by[("bedrock", "bearer")]["headers"]["authorization"] == "Bearer " + canary_key,
          "bedrock api key")
    sig = by[("bedrock", f"sigv4:{AWS_TEMP_AK}")]
    check(sig["headers"].get("x-amz-security-token") == AWS_TOKEN, "session token header")
    check(canary_key not in json.dumps(sig["headers"]), "no API key on a SigV4 request")


def test_llm_secrets_in_untrusted_text_are_redacted_from_request_bodies(ctx):
    """Text that reaches the model from outside (here the --prompt, standing for tool output)
    carrying the secrets this deployment knows — the API key (FORESTALL_LLM_API_KEY), the AWS
    secret key and session token (SigV4), and the unrelated FORESTALL_* secret the config
    references (auth.token) — leaves with every one of them redacted."""
    prompt = (f"disk report: key={API_KEY} aws {AWS_TEMP_SK} token {AWS_TOKEN} "
              f"dashboard login {CANARY_OTHER} end")
    sd = StandinLLM(ctx, script([dict(TEXT_STEP, repeat=True)]))
    leaks = []
    for name in PROVIDERS:
        cfg, env = deploy(ctx, name, sd.url)
        rc, out, err, _ = llm_check(cfg, env, prompt=prompt)
        check(rc == 0, f"{name}: exit {rc}: {err}")
        r = _model_requests(sd)[-1]
        check("disk report" in r["body"] and "dashboard login" in r["body"],
              f"{name}: the prompt was sent")
        known = [("auth.token {env: FORESTALL_CANARY_TOKEN}", CANARY_OTHER)]
        if PROVIDERS[name][2] == "key":
            known.append(("FORESTALL_LLM_API_KEY", API_KEY))
        if PROVIDERS[name][2] == "sigv4":
            known += [("AWS_SECRET_ACCESS_KEY", AWS_TEMP_SK), ("AWS_SESSION_TOKEN", AWS_TOKEN)]
        leaks += [f"{name}: {what}" for what, v in known if v in r["body"]]
    check(not leaks, "secrets in request bodies: " + "; ".join(leaks))


def test_llm_check_keeps_an_unoffered_tool_name_and_flags_bad_arguments(ctx):
    """A hostile answer: a tool that was not offered keeps the name the model gave; arguments
    that are not a JSON object become {} with input_error."""
    sd = StandinLLM(ctx, script([{"repeat": True, "respond": {"tool_calls": [
        {"name": "shell.exec", "input": {"cmd": "rm -rf /"}},
        {"name": "host.fs_usage", "raw_arguments": "{\"path\": "}]}}]))
    for name in PROVIDERS:
        cfg, env = deploy(ctx, name, sd.url)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 0, f"{name}: exit {rc}: {err}")
        uses = _tool_uses(out)
        check([u["name"] for u in uses] == ["shell.exec", "host.fs_usage"],
              f"{name}: names {[u['name'] for u in uses]}")
        check(uses[0]["input"] == {"cmd": "rm -rf /"}, f"{name}: {uses[0]}")
        check(uses[1]["input"] == {} and uses[1].get("input_error"),
              f"{name}: bad arguments flagged: {uses[1]}")


def test_llm_check_unknown_model_and_too_long_context_fail_without_retry(ctx):
    """The providers' documented answers: an unknown model is not_found (Bedrock says 400
    ValidationException: invalid_argument), a context too long is too_large; one attempt."""
    for name in PROVIDERS:
        sd = StandinLLM(ctx, script([{"error": {"kind": "model_not_found"}},
                                     {"error": {"kind": "context_length"}}]), name=name)
        cfg, env = deploy(ctx, name, sd.url)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 1, f"{name}: exit {rc}: {err}")
        failed_with(name, out, "invalid_argument" if name.startswith("bedrock") else "not_found",
                    1)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 1, f"{name}: exit {rc}: {err}")
        failed_with(name, out, "too_large", 1)
        check(len(_model_requests(sd)) == 2, f"{name}: two requests")


def test_bedrock_sigv4_with_session_token_is_verified_by_the_standin(ctx):
    """Temporary credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN:
    the stand-in recomputed the signature (scope REGION/bedrock/aws4_request, the model id's
    ':' double-encoded in the canonical path) and accepted it; long-term keys too."""
    sd = StandinLLM(ctx, script([dict(TOOL_STEP, repeat=True)]))
    for aws in ((AWS_TEMP_AK, AWS_TEMP_SK, AWS_TOKEN), (AWS_AK, AWS_SK, None)):
        cfg, env = deploy(ctx, "bedrock-sigv4", sd.url, aws=aws)
        rc, out, err, _ = llm_check(cfg, env)
        check(rc == 0, f"{aws[0]}: exit {rc}: {err}")
        check(_tool_uses(out)[0]["name"] == "host.fs_usage", f"answer {out}")
    recs = _model_requests(sd)
    check([r["auth"] for r in recs] == [f"sigv4:{AWS_TEMP_AK}", f"sigv4:{AWS_AK}"],
          f"verified: {[(r['auth'], r['problem']) for r in recs]}")
    for r in recs:
        authz = r["headers"]["authorization"]
        check(f"/{REGION}/bedrock/aws4_request" in authz, f"scope: {authz}")
        check("%253A0/converse" in r["sigv4"]["canonical_request"].split("\n")[1],
              "the canonical path double-encodes the model id's ':'")
    check("x-amz-security-token" in recs[0]["headers"]["authorization"].split("SignedHeaders=")[1]
          .split(",")[0], "the session token is signed")
    check("x-amz-security-token" not in recs[1]["headers"], "no token with long-term keys")


def test_bedrock_wrong_secret_key_gets_the_403_signature_mismatch(ctx):
    sd = StandinLLM(ctx, script([dict(TEXT_STEP, repeat=True)]))
    cfg, env = deploy(ctx, "bedrock-sigv4", sd.url, aws=(AWS_AK, AWS_SK + "x", None))
    rc, out, err, _ = llm_check(cfg, env)
    check(rc == 1, f"exit {rc}: {err}")
    failed_with("bedrock-sigv4", out, "unauthorized", 1)
    check("bedrock" in err and "403" in err, f"message: {err!r}")
    check("signature" in err.lower(), f"the provider's own message is shown: {err!r}")
    recs = _model_requests(sd)
    check(len(recs) == 1 and recs[0]["problem"] == "signature mismatch",
          f"one request, refused for its signature: {[(r['status'], r['problem']) for r in recs]}")


def test_bedrock_fixed_date_signature_equals_the_python_sigv4(ctx):
    """With FORESTALL_TEST_AWS_DATE fixing X-Amz-Date (honoured for loopback endpoints only),
    the Authorization the binary sent equals the one computed here from the AWS spec for the
    same credentials, date, headers and body."""
    date = "20260102T030405Z"
    sd = StandinLLM(ctx, script([dict(TEXT_STEP, repeat=True)], max_skew_seconds=None))
    cfg, env = deploy(ctx, "bedrock-sigv4", sd.url)
    env["FORESTALL_TEST_AWS_DATE"] = date
    rc, _, err, _ = llm_check(cfg, env)
    rc2, _, err2, _ = llm_check(cfg, env)
    recs = _model_requests(sd)
    check(len(recs) == 2, f"{len(recs)} requests: {err} {err2}")
    r = recs[0]
    check(r["headers"].get("x-amz-date", "").split(",")[0] == date,
          f"X-Amz-Date {r['headers'].get('x-amz-date')}")
    authz = r["headers"]["authorization"]
    signed = authz.split("SignedHeaders=")[1].split(",")[0].split(";")
    path, _, query = r["path"].partition("?")
    names = [k.lower() for k, _ in r["raw_headers"]]
    dups = sorted({n for n in names if names.count(n) > 1})
    hdrs, seen = [], set()  # each header once, as the signer saw them
    for k, v in r["raw_headers"]:
        if k.lower() != "authorization" and k.lower() not in seen:
            hdrs.append((k, v))
            seen.add(k.lower())
    mine = sigv4_sign("POST", path, query, hdrs, hashlib.sha256(r["body"].encode()).hexdigest(),
                      AWS_TEMP_SK, REGION, "bedrock", date, signed)
    want = (f"AWS4-HMAC-SHA256 Credential={AWS_TEMP_AK}/{date[:8]}/{REGION}/bedrock/aws4_request, "
            f"SignedHeaders={';'.join(signed)}, Signature={mine['signature']}")
    check(authz == want, f"Authorization sent:\n  {authz}\ncomputed here:\n  {want}\n"
          f"canonical request:\n{mine['canonical_request']}")
    check({"host", "x-amz-date", "x-amz-security-token"} <= set(signed), f"signed: {signed}")
    check("%253A0/converse" in mine["canonical_request"].split("\n")[1],
          "the model id's ':' is double-encoded in the canonical path")
    check(recs[1]["headers"]["authorization"] == authz,
          "same credentials, date and body sign the same twice")
    check(not dups, f"headers sent more than once: {dups} ({r['raw_headers']}); AWS joins "
          "repeated headers with ',' in the canonical request, so the request does not verify "
          "(libcurl 7.88 adds its own X-Amz-Date beside the caller's)")
    check(rc == 0 and rc2 == 0, f"exit {rc}, {rc2}: {err} {err2}")
    check(r["auth"] == f"sigv4:{AWS_TEMP_AK}", f"the stand-in accepted it: {r['problem']}")


def test_bedrock_api_key_is_sent_as_a_bearer_without_sigv4(ctx):
    sd = StandinLLM(ctx, script([dict(TOOL_STEP, repeat=True)]))
    cfg, env = deploy(ctx, "bedrock-apikey", sd.url)
    env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = AWS_AK, AWS_SK  # ignored
    rc, out, err, _ = llm_check(cfg, env)
    check(rc == 0, f"exit {rc}: {err}")
    r = _model_requests(sd)[0]
    check(r["auth"] == "bearer" and r["headers"]["authorization"] == "Bearer " + API_KEY,
          f"auth {r['auth']}")
    check("x-amz-date" not in r["headers"], "no SigV4 headers with an API key")
    check(r["path"].startswith("/model/") and r["path"].endswith("/converse"), r["path"])


def test_llm_env_overrides_point_a_run_elsewhere(ctx):
    """FORESTALL_LLM_PROVIDER, _BASE_URL, _MODEL and _API_KEY win over the config file."""
    sd = StandinLLM(ctx, script([dict(TOOL_STEP, repeat=True)]))
    dead = f"http://127.0.0.1:{lib.free_port()}"
    cfg, env = deploy(ctx, "anthropic", dead)
    env.update(FORESTALL_LLM_PROVIDER="openai", FORESTALL_LLM_BASE_URL=sd.url,
               FORESTALL_LLM_MODEL="override-model", FORESTALL_LLM_API_KEY=API_KEY)
    rc, out, err, _ = llm_check(cfg, env)
    check(rc == 0, f"exit {rc}: {err}")
    r = _model_requests(sd)[0]
    check(r["provider"] == "openai" and r["model"] == "override-model",
          f"{r['provider']} {r['model']}")
