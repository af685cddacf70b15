"""Durability: a 2xx means the alert is on disk. SIGKILL storms, a failed fsync of a commit or
of a WAL checkpoint (fail-stop, exit 6), a full disk (transient 503), a busy store (transient
503), and concurrent requests sharing commits (group commit)."""
import http.client
import json
import random
import re
import threading
import time

from lib import am_alert, am_webhook, check, check_store_invariants

AM_PATH = "/api/v1/alerts/alertmanager"
HEADERS = {"Content-Type": "application/json"}


def _fp_alert(fp, n=0):
    """An alert with an explicit 16-hex-digit fingerprint that is also one of its labels."""
    labels = {"alertname": "StormAlert", "uid": fp, "severity": "warning"}
    return am_alert(labels, annotations={"n": str(n)}, starts_at="2026-11-21T10:00:00Z",
                    fingerprint=fp)


def _error_code(data):
    try:
        return json.loads(data)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


class _Conn:
    """One keep-alive connection that reconnects after any transport error."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.conn = None
        self.headers = {}

    def post(self, path, body):
        """(status, body bytes) or (None, exception) on a transport error."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request("POST", path, body=body, headers=HEADERS)
            r = self.conn.getresponse()
            data = r.read()
            self.headers = {k.lower(): v for k, v in r.getheaders()}
            if r.status == 503 and "retry-after" not in self.headers:
                return 599, b"503 without a Retry-After header: " + data
            if (r.getheader("Connection") or "").lower() == "close":
                self.close()
            return r.status, data
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return None, e

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _db_fingerprints(d):
    db = d.db()
    try:
        eps = db.execute("SELECT fingerprint, count(*) FROM episodes "
                         "GROUP BY fingerprint").fetchall()
        unapplied = db.execute("SELECT count(*) FROM inbox WHERE applied = 0").fetchone()[0]
    finally:
        db.close()
    return dict(eps), unapplied


def test_kill9_storm_loses_no_acknowledged_alert(ctx):
    rng = random.Random(20261121)
    d = ctx.daemon().start()
    port = d.port
    min_alerts, min_kills, threads = 5000, 12, 8
    lock = threading.Lock()
    state = {"next": 0, "sent": 0, "acked": [], "unacked": [], "statuses": {}, "errors": 0,
             "bad": []}
    stop = threading.Event()
    hard_deadline = time.monotonic() + 60

    def next_fps(k):
        with lock:
            base = state["next"]
            state["next"] += k
            state["sent"] += k
        return [f"5e{base + i:014x}" for i in range(k)]

    def sender(seed):
        r = random.Random(seed)
        c = _Conn(port, timeout=10)
        while not stop.is_set():
            fps = next_fps(r.randint(1, 10))
            body = json.dumps(am_webhook([_fp_alert(fp) for fp in fps]))
            acked = False
            while time.monotonic() < hard_deadline:
                st, data = c.post(AM_PATH, body)
                with lock:
                    if st is None:
                        state["errors"] += 1
                    else:
                        key = f"{st} {_error_code(data) or ''}".strip()
                        state["statuses"][key] = state["statuses"].get(key, 0) + 1
                if st is not None and 200 <= st < 300:
                    acked = True
                    break
                if st is not None and st != 503:
                    with lock:
                        state["bad"].append((st, data[:300]))
                    break
                time.sleep(0.02)
            with lock:
                state["acked" if acked else "unacked"].extend(fps)
        c.close()

    workers = [threading.Thread(target=sender, args=(rng.random(),), daemon=True)
               for _ in range(threads)]
    t0 = time.monotonic()
    for w in workers:
        w.start()
    kills, restarts_killed = 0, [0]
    try:
        while kills < min_kills or state["sent"] < min_alerts:
            check(time.monotonic() < hard_deadline - 15,
                  f"storm too slow: {kills} kills, {state['sent']} alerts sent")
            time.sleep(rng.uniform(0.25, 0.7))
            d.kill9()
            kills += 1
            if rng.random() < 0.3:
                # sometimes again right after it starts listening, before it is ready
                d.start(port=port, wait_ready=False)
                time.sleep(rng.uniform(0, 0.03))
                d.kill9()
                kills += 1
                restarts_killed[0] += 1
            d.start(port=port)
    finally:
        stop.set()
        for w in workers:
            w.join(max(1.0, hard_deadline - time.monotonic()))
    storm = time.monotonic() - t0
    check(not any(w.is_alive() for w in workers), "senders did not finish")
    d.stop()
    check(not state["bad"], f"unexpected non-503 errors during the storm: {state['bad'][:5]}")
    eps, unapplied = _db_fingerprints(d)
    acked = state["acked"]
    missing = [fp for fp in acked if fp not in eps]
    dups = {fp: n for fp, n in eps.items() if n != 1}
    print(f"    kill -9 storm: sent={state['sent']} acked={len(acked)} "
          f"unacked={len(state['unacked'])} kills={kills} (during startup: {restarts_killed[0]}) "
          f"time={storm:.1f}s "
          f"transport_errors={state['errors']} responses={state['statuses']}")
    check(len(acked) >= min_alerts, f"only {len(acked)} alerts acknowledged")
    check(not missing, f"{len(missing)} acknowledged alerts are not in the store, e.g. "
          f"{missing[:5]}")
    check(not dups, f"fingerprints with more than one episode: {list(dups.items())[:5]}")
    check(unapplied == 0, f"{unapplied} inbox rows are stored but not applied")
    check_store_invariants(d)


