"""The web console in real headless Chromium (Debian's chromium driven by playwright-core from
npm, installed into build/npm by scripts/bootstrap test): log in with a token, watch an incident
arrive (the alert is posted after the page is open), open it, approve its pending proposal in
supervised mode, see it execute and verify (resolved); a viewer gets no decision buttons and a
forged approval is refused 403; a state-changing request without the CSRF token is refused 403
`csrf`; every console answer carries the CSP and no page has inline script or style.
Screenshots are kept in BUILD/artifacts/console/ (next to the binary under test), because the
test's own directory is removed when it passes. Plus the session cookie and CSRF rules over
plain HTTP, without a browser."""
import json
import os
import shutil
import subprocess

import lib
from lib import Tmpfs, check, fill_journal, http_request
from test_engine import disk_alert, need_root

SERIAL = True  # alone under -j: it drives a headless Chromium, which takes a core of its own

TOKENS = {"alice": "console-approver-token-0001", "victor": "console-viewer-token-0002",
          "root": "console-admin-token-0003"}
CONFIG = """executor: {max_verify_wait: 3s}
auth:
  tokens:
    - {name: alice, role: approver, token: {env: FORESTALL_T_ALICE}}
    - {name: victor, role: viewer, token: {env: FORESTALL_T_VICTOR}}
    - {name: root, role: admin, token: {env: FORESTALL_T_ROOT}}
"""
ENV = {"FORESTALL_T_ALICE": TOKENS["alice"], "FORESTALL_T_VICTOR": TOKENS["victor"],
       "FORESTALL_T_ROOT": TOKENS["root"], "FORESTALL_TOKEN": TOKENS["root"]}


def playwright_dir():
    for base in (os.path.join(os.path.dirname(lib.BIN), "..", "npm"),
                 os.path.join(os.path.dirname(__file__), "..", "..", "build", "npm")):
        d = os.path.join(base, "node_modules", "playwright-core")
        if os.path.exists(os.path.join(d, "index.mjs")):
            return os.path.abspath(d)
    return None


def artifacts_dir():
    d = os.path.join(os.path.dirname(lib.BIN), "artifacts", "console")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def test_console_in_chromium(ctx):
    need_root()
    pw = playwright_dir()
    if not pw or not os.path.exists("/usr/bin/chromium"):
        raise AssertionError("chromium and playwright-core are needed (scripts/bootstrap test "
                             "installs both)")
    fs = Tmpfs()
    try:
        fill_journal(os.path.join(fs.path, "journal"), 7, 4 * 1024 * 1024)
        d = ctx.daemon(config=CONFIG, env=ENV).start()
        st, body = d.post("/api/v1/modes", {"mode": "supervised", "reason": "people approve"})
        check(st == 200, f"modes: {st} {body}")
        alert = os.path.join(ctx.dir, "alert.json")
        with open(alert, "w") as f:
            json.dump(disk_alert(fs.path), f)
        shots = artifacts_dir()
        cfg = os.path.join(ctx.dir, "driver.json")
        with open(cfg, "w") as f:
            json.dump({"url": d.url, "playwright": pw, "approver": TOKENS["alice"],
                       "viewer": TOKENS["victor"], "intakeToken": TOKENS["root"],
                       "alertFile": alert, "shots": shots}, f)
        r = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "console_driver.mjs"),
                            cfg], capture_output=True, text=True, timeout=90)
        steps = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        print(f"    screenshots: {shots}")
        check(r.returncode == 0 and steps and steps[-1]["step"] == "done",
              f"driver: {r.stdout[-3000:]}\n{r.stderr[-2000:]}")
        names = [s["step"] for s in steps]
        check(names == ["logged in", "incident arrived", "proposal shown", "viewer refused",
                        "csrf refused", "resolved", "done"], names)
        check(steps[-1]["ms"] < 15000, f"the browser part took {steps[-1]['ms']} ms")
        check(len([n for n in os.listdir(shots) if n.endswith(".png")]) >= 8, os.listdir(shots))
        # the approval was recorded with the person and the channel
        st, rows = d.get("/api/v1/audit?type=approval")
        check(st == 200 and len(rows) == 1 and rows[0]["actor"] == "alice"
              and rows[0]["data"]["channel"] == "console", rows)
    finally:
        fs.remove()


def login(d, token, form=False):
    if form:
        return http_request(d.url + "/ui/login", "POST", f"token={token}",
                            {"Content-Type": "application/x-www-form-urlencoded"})
    return http_request(d.url + "/ui/login", "POST", json.dumps({"token": token}),
                        {"Content-Type": "application/json"})


def cookie_of(headers):
    c = headers.get("set-cookie", "")
    check(c.startswith("__Host-forestall_session=") and "HttpOnly" in c and "Secure" in c
          and "SameSite=Strict" in c and "Path=/" in c, c)
    return c.split(";", 1)[0]


