"""The ssh target against a REAL sshd: a throwaway OpenSSH server on loopback (its own host key,
an authorized client key, a known_hosts file with exactly that host key), and host tools run
through `forestall tool call --host` with the tools.ssh_* settings. Proves that a path full of
spaces and shell metacharacters arrives on the far side verbatim (the tool sees the file; the
canaries its name would create if a shell ever evaluated it never appear), that a host key
mismatch is refused, and that a missing path or process is an answer over ssh too.

The target is 127.0.0.2 (still loopback): `forestall tool call` treats 127.0.0.1 as this
machine and would run the tool locally. Needs root (sshd with UsePAM no logs in as root) and
/usr/sbin/sshd (scripts/bootstrap test installs openssh-server).

The executor over the same sshd (docs/executor.md, Targets): an operator catalog action with only
an ssh template runs tests/tools/fs-test-action (which appends its argv, joined by spaces, to a
record file) on 127.0.0.2 with a note full of spaces and shell metacharacters. The step log shows
the exact ssh argv, the program ran once over ssh, the note arrived byte for byte (and the
canaries an evaluating shell would create never appear), the verify probe passed over ssh and the
incident resolved. Without tools.ssh_user the executor refuses to reach 127.0.0.2 at all."""
import json
import os
import shlex
import socket
import subprocess
import time
import uuid

import lib
from lib import check, free_port, wait_for
from test_executor import Env

SSHD = "/usr/sbin/sshd"
TARGET = "127.0.0.2"


def skip(why):
    print(f"      skipped: {why}", flush=True)


