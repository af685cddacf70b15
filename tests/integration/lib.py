"""Shared harness for forestall's integration tests: start the daemon and real peers on
loopback, talk HTTP, and clean up by PID. Standard library only."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = ""     # path to the forestall binary (set by run.py)
TOOLS = ""   # directory of helper binaries built from tests/tools (set by run.py)

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


class TestFailure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


# Set by run.py -j: this test's block of PORTS_PER_BLOCK ports, numbered from PORT_BASE, below
# the ephemeral range (32768-) so that no client socket of another test can take one of them.
PORT_BLOCK = None
PORT_BASE, PORTS_PER_BLOCK = 10000, 80
_next_port = 0


def free_port():
    global _next_port
    if PORT_BLOCK is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    while _next_port < PORTS_PER_BLOCK:
        port = PORT_BASE + PORT_BLOCK * PORTS_PER_BLOCK + _next_port
        _next_port += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError(f"test block {PORT_BLOCK}: no free port left among {PORTS_PER_BLOCK}")


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        time.sleep(interval)
    raise TestFailure(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_request(url, method="GET", body=None, headers=None, timeout=30.0):
    """Return (status, headers dict, body bytes)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    path = u.path + (("?" + u.query) if u.query else "")
    hdrs = dict(headers or {})
    if body is not None and isinstance(body, str):
        body = body.encode()
    try:
        conn.request(method, path or "/", body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


class Daemon:
    """A running `forestall serve`."""

    def __init__(self, ctx, name, config=None, env=None, args=None, data_dir=None):
        self.ctx = ctx
        self.name = name
        self.dir = os.path.join(ctx.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.dir, "forestall.yaml")
            with open(self.config_path, "w") as f:
                f.write(config)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.extra_args = list(args or [])
        self.proc = None
        self.url = None
        self.runs = 0
        self.logs = []

    def command(self, listen=None):
        cmd = [BIN, "serve", "--data-dir", self.data_dir,
               "--listen", listen or f"127.0.0.1:{self.port if self.url else 0}"]
        if self.config_path:
            cmd += ["-c", self.config_path]
        return cmd + self.extra_args

    def start(self, wait_ready=True, port=None):
        self.runs += 1
        log = os.path.join(self.dir, f"stderr.{self.runs}")
        out = os.path.join(self.dir, f"stdout.{self.runs}")
        self.logs.append(log)
        listen = f"127.0.0.1:{port}" if port else (
            f"127.0.0.1:{self.port}" if self.url else "127.0.0.1:0")
        self.proc = subprocess.Popen(self.command(listen), stdout=open(out, "w"),
                                     stderr=open(log, "w"), env=self.env)
        self.ctx.track(self.proc)

        def listening():
            if self.proc.poll() is not None:
                raise TestFailure(f"forestall exited with {self.proc.returncode}:\n"
                                  + self.stderr())
            with open(out) as f:
                m = re.search(r"listening on (http://\S+)", f.read())
            return m.group(1) if m else None

        self.url = wait_for(listening, 15, what="forestall to listen")
        self.port = int(self.url.rsplit(":", 1)[1])
        if wait_ready:
            wait_for(lambda: self.get("/readyz")[0] == 200, 10, what="/readyz")
        return self

    def stdout(self):
        with open(os.path.join(self.dir, f"stdout.{self.runs}")) as f:
            return f.read()

    def stderr(self, run=None):
        with open(self.logs[(run or self.runs) - 1], errors="replace") as f:
            return f.read()

    def headers(self, extra=None):
        h = {"Content-Type": "application/json"}
        tok = self.env.get("FORESTALL_TOKEN")
        if tok:
            h["Authorization"] = "Bearer " + tok
        h.update(extra or {})
        return h

    def post(self, path, body, headers=None, raw=False, timeout=30.0):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        st, hd, data = http_request(self.url + path, "POST", body, self.headers(headers),
                                    timeout=timeout)
        return (st, hd, data) if raw else (st, _json(data))

    def get(self, path, headers=None, raw=False):
        st, hd, data = http_request(self.url + path, "GET", None, self.headers(headers))
        return (st, hd, data) if raw else (st, _json(data))

    def incidents(self, **query):
        q = dict(limit=0)
        q.update(query)
        st, body = self.get("/api/v1/incidents?" + urllib.parse.urlencode(q))
        check(st == 200, f"GET incidents: {st} {body}")
        return body

    def cli(self, *args, env=None, input=None, timeout=30):
        e = dict(self.env)
        e["FORESTALL_URL"] = self.url
        e.update(env or {})
        return subprocess.run([BIN, *args], capture_output=True, text=True, env=e,
                              input=input, timeout=timeout)

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20, expect=0):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise TestFailure(f"forestall did not exit within {timeout}s of {sig}")
        self.check_sanitizers()
        if expect is not None:
            check(rc == expect, f"forestall exited {rc}, expected {expect}:\n" + self.stderr())
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def check_sanitizers(self):
        for log in self.logs:
            with open(log, errors="replace") as f:
                text = f.read()
            for mark in SANITIZER_MARKS:
                if mark in text:
                    raise TestFailure(f"sanitizer report in {log}:\n{text[-4000:]}")

    def db(self):
        """A read-only sqlite3 connection to the store (for checks after the daemon stopped)."""
        import sqlite3
        return sqlite3.connect(f"file:{os.path.join(self.data_dir, 'forestall.db')}?mode=ro",
                               uri=True)