def test_console_sessions_and_csrf_over_http(ctx):
    d = ctx.daemon(config=CONFIG, env=ENV).start()
    # GET / redirects; static files carry the headers and no inline code
    st, hd, _ = http_request(d.url + "/")
    check(st == 303 and hd.get("location") == "/ui/", (st, hd))
    for path, ctype in (("/ui/", "text/html"), ("/ui/login", "text/html"),
                        ("/ui/app.js", "text/javascript"), ("/ui/app.css", "text/css")):
        st, hd, body = http_request(d.url + path)
        check(st == 200 and hd["content-type"].startswith(ctype), (path, st, hd))
        check("script-src 'self'" in hd["content-security-policy"]
              and "frame-ancestors 'none'" in hd["content-security-policy"], hd)
        check(hd["x-content-type-options"] == "nosniff" and hd["referrer-policy"] == "no-referrer",
              hd)
        check(b"<script>" not in body and b"style=" not in body, path)
        st2, _, _ = http_request(d.url + path, headers={"If-None-Match": hd["etag"]})
        check(st2 == 304, (path, st2))
    check(http_request(d.url + "/ui/nope.js")[0] == 404, "unknown asset")
    check(http_request(d.url + "/ui/..%2fetc")[0] == 404, "traversal")
    # wrong token: 401, and a form login with it goes back to the login page
    check(login(d, "wrong")[0] == 401, "wrong token")
    st, hd, _ = login(d, "wrong", form=True)
    check(st == 303 and hd["location"].startswith("/ui/login?failed"), (st, hd))
    # another site's login form is refused
    st, hd, body = http_request(d.url + "/ui/login", "POST", f"token={TOKENS['alice']}",
                                {"Content-Type": "application/x-www-form-urlencoded",
                                 "Origin": "http://evil.example"})
    check(st == 403 and json.loads(body)["error"]["code"] == "csrf", (st, body))
    # a form login: redirect with the cookie
    st, hd, _ = login(d, TOKENS["alice"], form=True)
    check(st == 303 and hd["location"] == "/ui/", (st, hd))
    cookie = cookie_of(hd)
    st, _, body = http_request(d.url + "/ui/session", headers={"Cookie": cookie})
    sess = json.loads(body)
    check(st == 200 and sess["name"] == "alice" and sess["role"] == "approver"
          and sess["can"]["approve"] and not sess["can"]["unfreeze"], sess)
    # GET with the cookie works; a POST needs the CSRF token
    check(http_request(d.url + "/api/v1/incidents", headers={"Cookie": cookie})[0] == 200, "GET")
    st, _, body = http_request(d.url + "/api/v1/freeze", "POST", '{"reason":"x"}',
                               {"Cookie": cookie, "Content-Type": "application/json"})
    check(st == 403 and json.loads(body)["error"]["code"] == "csrf", (st, body))
    st, _, body = http_request(d.url + "/api/v1/freeze", "POST", '{"reason":"by cookie"}',
                               {"Cookie": cookie, "Content-Type": "application/json",
                                "X-CSRF-Token": sess["csrf"]})
    check(st == 200, (st, body))
    st, rows = d.get("/api/v1/audit?type=freeze")
    check(rows and rows[-1]["actor"] == "alice", rows)
    # the role still decides: alice may not unfreeze
    st, _, body = http_request(d.url + "/api/v1/unfreeze", "POST", '{"reason":"x"}',
                               {"Cookie": cookie, "Content-Type": "application/json",
                                "X-CSRF-Token": sess["csrf"]})
    check(st == 403 and json.loads(body)["error"]["code"] == "forbidden", (st, body))
    # "as" cannot name someone else
    st, _, body = http_request(d.url + "/api/v1/freeze", "POST", '{"as":"root","reason":"x"}',
                               {"Cookie": cookie, "Content-Type": "application/json",
                                "X-CSRF-Token": sess["csrf"]})
    check(st == 403, (st, body))
    # bearer calls are unaffected by CSRF
    st, body = d.post("/api/v1/unfreeze", {"reason": "bearer"})
    check(st == 200, (st, body))
    # an unknown cookie is 401 on the API when tokens are configured
    st, _, _ = http_request(d.url + "/api/v1/incidents",
                            headers={"Cookie": "__Host-forestall_session=" + "0" * 64})
    check(st == 401, st)
    # logout needs the CSRF token, then the cookie is dead
    check(http_request(d.url + "/ui/logout", "POST", "", {"Cookie": cookie})[0] == 403, "logout")
    st, hd, _ = http_request(d.url + "/ui/logout", "POST", "",
                             {"Cookie": cookie, "X-CSRF-Token": sess["csrf"]})
    check(st == 204 and "Max-Age=0" in hd.get("set-cookie", ""), (st, hd))
    check(http_request(d.url + "/ui/session", headers={"Cookie": cookie})[0] == 401, "after")
    check(http_request(d.url + "/api/v1/incidents", headers={"Cookie": cookie})[0] == 401, "api")


def test_console_without_tokens_asks_a_name(ctx):
    d = ctx.daemon().start()
    st, _, body = http_request(d.url + "/ui/session")
    check(st == 401 and json.loads(body)["login"] == "name", (st, body))
    st, _, body = http_request(d.url + "/ui/login", "POST", "name=",
                               {"Content-Type": "application/x-www-form-urlencoded"})
    check(st == 303, st)
    st, hd, body = http_request(d.url + "/ui/login", "POST", json.dumps({"name": "carol"}),
                                {"Content-Type": "application/json"})
    sess = json.loads(body)
    check(st == 200 and sess["name"] == "carol" and sess["role"] == "admin", (st, body))
    cookie = cookie_of(hd)
    st, _, body = http_request(d.url + "/api/v1/freeze", "POST", '{"reason":"by carol"}',
                               {"Cookie": cookie, "Content-Type": "application/json",
                                "X-CSRF-Token": sess["csrf"]})
    check(st == 200, (st, body))
    st, rows = d.get("/api/v1/audit?type=freeze")
    check(rows[-1]["actor"] == "carol", rows)
    st, _, body = http_request(d.url + "/api/v1/unfreeze", "POST", '{"reason":"x"}',
                               {"Cookie": cookie, "Content-Type": "application/json"})
    check(st == 403 and json.loads(body)["error"]["code"] == "csrf", (st, body))
