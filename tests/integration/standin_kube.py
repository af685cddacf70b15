#!/usr/bin/env python3
"""A Kubernetes API server stand-in for tests of the kubernetes.* tools with the real kubectl.

No real API server can run on the test machines, so this speaks the documented REST protocol
(kubernetes.io "API Overview" / "API Concepts") for the subset kubectl uses in read-only
commands, over plain HTTP on 127.0.0.1:

  GET /version                                   version.Info
  GET /api, /apis                                APIVersions, APIGroupList (the non-aggregated
                                                 discovery documents; kubectl falls back to them)
  GET /api/v1, /apis/apps/v1, /apis/batch/v1     APIResourceList
  GET .../namespaces/NS/RESOURCE                 a *List, with labelSelector, fieldSelector
                                                 (metadata.name, metadata.namespace,
                                                 involvedObject.*), limit
  GET .../RESOURCE (cluster-scoped or all namespaces)
  GET .../namespaces/NS/RESOURCE/NAME            one object
  GET /api/v1/namespaces/NS/pods/NAME/log        text/plain; container, tailLines, previous
  PATCH .../namespaces/NS/deployments/NAME       a strategic-merge or JSON merge patch (what
                                                 `kubectl rollout restart` sends)
  GET, PATCH, PUT .../deployments/NAME/scale     the Scale subresource (autoscaling/v1), what
                                                 `kubectl scale` reads and patches
  anything else                                  404 with a Status object (kind Status, reason
                                                 NotFound), as the API server answers

The writes change the stored objects, and the stand-in plays the deployment controller in the
simplest way: a change of spec.replicas or of the pod template bumps metadata.generation and
completes the rollout at once (every replica updated, ready and available; condition Available
True) — except for a deployment annotated forestall.test/stuck: "true", whose pods never
become available (its rollout never completes), so that a verification can fail.

Run as a program: standin_kube.py PORTFILE LOGFILE — binds an ephemeral port, writes it to
PORTFILE, and appends one JSON line per request ({method, path, query}, plus for a write its
content_type and body) to LOGFILE so a test can see exactly what kubectl asked. The objects are
fixed, with times relative to start-up. Standard library only.

Imported, it also offers kubeconfig(port) (a kubeconfig pointing at the stand-in) and
write_kubectl_shim(path, real, log): an executable that appends its argv and environment as one
JSON line to log and then runs the real kubectl with them, so a test can see the exact argv (and
environment) forestall ran kubectl with.
"""
import datetime
import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

START = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def ts(seconds_ago):
    t = START - datetime.timedelta(seconds=seconds_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name, ns, age, labels=None, uid=None, owner=None):
    m = {"name": name, "uid": uid or f"uid-{name}", "resourceVersion": "1001",
         "creationTimestamp": ts(age)}
    if ns:
        m["namespace"] = ns
    if labels:
        m["labels"] = labels
    if owner:
        m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                 "uid": f"uid-{owner[1]}", "controller": True,
                                 "blockOwnerDeletion": True}]
    # real objects carry managedFields; the tools must not choke on them
    m["managedFields"] = [{"manager": "kube-controller-manager", "operation": "Update",
                           "apiVersion": "v1", "time": ts(age), "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:status": {"f:conditions": {".": {}}}}}]
    return m


def container_status(name, ready, restarts, state, last=None):
    cs = {"name": name, "ready": ready, "restartCount": restarts, "image": "nginx:1.25",
          "imageID": "docker-pullable://nginx@sha256:0123", "containerID": "containerd://ab12",
          "started": ready, "state": state, "lastState": last or {}}
    return cs


def pod(name, ns, age, labels, phase, node, statuses, owner=None):
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": meta(name, ns, age, labels, owner=owner),
        "spec": {"nodeName": node, "restartPolicy": "Always", "serviceAccountName": "default",
                 "containers": [{"name": s["name"], "image": s["image"],
                                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                 "resources": {}} for s in statuses] or
                 [{"name": "app", "image": "nginx:1.25"}]},
        "status": {"phase": phase, "hostIP": "10.0.0.11", "podIP": "10.244.1.7",
                   "startTime": ts(age), "qosClass": "BestEffort",
                   "conditions": [{"type": "Ready",
                                   "status": "True" if all(s["ready"] for s in statuses)
                                   and statuses else "False",
                                   "lastTransitionTime": ts(age)}],
                   "containerStatuses": statuses},
    }


