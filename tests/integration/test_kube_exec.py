"""The executor's kubectl target, run for real: catalog actions k8s_rollout_restart and k8s_scale
proposed for incidents on Kubernetes deployments go through the gate and `forestall executor`,
which runs the REAL kubectl (through a recording shim) against the Kubernetes API stand-in
(standin_kube.py, which plays the API server and, at once, the deployment controller). Checks
the exact argv kubectl got (namespace, deployment, replicas) and its environment, the exact
writes the API server received, the preconditions and the verification (the probe
k8s_deployment_status, answered by kubernetes.get), and the incident's outcome: resolved when
the rollout completes, escalated when it never does (k8s_rollout_restart and k8s_scale have no
rollback in the catalog), refused before anything runs when the deployment does not exist."""
import json
import os
import sqlite3
import subprocess

import lib
import standin_kube
from lib import KUBECTL, KubeStandin, am_alert, am_webhook, check

AM = "/api/v1/alerts/alertmanager"


class Cluster:
    """The stand-in, a kubeconfig for it, the kubectl shim, and a daemon (dispatch and executor
    off: the test runs `forestall executor --once`) whose tools.kubectl is the shim."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.dir, "kube")
        api = KubeStandin(ctx, self.dir)
        self.proc, self.api_log, self.kubeconfig = api.proc, api.log, api.kubeconfig
        self.shim = os.path.join(self.dir, "kubectl")
        self.argv_log = os.path.join(self.dir, "kubectl.log")
        standin_kube.write_kubectl_shim(self.shim, KUBECTL, self.argv_log)
        # kubectl keeps its discovery cache under $HOME/.kube: the executor's own home
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        self.data_dir = os.path.join(ctx.dir, "data")
        pol = os.path.join(ctx.dir, "policy.yaml")
        with open(pol, "w") as f:
            f.write("version: 1\nrate_limit_per_action_target_per_hour: 1000\n")
        self.d = ctx.daemon(config=f"""data_dir: {self.data_dir}
safety:
  policy: {pol}
tools:
  kubectl: {self.shim}
  kubeconfig: {self.kubeconfig}
  kube_context: standin
  timeout: 20s
executor:
  enabled: false
  action_timeout: 30s
  max_verify_wait: 1s
  postmortem_dir: null
dispatch:
  enabled: false
