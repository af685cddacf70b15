"""The kubernetes.* tools with the REAL kubectl (/usr/bin/kubectl) against a Kubernetes API
stand-in (standin_kube.py: the documented REST protocol over plain HTTP on 127.0.0.1, because no
API server can run here), driven through `forestall tool call`. Checks the compact structured
results (pods, deployments, events newest first, nodes, configmaps without values), text tools
(describe, logs, rollout status), that every caller value reaches the API server verbatim (the
stand-in logs each request), and that hostile values are refused before kubectl runs."""
import json
import os
import subprocess
import time

import lib
from lib import KUBECTL, KubeStandin, check


class Kube:
    """The stand-in, a kubeconfig pointing at it and a forestall config using both."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.dir, "kube")
        api = KubeStandin(ctx, self.dir)
        self.proc, self.port, self.log = api.proc, api.port, api.log
        self.kubeconfig = api.kubeconfig
        self.config = os.path.join(self.dir, "forestall.yaml")
        with open(self.config, "w") as f:
            f.write(f"tools:\n  kubectl: {KUBECTL}\n  kubeconfig: {self.kubeconfig}\n"
                    f"  kube_context: standin\n  timeout: 20s\n")
        # kubectl keeps its discovery cache under $HOME/.kube: a throwaway home
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)

    def call(self, tool, args, expect=0):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FORESTALL_", "KUBE"))}
        env["HOME"] = self.home
        r = subprocess.run([lib.BIN, "tool", "call", tool, json.dumps(args), "-c", self.config,
                            "-o", "json"], capture_output=True, text=True, env=env, timeout=60)
        check(r.returncode == expect,
              f"{tool} {args}: exit {r.returncode}, want {expect}\n{r.stdout}\n{r.stderr}")
        return json.loads(r.stdout) if r.stdout.strip().startswith("{") else r

    def requests(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def clear(self):
        open(self.log, "w").close()


def api_calls(k, prefix):
    return [r for r in k.requests() if r["path"].startswith(prefix)]


def test_kube_standin_get_pods(ctx):
    k = Kube(ctx)
    res = k.call("kubernetes.get", {"kind": "pods", "namespace": "shop"})
    s = res["structured"]
    check(not res["isError"] and s["kind"] == "pods" and s["count"] == 3, s)
    pods = {p["name"]: p for p in s["items"]}
    bad = pods["web-7d4b9c8f6-fghij"]
    check(bad["phase"] == "Running" and bad["status"] == "CrashLoopBackOff", bad)
    check(bad["ready"] == "1/2" and bad["restarts"] == 12 and bad["node"] == "node-2", bad)
    app = [c for c in bad["containers"] if c["name"] == "app"][0]
    check(app["last_reason"] == "OOMKilled" and app["last_exit_code"] == 137, app)
    check(7100 <= bad["age_s"] <= 7400, f"age {bad['age_s']}")
    check(pods["web-7d4b9c8f6-abcde"]["ready"] == "2/2", pods["web-7d4b9c8f6-abcde"])
    check(pods["worker-0"]["status"] == "Pending" and pods["worker-0"]["node"] is None,
          pods["worker-0"])
    calls = api_calls(k, "/api/v1/namespaces/shop/pods")
    check(len(calls) == 1, calls)

    # a label selector reaches the API server verbatim, set-based terms included
    k.clear()
    res = k.call("kubernetes.get", {"kind": "pods", "namespace": "shop",
                                    "label_selector": "app in (web, api),pod-template-hash"})
    check({p["name"] for p in res["structured"]["items"]} ==
          {"web-7d4b9c8f6-abcde", "web-7d4b9c8f6-fghij"}, res["structured"])
    sel = api_calls(k, "/api/v1/namespaces/shop/pods")[0]["query"]["labelSelector"]
    check(sel == "app in (web, api),pod-template-hash", sel)

    # one by name; a limit keeps the first rows and says so
    res = k.call("kubernetes.get", {"kind": "pods", "namespace": "shop", "name": "worker-0"})
    check(res["structured"]["count"] == 1 and
          res["structured"]["items"][0]["name"] == "worker-0", res["structured"])
    res = k.call("kubernetes.get", {"kind": "pods", "limit": 1})
    s = res["structured"]
    check(s["count"] == 4 and s["returned"] == 1 and s["truncated"] and res["truncated"], s)
    check(api_calls(k, "/api/v1/pods"), "no namespace should list every namespace")


def test_kube_standin_deployments_nodes_configmaps(ctx):
    k = Kube(ctx)
    s = k.call("kubernetes.get", {"kind": "deployments", "namespace": "shop"})["structured"]
    web = [d for d in s["items"] if d["name"] == "web"][0]
    check((web["desired"], web["ready"], web["updated"], web["available"]) == (3, 2, 3, 2), web)
    avail = [c for c in web["conditions"] if c["type"] == "Available"][0]
    check(avail["status"] == "False" and avail["reason"] == "MinimumReplicasUnavailable", avail)
    check(web["images"] == ["nginx:1.25"], web)

    s = k.call("kubernetes.get", {"kind": "nodes"})["structured"]
    n2 = [n for n in s["items"] if n["name"] == "node-2"][0]
    check(n2["status"] == "Ready" and n2["pressure"] == ["MemoryPressure"], n2)
    check(n2["roles"] == ["worker"] and n2["kubelet_version"] == "v1.32.4", n2)
    check(api_calls(k, "/api/v1/nodes"), "nodes are cluster-scoped")

    res = k.call("kubernetes.get", {"kind": "configmaps", "namespace": "shop"})
    check(res["structured"]["items"][0]["keys"] == ["LOG_LEVEL", "nginx.conf"], res)
    check("worker_processes" not in json.dumps(res), "a configmap value came back")


def test_kube_standin_events(ctx):
    k = Kube(ctx)
    s = k.call("kubernetes.events", {"namespace": "shop"})["structured"]
    reasons = [e["reason"] for e in s["items"]]
    check(reasons == ["ReplicaSetUpdated", "BackOff", "FailedScheduling", "ScalingReplicaSet",
                      "Scheduled"], f"not newest first: {reasons}")
    back = s["items"][1]
    check(back["type"] == "Warning" and back["count"] == 57 and
          back["object"] == "Pod/web-7d4b9c8f6-fghij" and back["source"] == "kubelet", back)
    check(20 <= back["age_s"] <= 300, back)
    check(s["items"][0]["count"] == 4, s["items"][0])  # series.count of a new-style event

    k.clear()
    s = k.call("kubernetes.events", {"namespace": "shop", "object_name": "web",
                                     "type": "Normal", "limit": 1})["structured"]
    check(s["count"] == 2 and s["returned"] == 1 and
          s["items"][0]["reason"] == "ReplicaSetUpdated", s)
    q = api_calls(k, "/api/v1/namespaces/shop/events")[0]["query"]
    check(q["fieldSelector"] == "involvedObject.name=web,type=Normal", q)


def test_kube_standin_text_tools(ctx):
    k = Kube(ctx)
    res = k.call("kubernetes.describe", {"kind": "pods", "name": "web-7d4b9c8f6-fghij",
                                         "namespace": "shop"})
    for want in ("CrashLoopBackOff", "OOMKilled", "Restart Count:  12", "Back-off restarting"):
        check(want in res["text"], f"describe lacks {want!r}:\n{res['text']}")
    check(res["structured"]["kind"] == "pods", res["structured"])

    k.clear()
    res = k.call("kubernetes.logs", {"pod": "web-7d4b9c8f6-abcde", "namespace": "shop",
                                     "container": "app", "tail_lines": 3})
    lines = res["structured"]["lines"]
    check(len(lines) == 3 and lines[-1].endswith("GET /healthz 200 39ms"), lines)
    q = api_calls(k, "/api/v1/namespaces/shop/pods/web-7d4b9c8f6-abcde/log")[0]["query"]
    check(q.get("container") == "app" and q.get("tailLines") == "3", q)

    # the crashed instance: escape sequences from the container never come back
    res = k.call("kubernetes.logs", {"pod": "web-7d4b9c8f6-fghij", "namespace": "shop",
                                     "container": "app", "previous": True})
    lines = res["structured"]["lines"]
    check("panic: out of memory" in lines, lines)
    check("\x1b" not in json.dumps(res, ensure_ascii=False) and "\\u001b" not in res["text"],
          f"escape sequence kept: {lines}")

    res = k.call("kubernetes.rollout_status", {"kind": "deployment", "name": "web",
                                               "namespace": "shop"})
    s = res["structured"]
    check(s["done"] is False and s["failed"] is False and
          "2 of 3 updated replicas are available" in s["message"], s)
    s = k.call("kubernetes.rollout_status", {"kind": "deployment", "name": "api",
                                             "namespace": "shop"})["structured"]
    check(s["done"] is True and "successfully rolled out" in s["message"], s)


def test_kube_standin_errors_and_hostile_values(ctx):
    k = Kube(ctx)
    # the API server's NotFound is a tool error naming it (exit 3: ran, reported an error)
    r = k.call("kubernetes.get", {"kind": "pods", "namespace": "shop", "name": "nope"},
               expect=3)
    check(r["isError"] and "not found" in r["text"], r)
    # values that could read as options, or smuggle syntax, never reach kubectl
    k.clear()
    for tool, args, arg in [
            ("kubernetes.get", {"kind": "pods", "namespace": "-oyaml"}, "namespace"),
            ("kubernetes.get", {"kind": "secrets", "namespace": "shop"}, "kind"),
            ("kubernetes.get", {"kind": "pods", "namespace": "shop", "name": "--raw=/"}, "name"),
            ("kubernetes.get", {"kind": "pods", "label_selector": "a=b --all"},
             "label_selector"),
            ("kubernetes.logs", {"pod": "x", "namespace": "shop", "since": "$(id)"}, "since"),
            ("kubernetes.events", {"object_name": "x,involvedObject.kind=Pod"}, "object_name")]:
        r = k.call(tool, args, expect=2)
        check(arg in r.stderr, f"{tool} {args}: the message does not name {arg}: {r.stderr}")
    time.sleep(0.2)
    check(k.requests() == [], f"kubectl ran for refused arguments: {k.requests()}")
    # a stand-in that is gone: kubectl's own error, within the timeout
    k.proc.kill()
    k.proc.wait()
    t0 = time.monotonic()
    r = k.call("kubernetes.get", {"kind": "pods", "namespace": "shop"}, expect=3)
    check(r["isError"] and "kubectl exited" in r["text"], r)
    check(time.monotonic() - t0 < 30, "kubectl did not give up")