def make_objects():
    """{(group_version, resource): {namespace or "": {name: object}}}"""
    web_labels = {"app": "web", "pod-template-hash": "7d4b9c8f6"}
    pods = [
        pod("web-7d4b9c8f6-abcde", "shop", 3600, web_labels, "Running", "node-1",
            [container_status("app", True, 0, {"running": {"startedAt": ts(3500)}}),
             container_status("sidecar", True, 1, {"running": {"startedAt": ts(3000)}})],
            owner=("ReplicaSet", "web-7d4b9c8f6")),
        pod("web-7d4b9c8f6-fghij", "shop", 7200, web_labels, "Running", "node-2",
            [container_status("app", False, 12,
                              {"waiting": {"reason": "CrashLoopBackOff",
                                           "message": "back-off 5m0s restarting failed"}},
                              {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                              "startedAt": ts(400), "finishedAt": ts(300)}}),
             container_status("sidecar", True, 0, {"running": {"startedAt": ts(7100)}})],
            owner=("ReplicaSet", "web-7d4b9c8f6")),
        pod("worker-0", "shop", 120, {"app": "worker"}, "Pending", None, []),
        pod("other-1", "default", 60, {"app": "other"}, "Running", "node-1",
            [container_status("app", True, 0, {"running": {"startedAt": ts(60)}})]),
    ]
    pods[2]["spec"].pop("nodeName")
    pods[2]["status"]["conditions"] = [{"type": "PodScheduled", "status": "False",
                                        "reason": "Unschedulable",
                                        "message": "0/2 nodes are available"}]
    deployments = [{
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": dict(meta("web", "shop", 86400, {"app": "web"}), generation=4,
                         annotations={"deployment.kubernetes.io/revision": "4"}),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                 "progressDeadlineSeconds": 600,
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}},
        "status": {"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3,
                   "readyReplicas": 2, "availableReplicas": 2, "unavailableReplicas": 1,
                   "conditions": [
                       {"type": "Available", "status": "False",
                        "reason": "MinimumReplicasUnavailable",
                        "message": "Deployment does not have minimum availability.",
                        "lastUpdateTime": ts(300), "lastTransitionTime": ts(300)},
                       {"type": "Progressing", "status": "True",
                        "reason": "NewReplicaSetAvailable",
                        "message": "ReplicaSet \"web-7d4b9c8f6\" has successfully progressed.",
                        "lastUpdateTime": ts(3600), "lastTransitionTime": ts(86400)}]},
    }, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": dict(meta("api", "shop", 86400, {"app": "api"}), generation=2),
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"containers": [{"name": "api", "image": "api:2"}]}}},
        "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
                   "readyReplicas": 2, "availableReplicas": 2,
                   "conditions": [
                       {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                        "message": "Deployment has minimum availability.",
                        "lastUpdateTime": ts(80000), "lastTransitionTime": ts(80000)},
                       {"type": "Progressing", "status": "True",
                        "reason": "NewReplicaSetAvailable",
                        "message": "ReplicaSet \"api-5f6\" has successfully progressed.",
                        "lastUpdateTime": ts(80000), "lastTransitionTime": ts(86400)}]},
    }]
    deployments.append({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": dict(meta("legacy", "default", 86400, {"app": "legacy"}), generation=1,
                         annotations={"forestall.test/stuck": "true"}),
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "legacy"}},
                 "template": {"metadata": {"labels": {"app": "legacy"}},
                              "spec": {"containers": [{"name": "legacy", "image": "legacy:1"}]}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                   "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 1},
    })
    replicasets = [{
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": dict(meta("web-7d4b9c8f6", "shop", 86000, web_labels,
                              owner=("Deployment", "web")),
                         annotations={"deployment.kubernetes.io/revision": "4"}),
        "spec": {"replicas": 3, "selector": {"matchLabels": web_labels},
                 "template": {"metadata": {"labels": web_labels},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}},
        "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2,
                   "fullyLabeledReplicas": 3, "observedGeneration": 4},
    }]

    def event(name, ns, age_first, age_last, typ, reason, kind, obj, msg, count):
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": meta(name, ns, age_first),
                "involvedObject": {"kind": kind, "namespace": ns, "name": obj,
                                   "uid": f"uid-{obj}", "apiVersion": "v1"},
                "reason": reason, "message": msg, "type": typ, "count": count,
                "firstTimestamp": ts(age_first), "lastTimestamp": ts(age_last),
                "source": {"component": "kubelet", "host": "node-2"},
                "reportingComponent": "kubelet", "reportingInstance": "node-2"}
    events = [
        event("web-7d4b9c8f6-fghij.17a1", "shop", 7000, 30, "Warning", "BackOff", "Pod",
              "web-7d4b9c8f6-fghij", "Back-off restarting failed container app in pod "
              "web-7d4b9c8f6-fghij_shop(uid-web-7d4b9c8f6-fghij)", 57),
        event("web-7d4b9c8f6-fghij.17a0", "shop", 7100, 7100, "Normal", "Scheduled", "Pod",
              "web-7d4b9c8f6-fghij",
              "Successfully assigned shop/web-7d4b9c8f6-fghij to node-2", 1),
        event("worker-0.17b0", "shop", 120, 60, "Warning", "FailedScheduling", "Pod",
              "worker-0", "0/2 nodes are available: 2 Insufficient memory.", 3),
        event("web.17c0", "shop", 3600, 3600, "Normal", "ScalingReplicaSet", "Deployment",
              "web", "Scaled up replica set web-7d4b9c8f6 to 3", 1),
    ]
    # a new-style event: no count/lastTimestamp, eventTime and series instead
    events.append({"apiVersion": "v1", "kind": "Event",
                   "metadata": meta("web.17c1", "shop", 200),
                   "involvedObject": {"kind": "Deployment", "namespace": "shop", "name": "web",
                                      "uid": "uid-web", "apiVersion": "apps/v1"},
                   "reason": "ReplicaSetUpdated", "message": "Updated replica set",
                   "type": "Normal", "eventTime": ts(200).replace("Z", ".123456Z"),
                   "series": {"count": 4, "lastObservedTime": ts(10).replace("Z", ".5Z")},
                   "reportingComponent": "deployment-controller",
                   "reportingInstance": "", "firstTimestamp": None, "lastTimestamp": None})
    nodes = [{
        "apiVersion": "v1", "kind": "Node",
        "metadata": meta(n, None, 864000, {"kubernetes.io/hostname": n,
                                           "node-role.kubernetes.io/worker": ""}),
        "spec": {"podCIDR": "10.244.1.0/24"},
        "status": {"capacity": {"cpu": "4", "memory": "16331712Ki", "pods": "110"},
                   "allocatable": {"cpu": "3800m", "memory": "15680512Ki", "pods": "110"},
                   "conditions": [
                       {"type": "MemoryPressure", "status": "True" if n == "node-2" else "False",
                        "reason": "KubeletHasInsufficientMemory"},
                       {"type": "DiskPressure", "status": "False"},
                       {"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                   "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "Debian GNU/Linux 12",
                                "containerRuntimeVersion": "containerd://1.7.0"}},
    } for n in ("node-1", "node-2")]
    services = [{"apiVersion": "v1", "kind": "Service",
                 "metadata": meta("web", "shop", 86400, {"app": "web"}),
                 "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.12",
                          "selector": {"app": "web"},
                          "ports": [{"name": "http", "port": 80, "targetPort": 8080,
                                     "protocol": "TCP"}]},
                 "status": {"loadBalancer": {}}}]
    configmaps = [{"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": meta("web-config", "shop", 86400),
                   "data": {"nginx.conf": "worker_processes 2;", "LOG_LEVEL": "info"}}]
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": meta(n, None, 900000),
                   "status": {"phase": "Active"}} for n in ("default", "shop")]

    objs = {}

    def put(gv, res, items):
        d = objs.setdefault((gv, res), {})
        for o in items:
            d.setdefault(o["metadata"].get("namespace", ""), {})[o["metadata"]["name"]] = o
    put("v1", "pods", pods)
    put("v1", "events", events)
    put("v1", "nodes", nodes)
    put("v1", "services", services)
    put("v1", "configmaps", configmaps)
    put("v1", "namespaces", namespaces)
    put("v1", "secrets", [])
    put("apps/v1", "deployments", deployments)
    put("apps/v1", "replicasets", replicasets)
    put("apps/v1", "statefulsets", [])
    put("apps/v1", "daemonsets", [])
    put("batch/v1", "jobs", [])
    put("batch/v1", "cronjobs", [])
    return objs