""", data_dir=self.data_dir).start()
        self.cfg = self.d.config_path

    def incident(self, alertname, namespace, deployment):
        labels = {"alertname": alertname, "namespace": namespace, "deployment": deployment,
                  "severity": "warning", "env": "staging", "resource_class": "application"}
        st, body = self.d.post(AM, am_webhook([am_alert(labels)]))
        check(st == 200, f"alert: {st} {body}")
        incs = [i for i in self.d.incidents() if i["labels"].get("alertname") == alertname]
        check(len(incs) == 1, incs)
        inc = incs[0]["id"]
        st, obs = self.d.post("/api/v1/observations",
                              {"as": "probe", "incident": inc, "tool": "kubernetes.get",
                               "input": {"kind": "deployments", "namespace": namespace,
                                         "name": deployment},
                               "output": f"{deployment}: 2/3 available"})
        check(st == 201, f"observe: {st} {obs}")
        return inc, obs["id"]

    def propose(self, inc, obs, action, namespace, deployment, **params):
        body = {"as": "planner", "action": action,
                "params": dict(namespace=namespace, deployment=deployment, **params),
                "target": {"namespace": namespace, "workload": deployment},
                "incident": {"id": inc}, "evidence": {"cited": [obs]},
                "rationale": "the deployment has unavailable replicas"}
        st, p = self.d.post("/api/v1/proposals", body)
        check(st == 201, f"propose {action}: {st} {p}")
        if p["decision"] == "needs_approval":
            r = self.d.cli("approve", p["id"], "--as", "dave", "--comment", "go")
            check(r.returncode == 0, r.stdout + r.stderr)
        else:
            check(p["decision"] == "execute", f"{action}: {p['decision']} {p['gate']}")
        return p["id"]

    def executor(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FORESTALL_", "KUBE"))}
        env["HOME"] = self.home
        r = subprocess.run([lib.BIN, "executor", "--once", "-c", self.cfg, "--data-dir",
                            self.data_dir], capture_output=True, text=True, env=env,
                           timeout=120, stdin=subprocess.DEVNULL)
        check(r.returncode == 0, f"executor exit {r.returncode}:\n{r.stdout}\n{r.stderr}")
        for mark in lib.SANITIZER_MARKS:
            check(mark not in r.stderr, r.stderr)
        return r

    def q(self, sql, *args):
        db = sqlite3.connect(os.path.join(self.data_dir, "forestall.db"), timeout=30)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute(sql, args).fetchall()]
        finally:
            db.close()

    def execution(self, prop):
        rows = self.q("SELECT * FROM executions WHERE proposal_id=?", int(prop.split("-")[1]))
        check(len(rows) == 1, f"{prop}: {len(rows)} executions")
        return rows[0]

    def steps(self, e):
        return [(r["state"], json.loads(r["detail"])) for r in self.q(
            "SELECT state, detail FROM exec_steps WHERE execution_id=? ORDER BY id", e["id"])]

    def state(self, inc):
        st, body = self.d.get(f"/api/v1/incidents/{inc}")
        check(st == 200, body)
        return body["state"]

    def kubectl_runs(self):
        if not os.path.exists(self.argv_log):
            return []
        with open(self.argv_log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def writes(self):
        with open(self.api_log) as f:
            return [r for r in (json.loads(line) for line in f if line.strip())
                    if r["method"] != "GET"]

    def clear(self):
        open(self.api_log, "w").close()
        open(self.argv_log, "w").close()


def prefix(c):
    return ["--kubeconfig", c.kubeconfig, "--context", "standin"]


def test_kube_rollout_restart_and_scale_run_through_the_executor(ctx):
    c = Cluster(ctx)

    # ---- k8s_rollout_restart on shop/web (2 of 3 replicas available): restarted, verified
    inc, obs = c.incident("KubeDeploymentReplicasMismatch", "shop", "web")
    prop = c.propose(inc, obs, "k8s_rollout_restart", "shop", "web")
    r = c.executor()
    want = ["rollout", "restart", "deployment/web", "-n", "shop"]
    check(f"{prop} k8s_rollout_restart: intent → running {c.shim} "
          f"--kubeconfig {c.kubeconfig} --context standin rollout restart deployment/web -n shop "
          "(kubectl)" in r.stdout, r.stdout)
    e = c.execution(prop)
    steps = c.steps(e)
    check([s for s, _ in steps] == ["intent", "started", "result", "verified"], steps)
    check(e["outcome"] == "succeeded" and e["target_kind"] == "kubectl", e)
    intent = steps[0][1]
    check(intent["kind"] == "kubectl" and intent["argv"] == [c.shim] + prefix(c) + want, intent)
    check([p["passed"] for p in intent["preflight"]] == [True], intent["preflight"])
    # exactly what kubectl ran, in order: the precondition, the action, the verification
    runs = c.kubectl_runs()
    actions = [x for x in runs if "get" not in x["argv"]]
    check([x["argv"] for x in actions] == [prefix(c) + want], [x["argv"] for x in runs])
    probe_argv = [f"--kubeconfig={c.kubeconfig}", "--context=standin", "--request-timeout=19s",
                  "get", "deployments", "web", "--namespace=shop", "--output=json"]
    check([x["argv"] for x in runs] == [probe_argv, prefix(c) + want, probe_argv],
          [x["argv"] for x in runs])
    # the action's environment is exactly PATH, LANG and HOME (kubectl's cache goes there)
    check(sorted(actions[0]["env"]) == ["HOME", "LANG", "PATH"] and
          actions[0]["env"]["HOME"] == c.home, actions[0]["env"])
    check(os.path.isdir(os.path.join(c.home, ".kube", "cache")), "no kubectl cache in HOME")
    # what the API server received: one strategic-merge patch of web's pod template
    w = c.writes()
    check(len(w) == 1 and w[0]["method"] == "PATCH" and
          w[0]["path"] == "/apis/apps/v1/namespaces/shop/deployments/web" and
          w[0]["content_type"] == "application/strategic-merge-patch+json", w)
    ann = w[0]["body"]["spec"]["template"]["metadata"]["annotations"]
    check(list(ann) == ["kubectl.kubernetes.io/restartedAt"], ann)
    result = steps[2][1]
    check(result["exit_code"] == 0 and "deployment.apps/web restarted" in result["stdout"],
          result)
    probe = steps[3][1]["probe"]
    check(probe["probe"] == "kubernetes.get" and probe["passed"] is True and
          probe["expect"] == "updated_replicas == replicas && available_replicas == replicas",
          probe)
    check(probe["observed"]["exists"] is True and probe["observed"]["replicas"] == 3 and
          probe["observed"]["available_replicas"] == 3 and
          probe["observed"]["namespace"] == "shop", probe["observed"])
    check(c.state(inc) == "resolved", c.state(inc))

    # ---- k8s_scale shop/api 2 → 4: the replicas reach the API server; verified at 4
    c.clear()
    inc2, obs2 = c.incident("KubeDeploymentUnderProvisioned", "shop", "api")
    prop2 = c.propose(inc2, obs2, "k8s_scale", "shop", "api", replicas=4)
    c.executor()
    e2 = c.execution(prop2)
    steps2 = c.steps(e2)
    check([s for s, _ in steps2] == ["intent", "started", "result", "verified"], steps2)
    want2 = ["scale", "deployment/api", "--replicas=4", "-n", "shop"]
    check(steps2[0][1]["argv"] == [c.shim] + prefix(c) + want2, steps2[0][1])
    check([x["argv"] for x in c.kubectl_runs() if "get" not in x["argv"]] ==
          [prefix(c) + want2], [x["argv"] for x in c.kubectl_runs()])
    w = c.writes()
    check(len(w) == 1 and w[0]["method"] == "PATCH" and
          w[0]["path"] == "/apis/apps/v1/namespaces/shop/deployments/api/scale" and
          w[0]["body"] == {"spec": {"replicas": 4}}, w)
    observed = steps2[3][1]["probe"]["observed"]
    check(observed["available_replicas"] == 4 and observed["replicas"] == 4, observed)
    check(e2["outcome"] == "succeeded" and c.state(inc2) == "resolved", (e2, c.state(inc2)))

    # ---- a rollout that never completes (default/legacy): verification fails; the action has
    # no rollback in the catalog, so it is escalated with the probe's reason
    c.clear()
    inc3, obs3 = c.incident("KubeDeploymentStuck", "default", "legacy")
    prop3 = c.propose(inc3, obs3, "k8s_rollout_restart", "default", "legacy")
    c.executor()
    e3 = c.execution(prop3)
    steps3 = c.steps(e3)
    check([s for s, _ in steps3] == ["intent", "started", "result", "escalated"], steps3)
    check(e3["outcome"] == "failed", e3)
    why = steps3[3][1]["reason"]
    check("verification failed" in why and "available_replicas == replicas" in why, why)
    check(len([w for w in c.writes() if w["method"] == "PATCH"]) == 1, c.writes())
    check(c.state(inc3) == "escalated", c.state(inc3))

    # ---- a deployment the cluster does not have: the precondition fails, nothing is written
    c.clear()
    inc4, obs4 = c.incident("KubeDeploymentGone", "shop", "nope")
    prop4 = c.propose(inc4, obs4, "k8s_scale", "shop", "nope", replicas=2)
    c.executor()
    e4 = c.execution(prop4)
    steps4 = c.steps(e4)
    check([s for s, _ in steps4] == ["refused"] and e4["outcome"] == "refused", steps4)
    pre = steps4[0][1]["preflight"][0]
    check(pre["passed"] is False and pre["observed"] == {"exists": False}, pre)
    check(c.writes() == [], c.writes())
    check(all("get" in x["argv"] for x in c.kubectl_runs()), c.kubectl_runs())
    check(c.state(inc4) == "escalated", c.state(inc4))
    r = c.d.cli("audit", "verify", "-c", c.cfg)
    check(r.returncode == 0 and "audit chain OK" in r.stdout, r.stdout + r.stderr)
