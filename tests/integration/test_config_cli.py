"""`forestall config check` diagnostics, startup refusals, and the client commands' exit codes
and output formats."""
import json
import os
import subprocess

import lib
from lib import am_alert, am_webhook, check, free_port

COMMANDS = ["serve", "alert send", "incidents list", "incidents show", "deadletters list",
            "status", "config check", "version", "docs", "help"]


def run(*args, env=None, input=None, timeout=30):
    e = {k: v for k, v in os.environ.items() if not k.startswith("FORESTALL_")}
    e.update(env or {})
    return subprocess.run([lib.BIN, *args], capture_output=True, text=True, env=e, input=input,
                          timeout=timeout)


def write(ctx, name, text):
    path = os.path.join(ctx.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_config_check_valid_file(ctx):
    path = write(ctx, "ok.yaml", "server:\n  listen: 127.0.0.1:9797\n  max_body: 4MiB\n"
                 "incidents:\n  group_by: [cluster, namespace]\n  skew: 30s\n"
                 "auth:\n  token: {env: FORESTALL_TEST_TOKEN}\n")
    r = run("config", "check", path, env={"FORESTALL_TEST_TOKEN": "t0ken"})
    check(r.returncode == 0, f"valid config: exit {r.returncode}: {r.stderr}")
    check(path in r.stdout + r.stderr, f"the check does not name the file: {r.stdout!r}")
    # the shipped default configuration is valid too
    r = run("config", "check", os.path.join(os.path.dirname(__file__), "..", "..", "etc",
                                            "forestall.yaml"))
    check(r.returncode == 0, f"etc/forestall.yaml: exit {r.returncode}: {r.stderr}")


def test_config_check_unknown_key_names_file_line_key_and_suggestion(ctx):
    path = write(ctx, "typo.yaml", "incidents:\n  window: 5m\n  group_bye: [instance]\n")
    r = run("config", "check", path)
    check(r.returncode == 1, f"exit {r.returncode}")
    check(f"{path}:3:" in r.stderr and "incidents.group_bye" in r.stderr,
          f"expected FILE:3: incidents.group_bye in {r.stderr!r}")
    check("incidents.group_by?" in r.stderr or "did you mean incidents.group_by" in r.stderr,
          f"no suggestion of incidents.group_by: {r.stderr!r}")


def test_config_check_unknown_section_suggests_the_right_one(ctx):
    path = write(ctx, "sever.yaml", "# comment\nsever:\n  listen: 127.0.0.1:9797\n")
    r = run("config", "check", path)
    check(r.returncode == 1, f"exit {r.returncode}")
    check(f"{path}:2:" in r.stderr and "sever" in r.stderr,
          f"expected FILE:2: sever in {r.stderr!r}")
    check("server" in r.stderr.replace("sever", ""),
          f"a misspelt section name gets no suggestion (expected 'server'): {r.stderr!r}")


def test_config_check_wrong_types_and_every_problem(ctx):
    path = write(ctx, "types.yaml", "server:\n  threads: 2\n  max_body: \"lots\"\n"
                 "incidents:\n  skew: soon\n  default_severity: catastrophic\n")
    r = run("config", "check", path)
    check(r.returncode == 1, f"exit {r.returncode}")
    for line, key in ((3, "server.max_body"), (5, "incidents.skew"),
                      (6, "incidents.default_severity")):
        check(f"{path}:{line}:" in r.stderr and key in r.stderr,
              f"expected {path}:{line}: {key} in {r.stderr!r}")
    for name, text, line, key in (
            ("dup.yaml", "server:\n  threads: 2\n  threads: 3\n", 3, "server.threads"),
            ("range.yaml", "store:\n  group_commit_max: 0\n", 2, "store.group_commit_max"),
            ("enum.yaml", "log:\n  level: verbose\n", 2, "log.level"),
            ("list.yaml", "incidents:\n  group_by: instance\n", 2, "incidents.group_by"),
            ("syntax.yaml", "server:\n  listen: [unclosed\n", 3, "")):
        p = write(ctx, name, text)
        r = run("config", "check", p)
        check(r.returncode == 1 and f"{p}:{line}:" in r.stderr and key in r.stderr,
              f"{name}: expected exit 1 and {p}:{line}: {key} in {r.stderr!r}")
    # serve refuses the same file, naming the problem
    r = run("serve", "-c", path, "--listen", "127.0.0.1:0", "--data-dir",
            os.path.join(ctx.dir, "data"), timeout=15)
    check(r.returncode == 1 and "server.max_body" in r.stderr, f"serve: {r.returncode} {r.stderr}")


def test_config_refuses_literal_and_missing_secrets(ctx):
    path = write(ctx, "lit.yaml", "server:\n  threads: 2\nauth: {token: \"abc\"}\n")
    r = run("config", "check", path)
    check(r.returncode == 1 and f"{path}:3:" in r.stderr and "auth.token" in r.stderr,
          f"literal secret: {r.returncode} {r.stderr!r}")
    check("abc" not in r.stderr, f"the literal secret is echoed: {r.stderr!r}")
    path = write(ctx, "env.yaml", "auth:\n  token: {env: FORESTALL_X}\n")
    r = run("config", "check", path)
    check(r.returncode == 1 and "FORESTALL_X" in r.stderr and "auth.token" in r.stderr,
          f"unset env secret: {r.returncode} {r.stderr!r}")
    r = run("config", "check", path, env={"FORESTALL_X": "s3cret-token"})
    check(r.returncode == 0, f"env secret that is set: {r.returncode} {r.stderr!r}")
    check("s3cret-token" not in r.stdout + r.stderr, "the secret value is printed")


def test_serve_refuses_public_listen_without_token(ctx):
    r = run("serve", "--listen", "0.0.0.0:0", "--data-dir", os.path.join(ctx.dir, "data"),
            timeout=15)
    check(r.returncode == 1, f"exit {r.returncode}: {r.stderr}")
    check("auth.token" in r.stderr and "loopback" in r.stderr, r.stderr)
    check("listening on" not in r.stdout, r.stdout)


def test_version_and_help(ctx):
    r = run("version")
    check(r.returncode == 0 and r.stdout.startswith("forestall ") and
          any(c.isdigit() for c in r.stdout), f"version: {r.returncode} {r.stdout!r}")
    r2 = run("--version")
    check(r2.returncode == 0 and r2.stdout == r.stdout, f"--version: {r2.stdout!r}")
    r = run("--help")
    check(r.returncode == 0, f"--help exit {r.returncode}")
    for c in COMMANDS:
        check(c in r.stdout, f"--help does not list {c!r}")
    for c in COMMANDS:
        r = run(*c.split(), "--help")
        check(r.returncode == 0 and f"usage: forestall {c}" in r.stdout + r.stderr,
              f"{c} --help: exit {r.returncode}: {r.stdout!r} {r.stderr!r}")
    r = run("bogus-command")
    check(r.returncode == 2 and "bogus-command" in r.stderr, f"unknown command: {r.returncode}")
    r = run("incidents")
    check(r.returncode == 2 and "incidents list" in r.stderr, f"group without sub: {r.stderr!r}")


def test_client_exit_codes(ctx):
    port = free_port()
    r = run("incidents", "list", env={"FORESTALL_URL": f"http://127.0.0.1:{port}"})
    check(r.returncode == 3, f"closed port: exit {r.returncode}: {r.stderr}")
    r = run("status", "--url", f"http://127.0.0.1:{port}")
    check(r.returncode == 3, f"status on a closed port (--url): exit {r.returncode}")

    d = ctx.daemon().start()
    bad = json.dumps(am_webhook([{"status": "firing", "labels": {"alertname": "X"},
                                  "startsAt": "yesterday"}]))
    r = d.cli("alert", "send", "-", input=bad)
    check(r.returncode == 4, f"invalid payload: exit {r.returncode}")
    check("invalid_payload" in r.stdout + r.stderr and "alerts[0].startsAt" in r.stderr,
          f"the error is not printed: {r.stdout!r} {r.stderr!r}")
    r = d.cli("alert", "send", "-", input="{not json")
    check(r.returncode == 4 and "invalid_json" in r.stdout + r.stderr, f"{r.returncode} {r.stderr}")
    r = d.cli("incidents", "show", "inc-999")
    check(r.returncode == 4 and "404" in r.stderr, f"show inc-999: {r.returncode} {r.stderr!r}")
    r = d.cli("alert", "send", os.path.join(ctx.dir, "no-such-file.json"))
    check(r.returncode == 1, f"missing file: exit {r.returncode}")
    r = d.cli("incidents", "list", "--status", "sideways")
    check(r.returncode in (2, 4), f"bad --status: exit {r.returncode}")
    r = d.cli("incidents", "list", "--bogus-flag")
    check(r.returncode == 2, f"unknown option: exit {r.returncode}")
    # the rejected bodies are kept as dead letters
    r = d.cli("deadletters", "list", "-o", "json")
    check(r.returncode == 0, r.stderr)
    dls = json.loads(r.stdout)
    check(len(dls) == 2, f"dead letters: {dls}")
    d.stop()


def test_alert_send_autodetects_sources_and_json_views(ctx):
    d = ctx.daemon().start()
    am = write(ctx, "am.json", json.dumps(am_webhook([am_alert(
        {"alertname": "DiskFull", "instance": "web-1", "severity": "critical"},
        annotations={"summary": "disk"})])))
    grafana = write(ctx, "grafana.json", json.dumps({
        "receiver": "forestall", "status": "firing", "orgId": 1, "version": "1",
        "alerts": [{"status": "firing", "labels": {"alertname": "GrafanaHigh",
                                                    "instance": "web-2"},
                    "annotations": {}, "startsAt": "2026-11-21T10:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "values": {"A": 1.5}}]}))
    event = write(ctx, "event.json", json.dumps({
        "type": "provider.unhealthy", "id": "evt-1",
        "data": {"provider": "openai", "error_rate": 0.3}}))
    for path in (am, grafana, event):
        r = d.cli("alert", "send", path)
        check(r.returncode == 0 and "HTTP 200" in r.stdout, f"{path}: {r.returncode} "
              f"{r.stdout!r} {r.stderr!r}")
    r = d.cli("incidents", "list", "-o", "json")
    check(r.returncode == 0, r.stderr)
    incs = json.loads(r.stdout)
    check(isinstance(incs, list) and len(incs) == 3, incs)
    sources = {}
    for inc in incs:
        for key in ("id", "status", "severity", "labels", "episodes"):
            check(key in inc, f"incident without {key}: {inc}")
        check(inc["id"].startswith("inc-") and inc["status"] in ("open", "resolved"), inc)
        for ep in inc["episodes"]:
            for key in ("fingerprint", "status", "startsAt"):
                check(key in ep, f"episode without {key}: {ep}")
            check(len(ep["fingerprint"]) == 16, ep)
            sources[ep["source"]] = inc
    check(set(sources) == {"alertmanager", "grafana", "event"},
          f"autodetection sent to the wrong intake: {set(sources)}")
    check(sources["alertmanager"]["severity"] == "critical", sources["alertmanager"])
    r = d.cli("incidents", "list", "-o", "json", "--severity", "critical")
    check(r.returncode == 0 and [i["id"] for i in json.loads(r.stdout)] ==
          [sources["alertmanager"]["id"]], r.stdout)

    inc_id = sources["alertmanager"]["id"]
    r = d.cli("incidents", "show", inc_id, "-o", "json")
    check(r.returncode == 0, r.stderr)
    one = json.loads(r.stdout)
    check(one["id"] == inc_id and one["episodes"], one)
    kinds = [ev["kind"] for ev in one.get("timeline", [])]
    check("incident.created" in kinds and "episode.firing" in kinds, f"timeline: {kinds}")
    r = d.cli("incidents", "show", inc_id.split("-")[1])  # "42" works like "inc-42"
    check(r.returncode == 0 and "DiskFull" in r.stdout, f"text show: {r.stdout!r}")
    r = d.cli("incidents", "list")
    check(r.returncode == 0 and inc_id in r.stdout, f"table list: {r.stdout!r}")
    r = d.cli("status", "-o", "json")
    check(r.returncode == 0 and json.loads(r.stdout).get("ready") is True, r.stdout)
    d.stop()


def documented_exit_codes():
    """meaning -> exit code, from the "Exit codes" table of docs/cli.md."""
    import re
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "cli.md")) as f:
        text = f.read()
    check("## Exit codes" in text, "docs/cli.md has no 'Exit codes' section")
    table = text.split("## Exit codes", 1)[1]
    return {m: int(c) for c, m in re.findall(r"^\| (\d+) \| (.+?) \|$", table, re.M)}


def test_alert_send_source_flag(ctx):
    codes = documented_exit_codes()
    rejected = next((c for m, c in codes.items() if "HTTP 4xx" in m), None)
    usage = next((c for m, c in codes.items() if "invalid command line" in m), None)
    check(rejected == 4 and usage == 2, f"docs/cli.md exit codes: {codes}")
    d = ctx.daemon().start()
    alert = {"status": "firing", "annotations": {}, "startsAt": "2026-11-21T10:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z"}
    am = write(ctx, "am.json", json.dumps(am_webhook([am_alert(
        {"alertname": "SourceFlag", "instance": "src-am"})])))
    # no version and no orgId: detection would take this for Alertmanager's; the flag decides
    grafana = write(ctx, "grafana.json", json.dumps({
        "receiver": "r", "status": "firing",
        "alerts": [dict(alert, labels={"alertname": "SourceFlag", "instance": "src-grafana"})]}))
    event = write(ctx, "event.json", json.dumps({"type": "source.flag", "severity": "warning",
                                                 "labels": {"instance": "src-event"}}))
    for source, path in (("alertmanager", am), ("grafana", grafana), ("event", event)):
        r = d.cli("alert", "send", "--source", source, path)
        check(r.returncode == 0 and r.stdout.startswith("HTTP 200\n")
              and json.loads(r.stdout.split("\n", 1)[1])["alerts"] == 1,
              f"--source {source}: exit {r.returncode} {r.stdout!r} {r.stderr!r}")
    got = {ep["labels"]["instance"]: ep["source"] for inc in d.incidents()
           for ep in inc["episodes"]}
    check(got == {"src-am": "alertmanager", "src-grafana": "grafana", "src-event": "event"},
          f"--source did not pick the route: episodes {got}")

    # a body the named route does not take: 400, printed, the documented exit code, and the
    # body kept as a dead letter of that route
    mismatched = (("alertmanager", event, "alerts"), ("grafana", am, "version"),
                  ("event", am, "receiver"))
    for source, path, where in mismatched:
        r = d.cli("alert", "send", "--source", source, path)
        check(r.returncode == rejected, f"--source {source} {os.path.basename(path)}: exit "
              f"{r.returncode}, want {rejected}: {r.stdout!r} {r.stderr!r}")
        check(r.stdout.startswith("HTTP 400\n"), f"--source {source}: {r.stdout!r}")
        e = json.loads(r.stdout.split("\n", 1)[1])["error"]
        check(e["code"] == "invalid_payload" and e["path"] == where,
              f"--source {source} {os.path.basename(path)}: {e}")
    st, dls = d.get("/api/v1/dead-letters?limit=0")
    check(st == 200 and [dl["source"] for dl in reversed(dls)] == [s for s, _, _ in mismatched],
          f"dead letters: {st} {dls}")

    # an unknown source is a usage error; nothing is sent
    r = d.cli("alert", "send", "--source", "prometheus", am)
    check(r.returncode == usage and "--source" in r.stderr and "HTTP" not in r.stdout,
          f"--source prometheus: exit {r.returncode} {r.stdout!r} {r.stderr!r}")
    st, dls2 = d.get("/api/v1/dead-letters?limit=0")
    check(len(dls2) == len(dls) and len(d.incidents()) == 3, "an unknown --source sent something")
    d.stop()