LOGS = {
    ("shop", "web-7d4b9c8f6-abcde", "app"): [
        f"{ts(100 - i)} GET /healthz 200 {i}ms" for i in range(40)],
    ("shop", "web-7d4b9c8f6-fghij", "app", "previous"): [
        "starting web", "loading config", "panic: out of memory",
        "\x1b[31mgoroutine 1 [running]\x1b[0m"],
}

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
RESOURCES = {
    "v1": [("pods", "Pod", True, ["po"]), ("pods/log", "Pod", True, None),
           ("pods/status", "Pod", True, None),
           ("events", "Event", True, ["ev"]), ("nodes", "Node", False, ["no"]),
           ("services", "Service", True, ["svc"]), ("configmaps", "ConfigMap", True, ["cm"]),
           ("namespaces", "Namespace", False, ["ns"]), ("secrets", "Secret", True, None)],
    "apps/v1": [("deployments", "Deployment", True, ["deploy"]),
                ("deployments/status", "Deployment", True, None),
                ("deployments/scale", "Scale", True, None),  # autoscaling/v1 (SUBRESOURCES)
                ("replicasets", "ReplicaSet", True, ["rs"]),
                ("statefulsets", "StatefulSet", True, ["sts"]),
                ("daemonsets", "DaemonSet", True, ["ds"])],
    "batch/v1": [("jobs", "Job", True, None), ("cronjobs", "CronJob", True, ["cj"])],
}


