"""Process lifecycle: SIGTERM drains in-flight requests (/readyz answering 503 shutting_down
meanwhile) and exits 0, SIGHUP reloads the config (or keeps the old one when the new file is
invalid), one daemon per data directory, and state survives a restart."""
import http.client
import json
import re
import signal
import socket
import subprocess
import threading
import time

import lib
from lib import am_alert, am_webhook, check, check_store_invariants, wait_for

AM = "/api/v1/alerts/alertmanager"


def _fp_alert(fp, **kw):
    return am_alert({"alertname": "Lifecycle", "uid": fp}, fingerprint=fp,
                    starts_at=kw.pop("starts_at", "2026-11-21T10:00:00Z"), **kw)


def _error_code(data):
    try:
        return json.loads(data)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _stored_fps(d):
    db = d.db()
    try:
        return {r[0] for r in db.execute("SELECT fingerprint FROM episodes")}
    finally:
        db.close()


class _SlowPost:
    """A POST whose body arrives in two halves, so that it is in flight for as long as we like."""

    def __init__(self, port, body):
        self.body = body.encode()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        head = (f"POST {AM} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(self.body)}\r\n\r\n").encode()
        self.sock.sendall(head + self.body[:len(self.body) // 2])

    def finish(self):
        """(status, body) or (None, exception)."""
        try:
            self.sock.sendall(self.body[len(self.body) // 2:])
            r = http.client.HTTPResponse(self.sock)
            r.begin()
            return r.status, r.read()
        except (OSError, http.client.HTTPException) as e:
            return None, e
        finally:
            self.sock.close()


def test_sigterm_drains_in_flight_requests(ctx):
    d = ctx.daemon(config="server:\n  drain_timeout: 5s\n").start()
    # slow posts whose headers (and half the body) arrived before the signal
    slow = {}
    for i in range(16):
        fp = f"51{i:014x}"
        slow[fp] = _SlowPost(d.port, json.dumps(am_webhook([_fp_alert(fp)])))
    # and senders posting as fast as they can while the signal arrives
    lock = threading.Lock()
    acked, refused, bad = [], [], []
    stop = threading.Event()

    def hammer(tid):
        n = 0
        conn = None
        while not stop.is_set():
            fp = f"ae{tid:02x}{n:012x}"
            n += 1
            body = json.dumps(am_webhook([_fp_alert(fp)]))
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=15)
                conn.request("POST", AM, body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                if conn:
                    conn.close()
                conn = None
                with lock:
                    refused.append(fp)
                if d.proc.poll() is not None:
                    break
                time.sleep(0.01)
                continue
            with lock:
                if r.status == 200:
                    acked.append(fp)
                elif r.status == 503 and _error_code(data) == "shutting_down":
                    refused.append(fp)
                else:
                    bad.append((r.status, data[:200]))
        if conn:
            conn.close()

    threads = [threading.Thread(target=hammer, args=(t,), daemon=True) for t in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.4)
    n_before = len(acked)
    t_sig = time.monotonic()
    d.send(signal.SIGTERM)
    time.sleep(0.5)
    slow_results = {fp: p.finish() for fp, p in slow.items()}
    try:
        rc = d.proc.wait(8)
    except subprocess.TimeoutExpired:
        raise AssertionError("the daemon did not exit within 8s of SIGTERM")
    took = time.monotonic() - t_sig
    stop.set()
    for t in threads:
        t.join(5)
    check(rc == 0, f"exit code after SIGTERM: {rc}\n{d.stderr()[-2000:]}")
    check(not bad, f"answers other than 200 / 503 shutting_down: {bad[:5]}")
    check(n_before > 0, "the senders got nothing acknowledged before the signal")
    not_ok = {fp: r for fp, r in slow_results.items() if r[0] != 200}
    check(not not_ok, f"requests in flight at SIGTERM were not drained (answered): {not_ok}")
    check(took < 5, f"drain took {took:.1f}s although every request finished")

    d.start()
    stored = _stored_fps(d)
    d.stop()
    lost = [fp for fp in acked + list(slow) if fp not in stored]
    print(f"    drain: {len(acked)} acked by senders, {len(refused)} refused, "
          f"{len(slow)} slow posts drained, exit after {took:.2f}s")
    check(not lost, f"acknowledged but not stored after SIGTERM: {lost[:10]}")
    check_store_invariants(d)


def test_sigterm_drain_timeout_bounds_a_stalled_client(ctx):
    d = ctx.daemon(config="server:\n  drain_timeout: 1s\n").start()
    stalled = _SlowPost(d.port, json.dumps(am_webhook([_fp_alert("5a00000000000001")])))
    time.sleep(0.2)
    t0 = time.monotonic()
    d.send(signal.SIGTERM)
    try:
        rc = d.proc.wait(6)
    except subprocess.TimeoutExpired:
        raise AssertionError("a stalled client kept the daemon from exiting after SIGTERM")
    took = time.monotonic() - t0
    stalled.sock.close()
    check(rc == 0, f"exit code {rc}")
    check(0.8 <= took < 4, f"exited {took:.2f}s after SIGTERM with drain_timeout 1s")
    check("drain timeout" in d.stderr(), "stderr does not mention the drain timeout")


def _metric(d, name, labels):
    st, _, data = d.get("/metrics", raw=True)
    check(st == 200, f"/metrics: {st}")
    m = re.search(re.escape(name + labels) + r" (\d+(?:\.\d+)?)", data.decode())
    return float(m.group(1)) if m else 0.0


def _incident_ids(d, uids):
    out = {}
    for inc in d.incidents():
        for ep in inc["episodes"]:
            if ep["labels"].get("uid") in uids:
                out[ep["labels"]["uid"]] = inc["id"]
    check(set(out) == set(uids), f"missing episodes: {set(uids) - set(out)}")
    return out


def _post_pair(d, cluster, uids):
    alerts = [am_alert({"alertname": "Pair", "cluster": cluster, "instance": f"{cluster}-{u}",
                        "uid": u}) for u in uids]
    st, body = d.post(AM, am_webhook(alerts))
    check(st == 200, f"{st} {body}")
    return _incident_ids(d, uids)


def test_sighup_reloads_and_keeps_old_config_when_invalid(ctx):
    d = ctx.daemon(config="incidents:\n  group_by: [instance]\nlog:\n  level: info\n").start()
    ok0 = _metric(d, "forestall_config_reloads_total", '{result="ok"}')
    err0 = _metric(d, "forestall_config_reloads_total", '{result="error"}')
    ids = _post_pair(d, "c1", ["a1", "a2"])
    check(ids["a1"] != ids["a2"], "group_by [instance]: different instances share an incident")

    with open(d.config_path, "w") as f:
        f.write("incidents:\n  group_by: [cluster]\nlog:\n  format: json\n"
                "server:\n  threads: 3\n")
    d.send(signal.SIGHUP)
    wait_for(lambda: _metric(d, "forestall_config_reloads_total", '{result="ok"}') == ok0 + 1,
             5, what="reloads_total{result=ok} to increment")
    check(re.search(r"needs a restart.*server\.threads", d.stderr()),
          "changing server.threads on SIGHUP does not say that it needs a restart")
    ids = _post_pair(d, "c2", ["b1", "b2"])
    check(ids["b1"] == ids["b2"], "after reloading group_by [cluster], the same cluster was split")
    # the line that says so is itself JSON (the executor process logs its own reload too)
    lines = [ln for ln in d.stderr().splitlines() if "configuration reloaded" in ln]
    check(lines and lines[-1].startswith("{") and
          json.loads(lines[-1]).get("msg") == "configuration reloaded",
          f"log.format json not applied by the reload: {lines!r}")

    with open(d.config_path, "w") as f:
        f.write("incidents:\n  group_bye: [instance]\n")
    d.send(signal.SIGHUP)
    wait_for(lambda: _metric(d, "forestall_config_reloads_total", '{result="error"}') == err0 + 1,
             5, what="reloads_total{result=error} to increment")
    check(d.proc.poll() is None, "an invalid config on SIGHUP stopped the daemon")
    check(_metric(d, "forestall_config_reloads_total", '{result="ok"}') == ok0 + 1,
          "an invalid config counted as a successful reload")
    check("group_bye" in d.stderr(), "the reload error does not name the bad key")
    st, _ = d.get("/readyz")
    check(st == 200, f"/readyz after a failed reload: {st}")
    ids = _post_pair(d, "c3", ["c1", "c2"])
    check(ids["c1"] == ids["c2"], "after a failed reload the old group_by [cluster] was not kept")
    d.stop()


def test_second_daemon_on_the_same_data_dir_is_refused(ctx):
    d = ctx.daemon().start()
    r = subprocess.run([lib.BIN, "serve", "--data-dir", d.data_dir, "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=15)
    check(r.returncode == 1, f"second daemon exit code {r.returncode}: {r.stderr}")
    check(("in use" in r.stderr or "lock" in r.stderr) and d.data_dir in r.stderr,
          f"second daemon's message does not name the data dir and the lock: {r.stderr!r}")
    check("listening on" not in r.stdout, r.stdout)
    # the first one is unharmed
    st, body = d.post(AM, am_webhook([_fp_alert("5c00000000000001")]))
    check(st == 200, f"first daemon after the refused second one: {st} {body}")
    d.stop()


def test_restart_keeps_open_incidents_and_resolve_works(ctx):
    d = ctx.daemon().start()
    labels = {"alertname": "Restart", "instance": "r-1", "severity": "critical"}
    st, body = d.post(AM, am_webhook([am_alert(labels)]))
    check(st == 200, body)
    before = d.incidents()
    check(len(before) == 1 and before[0]["status"] == "open", before)
    d.stop()
    d.start()
    after = d.incidents()
    check(len(after) == 1 and after[0]["id"] == before[0]["id"] and after[0]["status"] == "open"
          and after[0]["severity"] == "critical", f"after restart: {after}")
    # a repeat after the restart is still the same episode
    st, body = d.post(AM, am_webhook([am_alert(labels)]))
    check(st == 200 and body["deduplicated"] == 1 and body["changed"] == 0, body)
    d.stop(signal.SIGINT)
    d.start()
    st, body = d.post(AM, am_webhook([am_alert(labels, status="resolved",
                                               ends_at="2026-11-21T10:30:00Z")]))
    check(st == 200 and body["changed"] == 1, body)
    incs = d.incidents()
    check(len(incs) == 1 and incs[0]["status"] == "resolved"
          and incs[0]["episodes"][0]["status"] == "resolved"
          and incs[0]["episodes"][0]["endsAt"].startswith("2026-11-21T10:30:00"), incs)
    d.stop()


def test_readyz_is_503_shutting_down_while_draining(ctx):
    d = ctx.daemon(config="server:\n  drain_timeout: 5s\n").start()
    st, body = d.get("/readyz")
    check(st == 200 and body == {"status": "ready"}, f"/readyz before SIGTERM: {st} {body}")
    # a request in flight holds the drain open until we finish it
    fp = "5d00000000000001"
    held = _SlowPost(d.port, json.dumps(am_webhook([_fp_alert(fp)])))
    time.sleep(0.1)
    d.send(signal.SIGTERM)

    def not_ready():
        st, hd, data = lib.http_request(d.url + "/readyz", timeout=5)
        return (st, hd, data) if st != 200 else None
    st, hd, data = wait_for(not_ready, 3, interval=0.02, what="/readyz to turn 503 after SIGTERM")
    check(d.proc.poll() is None, "the daemon exited instead of draining the held request")
    check(st == 503, f"/readyz while draining: {st} {data!r}")
    e = json.loads(data)["error"]
    check(e["code"] == "shutting_down" and e["path"] is None and "shut" in e["message"],
          f"/readyz while draining: {e}")
    check("retry-after" in hd, f"/readyz 503 without Retry-After: {hd}")
    # still draining: the answer stays the same until the held request is done
    st2, _, data2 = lib.http_request(d.url + "/readyz", timeout=5)
    check(st2 == 503 and _error_code(data2) == "shutting_down", f"second /readyz: {st2} {data2!r}")
    st, data = held.finish()
    check(st == 200, f"the held request was not drained: {st} {data!r}")
    try:
        rc = d.proc.wait(5)
    except subprocess.TimeoutExpired:
        raise AssertionError("the daemon did not exit after the held request finished")
    check(rc == 0, f"exit code after the drain: {rc}\n{d.stderr()[-2000:]}")
    d.start()
    check(fp in _stored_fps(d), "the drained request was acknowledged but is not stored")
    st, _ = d.get("/readyz")
    check(st == 200, f"/readyz after the restart: {st}")
    d.stop()