def _json(data):
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data


class Alertmanager:
    """A real Alertmanager (Debian's prometheus-alertmanager) on loopback."""

    def __init__(self, ctx, webhook_url=None, group_wait="1s", group_interval="2s",
                 repeat_interval="1h", send_resolved=True, receiver="forestall",
                 config_yaml=None):
        """One receiver posting webhooks to webhook_url, or a whole configuration file given
        as text in config_yaml (routes, several receivers, inhibit rules...)."""
        self.ctx = ctx
        self.dir = tempfile.mkdtemp(dir=ctx.dir, prefix="am-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(self.dir, "am.yml")
        with open(cfg, "w") as f:
            f.write(config_yaml or f"""route:
  receiver: {receiver}
  group_by: ['alertname', 'instance']
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: {repeat_interval}
receivers:
  - name: {receiver}
    webhook_configs:
      - url: {webhook_url}
        send_resolved: {'true' if send_resolved else 'false'}
""")
        self.log = os.path.join(self.dir, "stderr")
        self.proc = subprocess.Popen(
            ["prometheus-alertmanager", f"--config.file={cfg}",
             f"--storage.path={self.dir}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--cluster.listen-address=", f"--web.external-url={self.url}"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        ctx.track(self.proc)
        wait_for(lambda: http_request(self.url + "/-/ready")[0] == 200, 15,
                 what="Alertmanager ready")

    def post_alerts(self, alerts):
        st, _, data = http_request(self.url + "/api/v2/alerts", "POST", json.dumps(alerts),
                                   {"Content-Type": "application/json"})
        check(st == 200, f"Alertmanager POST /api/v2/alerts: {st} {data!r}")

    def alerts(self):
        st, _, data = http_request(self.url + "/api/v2/alerts")
        check(st == 200, f"Alertmanager GET /api/v2/alerts: {st}")
        return json.loads(data)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Context:
    """Per-test state: a temporary directory and every process the test started."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="fs-it-")
        self.procs = []
        self.daemons = []
        self.failed = True

    def track(self, proc):
        self.procs.append(proc)

    def daemon(self, name="forestall", **kw):
        d = Daemon(self, name, **kw)
        self.daemons.append(d)
        return d

    def alertmanager(self, webhook_url, **kw):
        return Alertmanager(self, webhook_url, **kw)

    def finish(self):
        for d in self.daemons:
            d.check_sanitizers()
        self.failed = False

    def dump_logs(self):
        for d in self.daemons:
            for log in d.logs:
                try:
                    with open(log, errors="replace") as f:
                        tail = f.read()[-3000:]
                    print(f"--- {log} (tail)\n{tail}")
                except OSError:
                    pass

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(5)
                except Exception:  # noqa: BLE001
                    pass
        if not self.failed or not os.environ.get("FORESTALL_KEEP_FAILED"):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"kept {self.dir}")


def am_alert(labels, annotations=None, starts_at=None, ends_at=None, status="firing",
             fingerprint=None):
    """One alert as it appears inside an Alertmanager webhook body."""
    a = {"status": status, "labels": labels, "annotations": annotations or {},
         "startsAt": starts_at or "2026-11-21T10:00:00Z",
         "endsAt": ends_at or "0001-01-01T00:00:00Z",
         "generatorURL": "http://prometheus:9090/graph"}
    if fingerprint:
        a["fingerprint"] = fingerprint
    return a


def am_webhook(alerts, status=None, receiver="forestall"):
    """An Alertmanager webhook (version 4) body around alerts."""
    common = {}
    if alerts:
        common = dict(alerts[0]["labels"])
        for a in alerts[1:]:
            common = {k: v for k, v in common.items() if a["labels"].get(k) == v}
    st = status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved")
    return {"receiver": receiver, "status": st, "alerts": alerts,
            "groupLabels": {"alertname": common.get("alertname", "")},
            "commonLabels": common, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "version": "4",
            "groupKey": "{}:{alertname=\"%s\"}" % common.get("alertname", ""),
            "truncatedAlerts": 0}


# ---- appended helpers: metrics text, raw HTTP, more real peers ---------------------------------

_METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
_METRIC_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text exposition → {"types": {family: type}, "samples": [(name, labels, value)]}.
    Raises TestFailure on a line that is not valid exposition syntax."""
    types, samples = {}, []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# TYPE "):
            parts = line.split()
            check(len(parts) == 4, f"bad TYPE line: {line!r}")
            types[parts[2]] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = _METRIC_LINE.match(line)
        check(m is not None, f"not a valid exposition line: {line!r}")
        labels = dict(_METRIC_LABEL.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return {"types": types, "samples": samples}


def metric_value(parsed, name, **labels):
    """The value of the one sample `name` whose labels include `labels`; None if absent."""
    for n, l, v in parsed["samples"]:
        if n == name and all(l.get(k) == str(x) for k, x in labels.items()):
            return v
    return None


def scrape(daemon):
    """GET /metrics of a Daemon (no token needed), parsed with parse_metrics."""
    st, hd, data = http_request(daemon.url + "/metrics")
    check(st == 200, f"GET /metrics: {st} {data[:200]!r}")
    return parse_metrics(data.decode())


def raw_http_request(url, method, body, headers=None, timeout=30.0):
    """Send a request with an explicit Content-Length over a raw socket while reading the
    answer concurrently, so a server that answers (and closes) before reading the whole body
    is seen answering instead of as a broken pipe. Returns (status, headers dict, body bytes,
    send error or None)."""
    import threading
    u = urllib.parse.urlsplit(url)
    path = (u.path or "/") + (("?" + u.query) if u.query else "")
    hdrs = {"Host": f"{u.hostname}:{u.port}", "Content-Length": str(len(body))}
    hdrs.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    send_err = []

    def sender():
        try:
            view = memoryview(body)
            for i in range(0, len(view), 65536):
                s.sendall(view[i:i + 65536])
        except OSError as e:
            send_err.append(e)

    try:
        s.sendall((head + "\r\n").encode())
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        data = b""
        want = None
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
            if want is None and b"\r\n\r\n" in data:
                hpart = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
                m = re.search(r"(?im)^content-length:\s*(\d+)", hpart)
                want = len(hpart) + 4 + int(m.group(1)) if m else -1
            if want is not None and want >= 0 and len(data) >= want:
                break
        t.join(timeout)
    finally:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
    check(b"\r\n\r\n" in data, f"no HTTP response (got {data[:200]!r}, send error {send_err})")
    hpart, rest = data.split(b"\r\n\r\n", 1)
    lines = hpart.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    rh = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        rh[k.strip().lower()] = v.strip()
    return status, rh, rest, (send_err[0] if send_err else None)


class NodeExporter:
    """A real prometheus-node-exporter on loopback with a textfile collector directory."""

    def __init__(self, ctx):
        self.dir = tempfile.mkdtemp(dir=ctx.dir, prefix="nodeexp-")
        self.textfile_dir = os.path.join(self.dir, "textfile")
        os.makedirs(self.textfile_dir)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"
        self.proc = subprocess.Popen(
            ["prometheus-node-exporter", f"--web.listen-address={self.address}",
             f"--collector.textfile.directory={self.textfile_dir}", "--no-collector.systemd"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"))
        ctx.track(self.proc)
        wait_for(lambda: http_request(self.url + "/metrics")[0] == 200, 15,
                 what="node_exporter ready")

    def set_textfile(self, name, text):
        """Atomically replace DIR/name.prom (write a temp file, then rename)."""
        final = os.path.join(self.textfile_dir, name + ".prom")
        tmp = final + ".tmp"
        with open(tmp, "w") as f:
            f.write(text if text.endswith("\n") else text + "\n")
        os.rename(tmp, final)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Prometheus:
    """A real Prometheus on loopback: scrapes `targets` every second, evaluates `rules_yaml`
    (the text of a rule file) every second and sends alerts to `alertmanager_url`."""

    def __init__(self, ctx, targets, rules_yaml, alertmanager_url, job="node"):
        self.dir = tempfile.mkdtemp(dir=ctx.dir, prefix="prom-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write(rules_yaml)
        am = urllib.parse.urlsplit(alertmanager_url)
        cfg = os.path.join(self.dir, "prom.yml")
        with open(cfg, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['{rules}']
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['{am.hostname}:{am.port}']
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: {json.dumps(list(targets))}
""")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", f"--web.external-url={self.url}/"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"))
        ctx.track(self.proc)
        wait_for(lambda: http_request(self.url + "/-/ready")[0] == 200, 20,
                 what="Prometheus ready")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


def am_fingerprint(labels):
    """The fingerprint Prometheus and Alertmanager give a label set (model.LabelSet.Fingerprint):
    FNV-1a 64 over the label names in byte order, each followed by 0xff, its value and 0xff;
    16 lowercase hex digits."""
    h = 0xcbf29ce484222325
    for name in sorted(labels, key=lambda s: s.encode()):
        for part in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in part:
                h ^= byte
                h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def utc_rfc3339(t=None):
    """t (Unix seconds, default now) as an RFC 3339 UTC timestamp with milliseconds."""
    import datetime
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def check_store_invariants(d):
    """After the daemon stopped: the store's incidents agree with their episodes (open_episodes
    counts the firing episodes; an incident is open exactly when it has one), every episode
    belongs to an incident, and no inbox row is left unapplied."""
    db = d.db()
    try:
        bad = db.execute(
            "SELECT i.id, i.status, i.open_episodes, "
            "(SELECT count(*) FROM episodes e WHERE e.incident_id = i.id AND e.status = 'firing')"
            " AS firing FROM incidents i").fetchall()
        orphans = db.execute("SELECT count(*) FROM episodes e WHERE NOT EXISTS "
                             "(SELECT 1 FROM incidents i WHERE i.id = e.incident_id)").fetchone()[0]
        unapplied = db.execute("SELECT count(*) FROM inbox WHERE applied = 0").fetchone()[0]
    finally:
        db.close()
    wrong = [r for r in bad if r[2] != r[3] or (r[1] == "open") != (r[3] > 0)]
    check(not wrong, f"{len(wrong)} incidents disagree with their episodes "
          f"(id, status, open_episodes, firing episodes): {wrong[:5]}")
    check(orphans == 0, f"{orphans} episodes without an incident")
    check(unapplied == 0, f"{unapplied} inbox rows stored but not applied")


# ---- a small real filesystem to fill (test-peers.md) ------------------------------------

def journal_name(i):
    # the name systemd gives an archived journal file: system@SEQNUM_ID-SEQNUM-REALTIME.journal
    return f"system@{'0123456789abcdef' * 2}-{i:016x}-{0x5f0a1b2c3d4e0 + i:016x}.journal"


class Tmpfs:
    """A small real filesystem below /var/log (where the catalog's log cleanups may act)."""

    def __init__(self, size="32m"):
        self.path = f"/var/log/forestall-e2e-{uuid.uuid4().hex[:8]}"
        os.makedirs(self.path)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", self.path],
                       check=True)

    def usage_pct(self):
        st = os.statvfs(self.path)
        return 100.0 * (1 - st.f_bavail / st.f_blocks)

    def remove(self):
        subprocess.run(["umount", "-l", self.path], check=False)
        try:
            os.rmdir(self.path)
        except OSError:
            pass


def fill_journal(dirpath, files, size):
    os.makedirs(dirpath, exist_ok=True)
    for i in range(1, files + 1):
        with open(os.path.join(dirpath, journal_name(i)), "wb") as f:
            f.write(os.urandom(size))


KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


class KubeStandin:
    """tests/integration/standin_kube.py (the Kubernetes API stand-in) started in dirpath, its
    requests logged to dirpath/requests.log, and a kubeconfig (dirpath/kubeconfig) for it. The
    tests run the real kubectl against it."""

    def __init__(self, ctx, dirpath):
        check(os.access(KUBECTL, os.X_OK),
              f"{KUBECTL} is missing: these tests need the real kubectl (it is not a Debian "
              "package; the test machines have it)")
        import standin_kube
        os.makedirs(dirpath)
        portfile = os.path.join(dirpath, "port")
        self.log = os.path.join(dirpath, "requests.log")
        open(self.log, "w").close()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "standin_kube.py"), portfile, self.log],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(dirpath, "stderr"), "w"))
        ctx.track(self.proc)
        self.port = int(wait_for(lambda: open(portfile).read() if os.path.exists(portfile)
                                 else None, 10, what="the Kubernetes stand-in"))
        self.kubeconfig = os.path.join(dirpath, "kubeconfig")
        with open(self.kubeconfig, "w") as f:
            f.write(standin_kube.kubeconfig(self.port))