# subresources whose kind lives in another group, and the verbs they take (the rest: get)
SUBRESOURCES = {"deployments/scale": ("autoscaling", "v1", ["get", "patch", "update"])}


def resource_list(gv):
    out = []
    for name, kind, namespaced, short in RESOURCES[gv]:
        sub = "/" in name
        r = {"name": name, "singularName": "" if sub else kind.lower(),
             "namespaced": namespaced, "kind": kind,
             "verbs": ["get"] if sub else VERBS}
        if name in SUBRESOURCES:
            r["group"], r["version"], r["verbs"] = SUBRESOURCES[name]
        if short:
            r["shortNames"] = short
        if name in ("pods", "deployments", "services", "replicasets", "statefulsets",
                    "daemonsets", "jobs", "cronjobs"):
            r["categories"] = ["all"]
        out.append(r)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def selector_terms(sel):
    """Split a label selector on the commas that are not inside a set "(a, b)"."""
    terms, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "," and depth == 0:
            terms.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    terms.append(cur.strip())
    return [t for t in terms if t]


def match_labels(sel, labels):
    """Equality- and set-based requirements (API Concepts, "Label selectors")."""
    labels = labels or {}
    for term in selector_terms(sel):
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", term)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            inside = labels.get(m.group(1)) in values
            if inside != (m.group(2) == "in"):
                return False
        elif "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def field(obj, path):
    v = obj
    for p in path.split("."):
        v = v.get(p) if isinstance(v, dict) else None
    return v


def match_fields(sel, obj):
    for term in filter(None, (t.strip() for t in sel.split(","))):
        neg = "!=" in term
        k, v = term.replace("!=", "=").replace("==", "=").split("=", 1)
        got = field(obj, k)
        got = "" if got is None else str(got)
        if (got == v) == neg:
            return False
    return True


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch; for the maps kubectl patches here (metadata, spec.replicas,
    spec.template.metadata.annotations) a strategic merge patch means the same."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def reconcile(dep, before):
    """The deployment controller, at once: a new spec is a new generation, rolled out."""
    spec_changed = (dep["spec"].get("replicas") != before["spec"].get("replicas") or
                    dep["spec"].get("template") != before["spec"].get("template"))
    md = dep["metadata"]
    md["resourceVersion"] = str(int(md.get("resourceVersion", "1000")) + 1)
    if not spec_changed:
        return dep
    md["generation"] = md.get("generation", 1) + 1
    n = dep["spec"].get("replicas", 1)
    stuck = (md.get("annotations") or {}).get("forestall.test/stuck") == "true"
    ready = 0 if stuck else n
    dep["status"] = {"observedGeneration": md["generation"], "replicas": n,
                     "updatedReplicas": n, "readyReplicas": ready, "availableReplicas": ready,
                     "unavailableReplicas": n - ready,
                     "conditions": [{"type": "Available",
                                     "status": "False" if stuck else "True",
                                     "reason": "MinimumReplicasUnavailable" if stuck
                                     else "MinimumReplicasAvailable",
                                     "lastUpdateTime": ts(0), "lastTransitionTime": ts(0)},
                                    {"type": "Progressing", "status": "True",
                                     "reason": "ReplicaSetUpdated" if stuck
                                     else "NewReplicaSetAvailable",
                                     "lastUpdateTime": ts(0), "lastTransitionTime": ts(0)}]}
    return dep