def _start_with_fault(ctx, spec):
    """A daemon whose store already exists (so that the fault counts start at the first
    request, not inside the schema migration), restarted with FORESTALL_FAULT=spec."""
    d = ctx.daemon().start()
    d.stop()
    d.env["FORESTALL_FAULT"] = spec
    return d.start()


def _post_one(c, fp, n=0):
    return c.post(AM_PATH, json.dumps(am_webhook([_fp_alert(fp, n)])))


def test_fsync_failure_fails_stop_and_acks_nothing_after(ctx):
    d = _start_with_fault(ctx, "store.fsync@20")
    c = _Conn(d.port, timeout=10)
    acked, after = [], []
    failed_at = None
    for i in range(400):
        fp = f"f5{i:014x}"
        st, data = _post_one(c, fp)
        if failed_at is None:
            if st is not None and 200 <= st < 300:
                acked.append(fp)
                continue
            check(st == 503 and _error_code(data) == "store_failed",
                  f"first failure after {len(acked)} acks: {st} {data!r}")
            failed_at = i
            # readiness turns 503 (until the process exits by itself)
            try:
                rst, _ = d.get("/readyz")
                check(rst == 503, f"/readyz after the failed fsync: {rst}")
            except OSError:
                pass
            continue
        after.append((st, data if st is None else _error_code(data)))
        check(st is None or st == 503, f"after the fail-stop: {st} {data!r}")
        if st is None and d.proc.poll() is not None:
            break
        time.sleep(0.05)
    print(f"    fsync fault: {len(acked)} acked, then {after}")
    check(failed_at is not None, "the injected fsync failure never surfaced")
    check(len(acked) > 0, "nothing was acknowledged before the injected failure")
    check(any(a[0] == 503 and a[1] == "store_failed" for a in after) or d.proc.poll() is not None,
          f"no store_failed after the failure: {after}")
    try:
        rc = d.proc.wait(5)
    except Exception:  # noqa: BLE001
        raise AssertionError("the daemon did not exit by itself within 5s of the fail-stop")
    c.close()
    check(rc == 6, f"fail-stop exit code {rc}, expected 6:\n{d.stderr()[-2000:]}")
    check("fail-stop" in d.stderr(), "stderr does not mention the fail-stop")
    d.env.pop("FORESTALL_FAULT")
    d.start()
    d.stop()
    eps, unapplied = _db_fingerprints(d)
    missing = [fp for fp in acked if fp not in eps]
    check(not missing, f"acknowledged before the fail-stop but lost: {missing}")
    check(unapplied == 0, f"{unapplied} unapplied inbox rows after the restart")
    check_store_invariants(d)


def _transient_workload(d, prefix, n, code):
    """Fire and then resolve n alerts one request at a time, retrying a request while it is
    answered 503 `code`. Returns (503 count, other answers)."""
    c = _Conn(d.port, timeout=10)
    transient, others = 0, []
    for i in range(n):
        fp = f"{prefix}{i:014x}"
        for status in ("firing", "resolved"):
            a = _fp_alert(fp)
            if status == "resolved":
                a.update(status="resolved", endsAt="2026-11-21T10:05:00Z")
            body = json.dumps(am_webhook([a]))
            for _ in range(50):
                st, data = c.post(AM_PATH, body)
                if st is not None and 200 <= st < 300:
                    break
                if st == 503 and _error_code(data) == code:
                    transient += 1
                    time.sleep(0.01)
                    continue
                others.append((fp, status, st, data))
                break
            else:
                others.append((fp, status, "never acknowledged"))
    c.close()
    return transient, others