class Sshd:
    def __init__(self, ctx):
        self.dir = os.path.join(ctx.dir, "ssh")
        os.makedirs(self.dir)
        d = self.dir
        for name in ("host_key", "client_key", "other_host_key"):
            r = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name,
                                "-f", os.path.join(d, name)], capture_output=True, text=True,
                               timeout=30)
            check(r.returncode == 0, f"ssh-keygen: {r.stderr}")
        self.identity = os.path.join(d, "client_key")
        with open(os.path.join(d, "client_key.pub")) as f, \
                open(os.path.join(d, "authorized_keys"), "w") as a:
            a.write(f.read())
        self.port = free_port()
        self.conf = os.path.join(d, "sshd_config")
        with open(self.conf, "w") as f:
            f.write(f"""ListenAddress {TARGET}
Port {self.port}
HostKey {d}/host_key
AuthorizedKeysFile {d}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile {d}/sshd.pid
LogLevel VERBOSE
""")
        self.known_hosts = os.path.join(d, "known_hosts")
        self.bad_known_hosts = os.path.join(d, "bad_known_hosts")
        for path, key in ((self.known_hosts, "host_key"), (self.bad_known_hosts,
                                                            "other_host_key")):
            with open(os.path.join(d, key + ".pub")) as f, open(path, "w") as k:
                kind, blob = f.read().split()[:2]
                k.write(f"[{TARGET}]:{self.port} {kind} {blob}\n")
        # sshd refuses to start without its privilege separation directory
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = os.path.join(d, "sshd.log")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "w"))
        ctx.track(self.proc)

        def up():
            if self.proc.poll() is not None:
                raise lib.TestFailure(f"sshd exited {self.proc.returncode}: {self.logs()}")
            with socket.create_connection((TARGET, self.port), timeout=1):
                return True
        wait_for(up, 10, what="sshd to listen")

    def logs(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def tools_yaml(self, known_hosts=None, user="root"):
        """The tools: section of a configuration that reaches this sshd (no ssh_user when user
        is None)."""
        who = f"  ssh_user: {user}\n" if user else ""
        return f"""tools:
  timeout: 20s
{who}  ssh_port: {self.port}
  ssh_identity_file: {self.identity}
  ssh_known_hosts: {known_hosts or self.known_hosts}
  ssh_connect_timeout: 5s
"""

    def config(self, known_hosts=None):
        path = os.path.join(self.dir, f"forestall-{uuid.uuid4().hex[:6]}.yaml")
        with open(path, "w") as f:
            f.write(self.tools_yaml(known_hosts))
        return path

    def logins(self):
        return self.logs().count("Accepted publickey for root")


def call(config, tool, args, expect=0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORESTALL_")}
    r = subprocess.run([lib.BIN, "tool", "call", tool, json.dumps(args), "-c", config,
                        "--host", TARGET, "-o", "json"], capture_output=True, text=True,
                       env=env, timeout=60)
    check(r.returncode == expect,
          f"{tool} {args}: exit {r.returncode}, want {expect}\n{r.stdout}\n{r.stderr}")
    return json.loads(r.stdout)


def ready(ctx):
    if os.geteuid() != 0:
        skip("not root: sshd with UsePAM no can only log in as root here")
        return None
    if not os.access(SSHD, os.X_OK):
        skip(f"{SSHD} is missing (scripts/bootstrap test installs openssh-server)")
        return None
    return Sshd(ctx)


def test_ssh_host_tools_over_real_sshd(ctx):
    s = ready(ctx)
    if not s:
        return
    cfg = s.config()
    res = call(cfg, "host.fs_usage", {})
    fss = res["structured"]["filesystems"]
    check(not res["isError"] and fss and all("mount" in f for f in fss), res)
    check("Accepted publickey for root" in s.logs(), "sshd saw no login:\n" + s.logs())
    # a process on the far side: sshd itself
    pid = int(open(os.path.join(s.dir, "sshd.pid")).read())
    p = call(cfg, "host.process_info", {"pid": pid})["structured"]
    check(p["exists"] and p["pid"] == pid and p["cmd"] == "sshd" and p["user"] == "root", p)
    gone = call(cfg, "host.process_info", {"pid": 4194303})["structured"]
    check(gone == {"exists": False, "pid": 4194303}, gone)


def test_ssh_path_with_shell_metacharacters_arrives_verbatim(ctx):
    s = ready(ctx)
    if not s:
        return
    cfg = s.config()
    tag = uuid.uuid4().hex[:8]
    canaries = [f"/tmp/pwned-{tag}", f"/tmp/fs-canary2-{tag}", f"/tmp/fs-canary3-{tag}",
                f"/tmp/fs-canary4-{tag}"]
    base = os.path.join(ctx.dir, "weird dir")
    # the brief's name (an unbalanced quote: a naive shell would fail to parse it) and one a
    # naive shell would run happily; '/' inside them makes directories, which is fine
    names = [f"a b;$(touch {canaries[0]})'\"&|*.txt",
             f"$(touch {canaries[1]})`touch {canaries[2]}`;touch {canaries[3]};x &"]
    try:
        for i, name in enumerate(names):
            path = os.path.join(base, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(b"x" * (1000 + i))
            os.chmod(path, 0o640)
            st = call(cfg, "host.file_stat", {"path": path})["structured"]
            check(st["exists"] and st["type"] == "file" and st["size"] == 1000 + i and
                  st["mode"] == "0640" and st["path"] == path, f"{name!r}: {st}")
            for c in canaries:
                check(not os.path.exists(c), f"{c} exists: a shell evaluated {name!r}")
        # the directory with a space, and a path that is not there, over ssh too
        st = call(cfg, "host.file_stat", {"path": base})["structured"]
        check(st["exists"] and st["type"] == "dir", st)
        st = call(cfg, "host.file_stat", {"path": base + "/no such file;id"})["structured"]
        check(st["exists"] is False and "partial" not in st, st)
        # every call above went through sshd
        logins = s.logs().count("Accepted publickey for root")
        check(logins >= len(names) + 2, f"{logins} ssh logins for {len(names) + 2} calls")
    finally:
        for c in canaries:
            if os.path.exists(c):
                os.unlink(c)


def test_ssh_host_key_mismatch_is_refused(ctx):
    s = ready(ctx)
    if not s:
        return
    t0 = time.monotonic()
    res = call(s.config(known_hosts=s.bad_known_hosts), "host.memory", {}, expect=3)
    check(res["isError"] and f"ssh to {TARGET} failed" in res["text"] and
          ("Host key verification failed" in res["text"] or
           "HOST IDENTIFICATION HAS CHANGED" in res["text"]), res)
    check(res["structured"] is None, res)
    check(time.monotonic() - t0 < 20, "took too long")


# ---- the executor over ssh --------------------------------------------------------------------

# a permissive anchored pattern: spaces and ; $ ( ) ' " & | * ` are all allowed in a note
NOTE_PATTERN = r"""^[A-Za-z0-9 ;$()'"&|*`/._=-]+$"""


def _shell_quote(arg):
    """What fs_shell_quote (src/core/proc.c) makes of one remote word."""
    return "'" + arg.replace("'", "'\\''") + "'"


class SshExec(Env):
    """test_executor's Env whose operator catalog has one action, t_ssh_note, with only an ssh
    template: fs-test-action RECORD NOTE on the proposal's host, verified by host.file_stat on
    RECORD (over ssh too). The incident's instance is 127.0.0.2, so the target is in scope; the
    record lives where a space in its path needs quoting on the far side as well."""

    def __init__(self, ctx, sshd, ssh_user="root"):
        self.sshd = sshd
        super().__init__(ctx, catalog=self._catalog, extra=sshd.tools_yaml(user=ssh_user),
                         host=TARGET, work="ssh work dir")
        self.record = os.path.join(self.work, "record;1.log")

    @staticmethod
    def _catalog(tool, work):
        q = json.dumps
        return f"""version: "ssh-exec-test"
actions:
  - name: t_ssh_note
    description: Test action that records a note, on another host over ssh.
    category: log_cleanup
    tier: 1
    baseline_risk: 5
    reversible: true
    idempotent: "no"
    params:
      log: {{type: path, description: record file, under: [{q(work)}]}}
      note: {{type: string, description: a note, pattern: {q(NOTE_PATTERN)}, max_length: 200}}
    targets:
      ssh: {{argv: [{q(tool)}, "{{log}}", "{{note}}"]}}
    verify: {{probe: file_stat, args: {{path: "{{log}}"}}, expect: "exists", wait: 0s}}
    rollback: null
"""

    def propose_note(self, note):
        return self.propose("t_ssh_note", log=self.record, note=note)

    def run_executor(self):
        return self.run_ok()


    def steps(self, e):
        return [(r["state"], json.loads(r["detail"])) for r in self.q(
            "SELECT state, detail FROM exec_steps WHERE execution_id=? ORDER BY id", e["id"])]

    def incident_state(self):
        st, inc = self.d.get(f"/api/v1/incidents/{self.inc}")
        check(st == 200, inc)
        return inc.get("state")

    def record_lines(self):
        try:
            with open(self.record, "rb") as f:
                return f.read().split(b"\n")[:-1]
        except FileNotFoundError:
            return None


def _canaries():
    tag = uuid.uuid4().hex[:8]
    canaries = [f"/tmp/fs-ssh-exec-canary{i}-{tag}" for i in range(4)]
    # leading, trailing and doubled spaces (a word split would lose them), a command
    # substitution, backticks, an unbalanced double quote, a single quote, &, |, * and ;
    note = (f"  a  b;$(touch {canaries[0]}) `touch {canaries[1]}`;touch {canaries[2]};"
            f" 'it''s\" & | * ; x=$(touch {canaries[3]})  ")
    return note, canaries


def test_ssh_executor_runs_an_action_over_real_sshd_verbatim(ctx):
    s = ready(ctx)
    if not s:
        return
    env = SshExec(ctx, s)
    note, canaries = _canaries()
    try:
        prop = env.propose_note(note)
        check(s.logins() == 0, "an ssh login before the executor ran:\n" + s.logs())
        r = env.run_executor()
        check(f"{prop} t_ssh_note: intent → running ssh " in r.stdout and
              f"(ssh {TARGET})" in r.stdout and ": verified" in r.stdout, r.stdout)

        # the intent: kind ssh and the whole argv, every option from tools.ssh_*
        e = env.execution(prop)
        steps = env.steps(e)
        check([st for st, _ in steps] == ["intent", "started", "result", "verified"], steps)
        intent = steps[0][1]
        remote = [env.tool, env.record, note]
        want = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={s.known_hosts}", "-o", "ConnectTimeout=5",
                "-o", "IdentitiesOnly=yes", "-i", s.identity, "-p", str(s.port), "-l", "root",
                "--", TARGET, " ".join(_shell_quote(w) for w in remote)]
        check(intent["kind"] == "ssh" and intent["host"] == TARGET, intent)
        check(intent["argv"] == want, f"intent argv {intent['argv']}\nwant {want}")
        # the one remote argument is what a POSIX shell splits back into exactly those words
        check(shlex.split(intent["argv"][-1]) == remote, intent["argv"][-1])
        check(intent["params"]["note"] == note, intent["params"])
        check(e["target_kind"] == "ssh" and json.loads(e["spec"])["argv"] == want, e)

        # it ran exactly once, over ssh, and the note arrived byte for byte
        result = steps[2][1]
        check(result["exit_code"] == 0 and result["timed_out"] is False, result)
        lines = env.record_lines()
        check(lines is not None and len(lines) == 1, f"record file: {lines}")
        check(lines[0] == f"{env.record} {note}".encode(),
              f"the action recorded {lines[0]!r}\nwant {(env.record + ' ' + note).encode()!r}")
        for c in canaries:
            check(not os.path.exists(c), f"{c} exists: a shell evaluated the note")
        logs = s.logs()
        # the action and the verify probe (host.file_stat) each logged in and ran a command
        check(s.logins() >= 2 and logs.count("Starting session: command for root") >= 2,
              "sshd did not see the action and the probe:\n" + logs)

        # verified over ssh, succeeded, incident resolved
        verified = steps[3][1]
        check(verified["outcome"] == "succeeded" and verified["probe"]["passed"] is True,
              verified)
        check(e["outcome"] == "succeeded", e)
        check(env.incident_state() == "resolved", env.incident_state())

        # never twice: another pass of the executor runs nothing
        before = s.logins()
        env.run_executor()
        check(len(env.record_lines()) == 1 and s.logins() == before, "it ran again")
    finally:
        for c in canaries:
            if os.path.exists(c):
                os.unlink(c)


def test_ssh_executor_without_ssh_user_refuses_another_host(ctx):
    s = ready(ctx)
    if not s:
        return
    env = SshExec(ctx, s, ssh_user=None)
    note, canaries = _canaries()
    try:
        prop = env.propose_note(note)
        r = env.run_executor()
        check("refused →" in r.stdout and "tools.ssh_user is not set" in r.stdout, r.stdout)
        e = env.execution(prop)
        steps = env.steps(e)
        check([st for st, _ in steps] == ["refused"], steps)
        detail = steps[0][1]
        check(detail["outcome"] == "refused" and TARGET in detail["reason"] and
              "tools.ssh_user is not set" in detail["reason"], detail)
        check(e["outcome"] == "refused", e)
        check(env.incident_state() == "escalated", env.incident_state())
        # nothing ran: no record, no canary, sshd never saw a login
        check(env.record_lines() is None, env.record_lines())
        for c in canaries:
            check(not os.path.exists(c), f"{c} exists")
        check(s.logins() == 0 and "Starting session" not in s.logs(), s.logs())
    finally:
        for c in canaries:
            if os.path.exists(c):
                os.unlink(c)