def scale_of(dep):
    md = dep["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
                         "resourceVersion": md["resourceVersion"],
                         "creationTimestamp": md["creationTimestamp"]},
            "spec": {"replicas": dep["spec"].get("replicas", 1)},
            "status": {"replicas": dep["status"].get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in
                                            dep["spec"]["selector"]["matchLabels"].items())}}


def kubeconfig(port):
    return f"""apiVersion: v1
kind: Config
clusters:
- name: standin
  cluster:
    server: http://127.0.0.1:{port}
contexts:
- name: standin
  context:
    cluster: standin
    user: tester
current-context: standin
users:
- name: tester
  user: {{}}
"""


def write_kubectl_shim(path, real, log):
    """An executable at path that appends {"argv": [its arguments], "env": {its environment}}
    as one JSON line to log, then becomes the real kubectl with the same arguments."""
    import os
    with open(path, "w") as f:
        f.write(f"""#!{sys.executable}
# kubectl shim for forestall's tests (written by standin_kube.py): one JSON line with argv and
# environment to {log}, then the real {real} with the same argv and environment
import json, os, sys
with open({log!r}, "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ)}}) + "\\n")
os.execv({real!r}, [{real!r}] + sys.argv[1:])
""")
    os.chmod(path, 0o755)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    objs = None
    log_path = None
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def status(self, code, reason, message, details=None):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}
        if details:
            body["details"] = details
        self.send(code, body)

    def not_found(self, res=None, name=None):
        if res and name:
            self.status(404, "NotFound", f'{res} "{name}" not found',
                        {"name": name, "kind": res})
        else:
            self.status(404, "NotFound", "the server could not find the requested resource")

    def parse(self, body=None):
        """(path, query, parts), the request logged."""
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        entry = {"method": self.command, "path": u.path, "query": q}
        if body is not None:
            entry["content_type"] = self.headers.get("Content-Type", "")
            entry["body"] = body
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")
        parts = [urllib.parse.unquote(p) for p in u.path.strip("/").split("/")] if u.path != "/" \
            else []
        return u.path, q, parts

    def deployment_path(self, parts):
        """(namespace, name, subresource or None) of .../apps/v1/namespaces/NS/deployments/NAME
        [/scale], or None."""
        if (len(parts) in (7, 8) and parts[:3] == ["apis", "apps", "v1"] and
                parts[3] == "namespaces" and parts[5] == "deployments"):
            return parts[4], parts[6], parts[7] if len(parts) == 8 else None
        return None

    def do_PATCH(self):
        self.write()

    def do_PUT(self):
        self.write()

    def write(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode(errors="replace")
        _, _, parts = self.parse(body)
        where = self.deployment_path(parts)
        if not where or where[2] not in (None, "scale") or not isinstance(body, dict):
            return self.not_found()
        ns, name, sub = where
        with self.lock:
            dep = self.objs[("apps/v1", "deployments")].get(ns, {}).get(name)
            if dep is None:
                return self.not_found("deployments.apps", name)
            before = json.loads(json.dumps(dep))
            if sub == "scale":
                replicas = (body.get("spec") or {}).get("replicas")
                if not isinstance(replicas, int) or replicas < 0:
                    return self.status(422, "Invalid", "spec.replicas: Invalid value")
                dep["spec"]["replicas"] = replicas
            elif self.command == "PATCH":
                dep = merge_patch(dep, body)
            else:
                dep = body
            dep = reconcile(dep, before)
            self.objs[("apps/v1", "deployments")][ns][name] = dep
            out = scale_of(dep) if sub == "scale" else dep
        self.send(200, out)

    def do_GET(self):
        path, q, parts = self.parse()
        where = self.deployment_path(parts)
        if where and where[2] == "scale":
            dep = self.objs[("apps/v1", "deployments")].get(where[0], {}).get(where[1])
            if dep is None:
                return self.not_found("deployments.apps", where[1])
            return self.send(200, scale_of(dep))
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/version":
            return self.send(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.4",
                                   "gitCommit": "0", "gitTreeState": "clean",
                                   "buildDate": "2025-04-22T16:03:44Z", "goVersion": "go1.23.8",
                                   "compiler": "gc", "platform": "linux/amd64"})
        if u.path == "/api":
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"],
                                   "serverAddressByClientCIDRs": [
                                       {"clientCIDR": "0.0.0.0/0",
                                        "serverAddress": self.headers.get("Host", "")}]})
        if u.path == "/apis":
            groups = []
            for g in ("apps", "batch"):
                gv = {"groupVersion": f"{g}/v1", "version": "v1"}
                groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                   "groups": groups})
        if u.path == "/api/v1":
            return self.send(200, resource_list("v1"))
        if len(parts) == 3 and parts[0] == "apis" and f"{parts[1]}/{parts[2]}" in RESOURCES:
            return self.send(200, resource_list(f"{parts[1]}/{parts[2]}"))
        # resource paths
        if parts[:2] == ["api", "v1"]:
            gv, rest = "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return self.not_found()
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
            ns, rest = rest[1], rest[2:]
        if not rest or (gv, rest[0]) not in self.objs:
            return self.not_found()
        res, store = rest[0], self.objs[(gv, rest[0])]
        if len(rest) == 1:
            return self.list(gv, res, store, ns, q)
        name = rest[1]
        obj = store.get(ns or "", {}).get(name)
        if obj is None:
            return self.not_found(res, name)
        if len(rest) == 2:
            return self.send(200, obj)
        if len(rest) == 3 and res == "pods" and rest[2] == "log":
            return self.pod_log(ns, name, obj, q)
        return self.not_found()

    def list(self, gv, res, store, ns, q):
        items = []
        for space in sorted(store):
            if ns is not None and space != ns:
                continue
            for name in sorted(store[space]):
                o = store[space][name]
                if q.get("labelSelector") and not match_labels(q["labelSelector"],
                                                               o["metadata"].get("labels")):
                    continue
                if q.get("fieldSelector") and not match_fields(q["fieldSelector"], o):
                    continue
                items.append(o)
        if q.get("watch") in ("true", "1"):
            return self.watch(q)
        limit = int(q.get("limit") or 0)
        if limit > 0:
            items = items[:limit]
        kind = RESOURCES[gv][[r[0] for r in RESOURCES[gv]].index(res)][1] + "List"
        self.send(200, {"kind": kind, "apiVersion": gv,
                        "metadata": {"resourceVersion": "2002"}, "items": items})

    def watch(self, q):
        """A watch that reports no change: a chunked stream of watch events (none), held open
        until the client goes away or timeoutSeconds (at most 30 s) passes, then ended.
        kubectl rollout status starts an informer even with --watch=false."""
        import select
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        deadline = min(float(q.get("timeoutSeconds") or 30), 30.0)
        r, _, _ = select.select([self.connection], [], [], deadline)
        if not r:
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def pod_log(self, ns, name, obj, q):
        containers = [c["name"] for c in obj["spec"]["containers"]]
        c = q.get("container")
        if not c:
            if len(containers) != 1:
                return self.status(400, "BadRequest",
                                   f"a container name must be specified for pod {name}, "
                                   f"choose one of: [{' '.join(containers)}]")
            c = containers[0]
        if c not in containers:
            return self.status(400, "BadRequest",
                               f"container {c} is not valid for pod {name}")
        key = (ns, name, c) + (("previous",) if q.get("previous") == "true" else ())
        if key not in LOGS:
            return self.status(400, "BadRequest",
                               f'previous terminated container "{c}" in pod "{name}" not found')
        lines = LOGS[key]
        if q.get("tailLines"):
            lines = lines[-int(q["tailLines"]):]
        self.send(200, "".join(ln + "\n" for ln in lines).encode(), "text/plain")


def main():
    portfile, logfile = sys.argv[1], sys.argv[2]
    Handler.objs = make_objects()
    Handler.log_path = logfile
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