def _check_all_resolved(d, prefix, n):
    db = d.db()
    try:
        rows = db.execute("SELECT fingerprint, status, ends_at FROM episodes WHERE fingerprint "
                          "LIKE ?", (prefix + "%",)).fetchall()
        unapplied = db.execute("SELECT count(*) FROM inbox WHERE applied = 0").fetchone()[0]
    finally:
        db.close()
    by_fp = {}
    for fp, status, _ in rows:
        by_fp.setdefault(fp, []).append(status)
    wrong = {f"{prefix}{i:014x}": by_fp.get(f"{prefix}{i:014x}") for i in range(n)
             if by_fp.get(f"{prefix}{i:014x}") != ["resolved"]}
    check(not wrong, f"{len(wrong)} alerts whose firing and resolve were acknowledged are not "
          f"one resolved episode: {list(wrong.items())[:5]}")
    check(unapplied == 0, f"{unapplied} unapplied inbox rows")
    check_store_invariants(d)


def test_disk_full_is_transient_503(ctx):
    # Every commit writes WAL frames; three writes from the 40th fail with ENOSPC.
    d = _start_with_fault(ctx, "store.full@40x3")
    full, others = _transient_workload(d, "d1", 60, "disk_full")
    print(f"    disk full: 120 requests acknowledged, {full} answered 503 disk_full first")
    check(not others, f"answers other than 2xx / 503 disk_full: {others[:5]}")
    check(full >= 1, "no request was answered 503 disk_full")
    st, _ = d.get("/readyz")
    check(st == 200, f"/readyz after a full disk: {st} (a full disk must not fail-stop)")
    check(_metric_value(d, "forestall_store_failstop") == 0, "fail-stop after a full disk")
    d.stop()
    _check_all_resolved(d, "d1", 60)


def test_store_busy_is_503_store_busy(ctx):
    # The write lock cannot be taken for 5 group commits of requests from the 2nd; what the
    # daemon does at startup on its own does not count, so this holds whatever the timing.
    d = _start_with_fault(ctx, "intake.busy@2x5")
    busy, others = _transient_workload(d, "b5", 10, "store_busy")
    print(f"    store busy: 20 requests acknowledged, {busy} answered 503 store_busy first")
    check(not others, f"answers other than 2xx / 503 store_busy: {others[:5]}")
    check(busy >= 1, "no request was answered 503 store_busy")
    st, _ = d.get("/readyz")
    check(st == 200, f"/readyz after store_busy: {st}")
    d.stop()
    _check_all_resolved(d, "b5", 10)


def _metric_value(d, name):
    st, _, data = d.get("/metrics", raw=True)
    check(st == 200, f"/metrics: {st}")
    m = re.search("^" + re.escape(name) + r" (\S+)$", data.decode(), re.M)
    check(m is not None, f"{name} not in /metrics")
    return float(m.group(1))


