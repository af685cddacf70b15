"""The ssh target against a REAL sshd: a throwaway OpenSSH server on loopback (its own host key,
an authorized client key, a known_hosts file with exactly that host key), and host tools run
through `forestall tool call --host` with the tools.ssh_* settings. Proves that a path full of
spaces and shell metacharacters arrives on the far side verbatim (the tool sees the file; the
canaries its name would create if a shell ever evaluated it never appear), that a host key
mismatch is refused, and that a missing path or process is an answer over ssh too.

The target is 127.0.0.2 (still loopback): `forestall tool call` treats 127.0.0.1 as this
machine and would run the tool locally. Needs root (sshd with UsePAM no logs in as root) and
/usr/sbin/sshd (scripts/bootstrap test installs openssh-server)."""
import json
import os
import socket
import subprocess
import time
import uuid

import lib
from lib import check, free_port, wait_for

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
