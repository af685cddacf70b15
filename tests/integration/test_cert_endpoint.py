"""host.cert_expiry's TLS-endpoint form against a real TLS server (`openssl s_server` on
127.0.0.1) with throwaway self-signed certificates made by `openssl req -x509 -days N`, through
`forestall tool call`: days left, subject and issuer read from the handshake (not verified),
SNI choosing the certificate, and an endpoint that does not speak TLS or is closed being a tool
error rather than a crash or a hang."""
import json
import os
import socket
import subprocess
import time

import lib
from lib import check, free_port, wait_for


def make_cert(ctx, name, days):
    key = os.path.join(ctx.dir, name + ".key")
    crt = os.path.join(ctx.dir, name + ".crt")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", str(days), "-subj",
                        f"/CN={name}/O=forestall tests", "-keyout", key, "-out", crt],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"openssl req: {r.stderr}")
    return crt, key


def s_server(ctx, port, crt, key, extra=()):
    p = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", crt,
                          "-key", key, "-www", "-quiet", *extra],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(ctx.dir, f"s_server.{port}"), "w"))
    ctx.track(p)

    def up():
        if p.poll() is not None:
            raise lib.TestFailure(f"openssl s_server exited {p.returncode}")
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    wait_for(up, 10, what="openssl s_server")
    return p


def call(args, expect=0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORESTALL_")}
    r = subprocess.run([lib.BIN, "tool", "call", "host.cert_expiry", json.dumps(args), "-o",
                        "json"], capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode == expect, f"{args}: exit {r.returncode}, want {expect}\n{r.stdout}\n"
          f"{r.stderr}")
    return json.loads(r.stdout) if expect in (0, 3) else r


def test_cert_endpoint_days_left_from_a_real_tls_server(ctx):
    crt, key = make_cert(ctx, "soon.test", 20)
    port = free_port()
    s_server(ctx, port, crt, key)
    res = call({"host": "127.0.0.1", "port": port})
    s = res["structured"]
    check(not res["isError"] and len(s["certificates"]) == 1, res)
    c = s["certificates"][0]
    check(19 <= c["days_left"] <= 20 and 19 <= s["min_days_left"] <= 20,
          f"days_left {c['days_left']}, min {s['min_days_left']}")
    check(c["expired"] is False, c)
    check("CN=soon.test" in c["subject"] and "O=forestall tests" in c["subject"], c)
    check(c["issuer"] == c["subject"], c)  # self-signed, read although nothing trusts it
    check(s["host"] == "127.0.0.1" and s["port"] == port and s["server_name"] is None, s)
    # the same certificate read from its file gives the same answer (one parser, two forms)
    f = call({"path": crt})["structured"]
    check(f["certificates"][0]["not_after"] == c["not_after"] and
          f["certificates"][0]["serial"] == c["serial"], (f, c))


def test_cert_endpoint_sni_selects_the_certificate(ctx):
    crt1, key1 = make_cert(ctx, "default.test", 20)
    crt2, key2 = make_cert(ctx, "named.test", 90)
    port = free_port()
    s_server(ctx, port, crt1, key1, ["-servername", "named.test", "-cert2", crt2, "-key2", key2])
    s = call({"host": "127.0.0.1", "port": port, "server_name": "named.test"})["structured"]
    check("CN=named.test" in s["certificates"][0]["subject"] and
          89 <= s["min_days_left"] <= 90 and s["server_name"] == "named.test", s)
    s = call({"host": "127.0.0.1", "port": port})["structured"]
    check("CN=default.test" in s["certificates"][0]["subject"], s)


def test_cert_endpoint_failures_are_tool_errors(ctx):
    # a port that speaks something else: a plain TCP server that says hello and closes
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    import threading

    def serve():
        for _ in range(2):
            try:
                c, _ = srv.accept()
                c.sendall(b"SSH-2.0-not-tls\r\n")
                c.close()
            except OSError:
                return
    threading.Thread(target=serve, daemon=True).start()
    t0 = time.monotonic()
    res = call({"host": "127.0.0.1", "port": port}, expect=3)
    check(res["isError"] and "TLS handshake with 127.0.0.1" in res["text"], res)
    srv.close()
    # nothing listening
    res = call({"host": "127.0.0.1", "port": free_port()}, expect=3)
    check(res["isError"] and "failed" in res["text"], res)
    check(time.monotonic() - t0 < 30, "took too long")
    # both forms, or neither: refused before anything runs (exit 2 names the argument)
    r = call({"path": "/etc/ssl/x.pem", "host": "127.0.0.1"}, expect=2)
    check("path: give either" in r.stderr, r.stderr)
    r = call({"port": 443}, expect=2)
    check("host: required" in r.stderr, r.stderr)