def test_checkpoint_fsync_failure_fails_stop(ctx):
    # The checkpointer's fsync of the database file fails after its 2nd checkpoint that copied
    # pages (the fault point store.checkpoint_fsync counts only those), i.e. while requests are
    # being acknowledged; every commit is fine. The daemon must stop acknowledging all the same.
    d = _start_with_fault(ctx, "store.checkpoint_fsync@2x1")
    c = _Conn(d.port, timeout=10)
    acked, after = [], []
    failed_at, metric = None, None
    deadline = time.monotonic() + 4
    i = 0
    while time.monotonic() < deadline and d.proc.poll() is None:
        fp = f"c5{i:014x}"
        i += 1
        st, data = _post_one(c, fp)
        if failed_at is None:
            if st is not None and 200 <= st < 300:
                acked.append(fp)
                time.sleep(0.005)
                continue
            check(st == 503 and _error_code(data) == "store_failed",
                  f"first failure after {len(acked)} acks: {st} {data!r}")
            failed_at = time.monotonic()
            try:
                st, _, text = d.get("/metrics", raw=True)
                if st == 200:  # else already draining, on its way to exit 6
                    metric = re.search(r"^forestall_store_failstop (\S+)$", text.decode(), re.M)
                    check(metric and float(metric.group(1)) == 1,
                          f"forestall_store_failstop after the fail-stop: {metric}")
            except OSError:
                pass
            continue
        after.append(st if st is None else (st, _error_code(data)))
        check(st is None or st == 503, f"acknowledged after the fail-stop: {st} {data!r}")
        time.sleep(0.005)
    c.close()
    print(f"    checkpoint fsync fault: {len(acked)} acked, then {len(after)} refused "
          f"({sorted(set(map(str, after)))}), /metrics seen: {metric is not None}")
    check(failed_at is not None, f"the daemon kept acknowledging ({len(acked)} posts) after "
          f"the injected checkpoint fsync failure")
    check(len(acked) > 0, "nothing was acknowledged before the injected failure")
    try:
        rc = d.proc.wait(5)
    except Exception:  # noqa: BLE001
        raise AssertionError("the daemon did not exit by itself within 5s of the fail-stop")
    d.check_sanitizers()
    err = d.stderr()
    check(rc == 6, f"fail-stop exit code {rc}, expected 6:\n{err[-2000:]}")
    check(re.search(r"fail-stop.*WAL checkpoint", err),
          f"the fail-stop log line does not say that the checkpoint failed:\n{err[-2000:]}")
    d.env.pop("FORESTALL_FAULT")
    d.start()
    d.stop()
    eps, unapplied = _db_fingerprints(d)
    missing = [fp for fp in acked if fp not in eps]
    check(not missing, f"acknowledged before the fail-stop but lost: {missing[:10]}")
    check(all(eps[fp] == 1 for fp in acked), "an acknowledged alert has more than one episode")
    check(unapplied == 0, f"{unapplied} unapplied inbox rows after the restart")
    check_store_invariants(d)


def test_group_commit_shares_commits(ctx):
    d = ctx.daemon().start()
    threads, per_thread = 32, 30

    def batch_metrics():
        st, _, text = d.get("/metrics", raw=True)
        check(st == 200, f"/metrics: {st}")
        text = text.decode()
        vals = {}
        for suffix in ("sum", "count"):
            m = re.search(rf"^forestall_store_commit_batch_size_{suffix} (\S+)$", text, re.M)
            check(m is not None, f"forestall_store_commit_batch_size_{suffix} not in /metrics")
            vals[suffix] = float(m.group(1))
        return vals

    before = batch_metrics()
    lock = threading.Lock()
    acked, others = [], []
    start = threading.Barrier(threads)

    def sender(t):
        c = _Conn(d.port, timeout=10)
        start.wait()
        for n in range(per_thread):
            fp = f"9c{t:02x}{n:012x}"
            st, data = _post_one(c, fp)
            with lock:
                if st is not None and 200 <= st < 300:
                    acked.append(fp)
                else:
                    others.append((fp, st, data if st is None else data[:200]))
        c.close()

    t0 = time.monotonic()
    workers = [threading.Thread(target=sender, args=(t,), daemon=True) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    took = time.monotonic() - t0
    check(not any(w.is_alive() for w in workers), "senders did not finish within 30s")
    after = batch_metrics()
    requests = after["sum"] - before["sum"]
    commits = after["count"] - before["count"]
    print(f"    group commit: {threads}x{per_thread} posts in {took:.2f}s, {len(acked)} acked, "
          f"{requests:.0f} requests in {commits:.0f} commits "
          f"(mean {requests / max(commits, 1):.1f} per commit)")
    check(not others, f"{len(others)} posts not acknowledged: {others[:5]}")
    check(requests >= threads * per_thread, f"commit_batch_size_sum grew by {requests}, "
          f"fewer than the {threads * per_thread} requests sent")
    check(commits > 0 and requests / commits > 1,
          f"no group commit: {requests:.0f} requests took {commits:.0f} commits")
    d.stop()
    eps, unapplied = _db_fingerprints(d)
    missing = [fp for fp in acked if eps.get(fp) != 1]
    check(not missing, f"{len(missing)} acknowledged alerts are not exactly one episode in the "
          f"store: {missing[:5]}")
    check(unapplied == 0, f"{unapplied} unapplied inbox rows")
    check_store_invariants(d)
