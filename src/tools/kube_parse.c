/* kube_parse: the parser behind the kubernetes.* tools (kube_int.h): what `kubectl get -o json`
 * printed → compact rows an investigation can read at a glance (pods: phase, ready x/y,
 * restarts; deployments: desired/ready/updated/available; events newest first ...). A pure
 * function: no clock (now is passed in), files or processes. It must not trust the bytes: any
 * field may be missing or of the wrong type, and configmap values and secrets are never copied
 * out. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/time.h"
#include "tools/kube_int.h"

/* ---- reading a decoded object ------------------------------------------------------------ */

/* The member at a dotted path ("status.phase"), or NULL. Keys hold no dots here. */
static json_t *at(const json_t *o, const char *path)
{
    char key[64];
    const json_t *v = o;
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        v = json_is_object(v) ? json_object_get(v, key) : NULL;
        path += n + (path[n] == '.');
    }
    return (json_t *)v;
}

static const char *str_at(const json_t *o, const char *path)
{
    return json_string_value(at(o, path));
}

/* An integer at path (an integral JSON number), or def. */
static int64_t int_at(const json_t *o, const char *path, int64_t def)
{
    json_t *v = at(o, path);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    return def;
}

static bool true_at(const json_t *o, const char *path)
{
    return json_is_true(at(o, path));
}

/* A timestamp string at path in ms, or FS_TIME_UNSET. */
static int64_t time_at(const json_t *o, const char *path)
{
    const char *s = str_at(o, path);
    int64_t ms;
    if (!s || fs_time_parse_rfc3339(s, (size_t)-1, &ms) != 0)
        return FS_TIME_UNSET;
    return ms;
}

/* ---- building a row ---------------------------------------------------------------------- */

/* Building a row: the first failed set makes every later one a no-op and the row NULL. */
struct row {
    json_t *o;
    bool ok;
};

static void set(struct row *r, const char *k, json_t *v)
{
    if (!r->ok || !v) {
        json_decref(v);
        r->ok = false;
    } else if (json_object_set_new(r->o, k, v) < 0) { /* v is released either way */
        r->ok = false;
    }
}

/* A string copied from the input (already valid UTF-8: fs_json_parse checked it), or null. */
static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* s cut to at most FS_KUBE_MAX_MESSAGE bytes at a character boundary, with "..." when cut. */
static json_t *jmsg(const char *s)
{
    if (!s)
        return json_null();
    size_t n = strlen(s);
    if (n <= FS_KUBE_MAX_MESSAGE)
        return json_string(s);
    size_t cut = FS_KUBE_MAX_MESSAGE - 3;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    char *t = fs_malloc(cut + 4);
    if (!t)
        return NULL;
    memcpy(t, s, cut);
    memcpy(t + cut, "...", 4);
    json_t *j = json_string(t);
    free(t);
    return j;
}

static json_t *jtime(int64_t ms)
{
    char b[40];
    return ms == FS_TIME_UNSET ? json_null() : json_string(fs_time_format(ms, b, sizeof(b)));
}

static json_t *jage(int64_t ms, int64_t now_ms)
{
    if (ms == FS_TIME_UNSET)
        return json_null();
    int64_t age = (now_ms - ms) / 1000;
    return json_integer(age < 0 ? 0 : age);
}

static void common(struct row *r, const json_t *item, int64_t now_ms)
{
    set(r, "name", jstr(str_at(item, "metadata.name")));
    set(r, "namespace", jstr(str_at(item, "metadata.namespace")));
    set(r, "age_s", jage(time_at(item, "metadata.creationTimestamp"), now_ms));
}

/* [{type, status, reason, message}] of a conditions array (at most 16). */
static json_t *conditions(const json_t *arr)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    if (!out)
        return NULL;
    json_array_foreach(arr, i, c)
    {
        if (i >= 16)
            break;
        if (!json_is_object(c))
            continue;
        struct row r = {json_object(), true};
        r.ok = r.o != NULL;
        set(&r, "type", jstr(str_at(c, "type")));
        set(&r, "status", jstr(str_at(c, "status")));
        set(&r, "reason", jstr(str_at(c, "reason")));
        set(&r, "message", jmsg(str_at(c, "message")));
        if (!r.ok || json_array_append_new(out, r.o) < 0) {
            json_decref(r.ok ? NULL : r.o);
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* ---- kinds -------------------------------------------------------------------------------- */

/* kubectl's STATUS column for a pod, simplified from printPod: the pod's reason or phase,
 * overridden by an unfinished init container, then by a container that is waiting or
 * terminated, and "Terminating" once deletion started. */
static void pod_status(const json_t *item, char *out, size_t size)
{
    const char *reason = str_at(item, "status.reason");
    if (!reason)
        reason = str_at(item, "status.phase");
    snprintf(out, size, "%s", reason ? reason : "Unknown");
    json_t *inits = at(item, "status.initContainerStatuses");
    size_t n_init = json_array_size(at(item, "spec.initContainers"));
    size_t i;
    json_t *c;
    bool initializing = false;
    json_array_foreach(inits, i, c)
    {
        if (int_at(c, "state.terminated.exitCode", -1) == 0)
            continue;
        initializing = true;
        const char *w = str_at(c, "state.waiting.reason");
        const char *t = str_at(c, "state.terminated.reason");
        if (t)
            snprintf(out, size, "Init:%s", t);
        else if (w && strcmp(w, "PodInitializing"))
            snprintf(out, size, "Init:%s", w);
        else
            snprintf(out, size, "Init:%zu/%zu", i, n_init ? n_init : json_array_size(inits));
        break;
    }
    if (!initializing) {
        json_array_foreach(at(item, "status.containerStatuses"), i, c)
        {
            const char *w = str_at(c, "state.waiting.reason");
            const char *t = str_at(c, "state.terminated.reason");
            if (w && *w)
                snprintf(out, size, "%s", w);
            else if (t && *t)
                snprintf(out, size, "%s", t);
            else if (at(c, "state.terminated")) {
                int64_t sig = int_at(c, "state.terminated.signal", 0);
                if (sig)
                    snprintf(out, size, "Signal:%lld", (long long)sig);
                else
                    snprintf(out, size, "ExitCode:%lld",
                             (long long)int_at(c, "state.terminated.exitCode", 0));
            }
        }
    }
    if (at(item, "metadata.deletionTimestamp") &&
        !json_is_null(at(item, "metadata.deletionTimestamp")))
        snprintf(out, size, "Terminating");
}

static json_t *pod_container(const json_t *c)
{
    struct row r = {json_object(), true};
    r.ok = r.o != NULL;
    const char *state = at(c, "state.running")      ? "running"
                        : at(c, "state.waiting")    ? "waiting"
                        : at(c, "state.terminated") ? "terminated"
                                                    : "unknown";
    const char *reason = str_at(c, "state.waiting.reason");
    if (!reason)
        reason = str_at(c, "state.terminated.reason");
    set(&r, "name", jstr(str_at(c, "name")));
    set(&r, "ready", json_boolean(true_at(c, "ready")));
    set(&r, "restarts", json_integer(int_at(c, "restartCount", 0)));
    set(&r, "state", json_string(state));
    set(&r, "reason", jstr(reason));
    if (at(c, "lastState.terminated")) {
        set(&r, "last_reason", jstr(str_at(c, "lastState.terminated.reason")));
        set(&r, "last_exit_code", json_integer(int_at(c, "lastState.terminated.exitCode", 0)));
    }
    if (!r.ok) {
        json_decref(r.o);
        return NULL;
    }
    return r.o;
}

static void pod_row(struct row *r, const json_t *item, int64_t now_ms)
{
    char status[96], ready[48];
    pod_status(item, status, sizeof(status));
    json_t *cs = at(item, "status.containerStatuses");
    size_t total = json_array_size(at(item, "spec.containers"));
    int64_t nready = 0, restarts = 0;
    json_t *arr = json_array();
    set(r, "containers", arr);
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c)
    {
        if (!json_is_object(c) || i >= 64)
            continue;
        nready += true_at(c, "ready");
        int64_t rc = int_at(c, "restartCount", 0);
        if (rc > 0 && restarts < INT64_MAX - rc)
            restarts += rc;
        json_t *pc = pod_container(c);
        if (!r->ok || !pc || json_array_append_new(arr, pc) < 0)
            r->ok = false;
    }
    if (json_array_size(cs) > total)
        total = json_array_size(cs);
    snprintf(ready, sizeof(ready), "%lld/%zu", (long long)nready, total);
    set(r, "phase", jstr(str_at(item, "status.phase")));
    set(r, "status", json_string(status));
    set(r, "ready", json_string(ready));
    set(r, "ready_containers", json_integer(nready));
    set(r, "containers_total", json_integer((json_int_t)total));
    set(r, "restarts", json_integer(restarts));
    set(r, "node", jstr(str_at(item, "spec.nodeName")));
    set(r, "ip", jstr(str_at(item, "status.podIP")));
}

static json_t *images(const json_t *item)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(at(item, "spec.template.spec.containers"), i, c)
    {
        const char *img = str_at(c, "image");
        if (!out || i >= 32)
            break;
        if (img && json_array_append_new(out, json_string(img)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static void deployment_row(struct row *r, const json_t *item)
{
    int64_t desired = int_at(item, "spec.replicas", 1);
    set(r, "desired", json_integer(desired));
    set(r, "ready", json_integer(int_at(item, "status.readyReplicas", 0)));
    set(r, "updated", json_integer(int_at(item, "status.updatedReplicas", 0)));
    set(r, "available", json_integer(int_at(item, "status.availableReplicas", 0)));
    set(r, "unavailable", json_integer(int_at(item, "status.unavailableReplicas", 0)));
    set(r, "generation", json_integer(int_at(item, "metadata.generation", 0)));
    set(r, "observed_generation", json_integer(int_at(item, "status.observedGeneration", 0)));
    set(r, "paused", json_boolean(true_at(item, "spec.paused")));
    set(r, "conditions", conditions(at(item, "status.conditions")));
    set(r, "images", images(item));
}

static void statefulset_row(struct row *r, const json_t *item)
{
    set(r, "desired", json_integer(int_at(item, "spec.replicas", 1)));
    set(r, "ready", json_integer(int_at(item, "status.readyReplicas", 0)));
    set(r, "current", json_integer(int_at(item, "status.currentReplicas", 0)));
    set(r, "updated", json_integer(int_at(item, "status.updatedReplicas", 0)));
    set(r, "available", json_integer(int_at(item, "status.availableReplicas", 0)));
    set(r, "images", images(item));
}

static void daemonset_row(struct row *r, const json_t *item)
{
    set(r, "desired", json_integer(int_at(item, "status.desiredNumberScheduled", 0)));
    set(r, "current", json_integer(int_at(item, "status.currentNumberScheduled", 0)));
    set(r, "ready", json_integer(int_at(item, "status.numberReady", 0)));
    set(r, "updated", json_integer(int_at(item, "status.updatedNumberScheduled", 0)));
    set(r, "available", json_integer(int_at(item, "status.numberAvailable", 0)));
    set(r, "misscheduled", json_integer(int_at(item, "status.numberMisscheduled", 0)));
    set(r, "images", images(item));
}

static void replicaset_row(struct row *r, const json_t *item)
{
    set(r, "desired", json_integer(int_at(item, "spec.replicas", 1)));
    set(r, "current", json_integer(int_at(item, "status.replicas", 0)));
    set(r, "ready", json_integer(int_at(item, "status.readyReplicas", 0)));
    json_t *own = json_array_get(at(item, "metadata.ownerReferences"), 0);
    char owner[320] = "";
    if (str_at(own, "kind") && str_at(own, "name"))
        snprintf(owner, sizeof(owner), "%s/%s", str_at(own, "kind"), str_at(own, "name"));
    set(r, "owner", owner[0] ? json_string(owner) : json_null());
}

static void service_row(struct row *r, const json_t *item)
{
    json_t *ports = json_array(), *ext = json_array();
    set(r, "type", jstr(str_at(item, "spec.type")));
    set(r, "cluster_ip", jstr(str_at(item, "spec.clusterIP")));
    set(r, "ports", ports);
    set(r, "external", ext);
    size_t i;
    json_t *p;
    json_array_foreach(at(item, "spec.ports"), i, p)
    {
        if (!r->ok || i >= 64)
            break;
        char s[96];
        const char *proto = str_at(p, "protocol");
        int64_t port = int_at(p, "port", 0), np = int_at(p, "nodePort", 0);
        if (np)
            snprintf(s, sizeof(s), "%lld:%lld/%s", (long long)port, (long long)np,
                     proto ? proto : "TCP");
        else
            snprintf(s, sizeof(s), "%lld/%s", (long long)port, proto ? proto : "TCP");
        if (json_array_append_new(ports, json_string(s)) < 0)
            r->ok = false;
    }
    json_array_foreach(at(item, "status.loadBalancer.ingress"), i, p)
    {
        const char *a = str_at(p, "ip") ? str_at(p, "ip") : str_at(p, "hostname");
        if (!r->ok || i >= 16)
            break;
        if (a && json_array_append_new(ext, json_string(a)) < 0)
            r->ok = false;
    }
    json_t *sel = at(item, "spec.selector");
    json_t *copy = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(sel, k, v)
    {
        if (copy && json_is_string(v) && json_object_size(copy) < 32)
            json_object_set(copy, k, v);
    }
    set(r, "selector", copy);
}

static void node_row(struct row *r, const json_t *item)
{
    const char *ready = "Unknown";
    json_t *pressure = json_array(), *roles = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(at(item, "status.conditions"), i, c)
    {
        const char *type = str_at(c, "type"), *st = str_at(c, "status");
        if (!type || !st)
            continue;
        if (!strcmp(type, "Ready"))
            ready = !strcmp(st, "True") ? "Ready" : !strcmp(st, "False") ? "NotReady" : "Unknown";
        else if (!strcmp(st, "True") && pressure && json_array_size(pressure) < 16)
            json_array_append_new(pressure, json_string(type));
    }
    char status[64];
    snprintf(status, sizeof(status), "%s%s", ready,
             true_at(item, "spec.unschedulable") ? ",SchedulingDisabled" : "");
    const char *k;
    json_t *v;
    static const char role_prefix[] = "node-role.kubernetes.io/";
    json_object_foreach(at(item, "metadata.labels"), k, v)
    {
        if (roles && !strncmp(k, role_prefix, sizeof(role_prefix) - 1) &&
            json_array_size(roles) < 16)
            json_array_append_new(roles, json_string(k + sizeof(role_prefix) - 1));
    }
    set(r, "status", json_string(status));
    set(r, "roles", roles);
    set(r, "pressure", pressure);
    set(r, "kubelet_version", jstr(str_at(item, "status.nodeInfo.kubeletVersion")));
    set(r, "cpu_capacity", jstr(str_at(item, "status.capacity.cpu")));
    set(r, "memory_capacity", jstr(str_at(item, "status.capacity.memory")));
    set(r, "cpu_allocatable", jstr(str_at(item, "status.allocatable.cpu")));
    set(r, "memory_allocatable", jstr(str_at(item, "status.allocatable.memory")));
}

/* When an event last happened: lastTimestamp, else series.lastObservedTime, else eventTime,
 * else its creation. */
static int64_t event_last(const json_t *item)
{
    static const char *const paths[] = {"lastTimestamp", "series.lastObservedTime", "eventTime",
                                        "metadata.creationTimestamp"};
    for (size_t i = 0; i < FS_ARRAY_LEN(paths); i++) {
        int64_t t = time_at(item, paths[i]);
        if (t != FS_TIME_UNSET)
            return t;
    }
    return FS_TIME_UNSET;
}

static void event_row(struct row *r, const json_t *item, int64_t now_ms)
{
    char obj[320];
    const char *kind = str_at(item, "involvedObject.kind");
    const char *name = str_at(item, "involvedObject.name");
    snprintf(obj, sizeof(obj), "%s/%s", kind ? kind : "?", name ? name : "?");
    int64_t count = int_at(item, "count", 0);
    if (count <= 0)
        count = int_at(item, "series.count", 1);
    int64_t first = time_at(item, "firstTimestamp");
    if (first == FS_TIME_UNSET)
        first = time_at(item, "eventTime");
    int64_t last = event_last(item);
    const char *src = str_at(item, "source.component");
    if (!src || !*src)
        src = str_at(item, "reportingComponent");
    set(r, "type", jstr(str_at(item, "type")));
    set(r, "reason", jstr(str_at(item, "reason")));
    set(r, "object", json_string(obj));
    set(r, "namespace", jstr(str_at(item, "metadata.namespace")));
    set(r, "message", jmsg(str_at(item, "message")));
    set(r, "count", json_integer(count));
    set(r, "first_time", jtime(first));
    set(r, "last_time", jtime(last));
    set(r, "age_s", jage(last, now_ms));
    set(r, "source", jstr(src && *src ? src : NULL));
}

static void job_row(struct row *r, const json_t *item)
{
    char comp[64];
    int64_t succeeded = int_at(item, "status.succeeded", 0);
    snprintf(comp, sizeof(comp), "%lld/%lld", (long long)succeeded,
             (long long)int_at(item, "spec.completions", 1));
    int64_t start = time_at(item, "status.startTime");
    int64_t done = time_at(item, "status.completionTime");
    set(r, "completions", json_string(comp));
    set(r, "active", json_integer(int_at(item, "status.active", 0)));
    set(r, "succeeded", json_integer(succeeded));
    set(r, "failed", json_integer(int_at(item, "status.failed", 0)));
    set(r, "start_time", jtime(start));
    set(r, "completion_time", jtime(done));
    set(r, "duration_s",
        start != FS_TIME_UNSET && done != FS_TIME_UNSET && done >= start
            ? json_integer((done - start) / 1000)
            : json_null());
    set(r, "conditions", conditions(at(item, "status.conditions")));
}

static void cronjob_row(struct row *r, const json_t *item)
{
    set(r, "schedule", jstr(str_at(item, "spec.schedule")));
    set(r, "suspend", json_boolean(true_at(item, "spec.suspend")));
    set(r, "active", json_integer((json_int_t)json_array_size(at(item, "status.active"))));
    set(r, "last_schedule_time", jtime(time_at(item, "status.lastScheduleTime")));
    set(r, "last_successful_time", jtime(time_at(item, "status.lastSuccessfulTime")));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The key names of data and binaryData, sorted; never the values. */
static void configmap_row(struct row *r, const json_t *item)
{
    const char *names[256];
    size_t n = 0;
    static const char *const maps[] = {"data", "binaryData"};
    for (size_t m = 0; m < FS_ARRAY_LEN(maps); m++) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(item, maps[m]), k, v)
        {
            if (n < FS_ARRAY_LEN(names))
                names[n++] = k;
        }
    }
    qsort(names, n, sizeof(names[0]), cmp_str);
    json_t *keys = json_array();
    for (size_t i = 0; keys && i < n; i++)
        if (json_array_append_new(keys, json_string(names[i])) < 0)
            r->ok = false;
    set(r, "keys", keys);
}

static json_t *item_row(const json_t *item, const char *kind, int64_t now_ms)
{
    struct row r = {json_object(), true};
    r.ok = r.o != NULL;
    common(&r, item, now_ms);
    if (fs_streq(kind, "pods"))
        pod_row(&r, item, now_ms);
    else if (fs_streq(kind, "deployments"))
        deployment_row(&r, item);
    else if (fs_streq(kind, "statefulsets"))
        statefulset_row(&r, item);
    else if (fs_streq(kind, "daemonsets"))
        daemonset_row(&r, item);
    else if (fs_streq(kind, "replicasets"))
        replicaset_row(&r, item);
    else if (fs_streq(kind, "services"))
        service_row(&r, item);
    else if (fs_streq(kind, "nodes"))
        node_row(&r, item);
    else if (fs_streq(kind, "events"))
        event_row(&r, item, now_ms);
    else if (fs_streq(kind, "jobs"))
        job_row(&r, item);
    else if (fs_streq(kind, "cronjobs"))
        cronjob_row(&r, item);
    else if (fs_streq(kind, "configmaps"))
        configmap_row(&r, item);
    else
        set(&r, "kind", jstr(str_at(item, "kind")));
    if (!r.ok) {
        json_decref(r.o);
        return NULL;
    }
    return r.o;
}

/* ---- the list ----------------------------------------------------------------------------- */

struct ev_sort {
    int64_t last;
    size_t idx;
    json_t *row;
};

/* Newest first; ties keep kubectl's order. */
static int cmp_event(const void *a, const void *b)
{
    const struct ev_sort *x = a, *y = b;
    if (x->last != y->last)
        return x->last > y->last ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int sort_events(json_t *rows, struct fs_err *err)
{
    size_t n = json_array_size(rows);
    if (n < 2)
        return 0;
    struct ev_sort *v = fs_calloc(n, sizeof(*v));
    if (!v)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        v[i].row = json_incref(json_array_get(rows, i));
        v[i].idx = i;
        int64_t t = FS_TIME_UNSET;
        const char *s = json_string_value(json_object_get(v[i].row, "last_time"));
        if (s)
            fs_time_parse_rfc3339(s, (size_t)-1, &t);
        v[i].last = t;
    }
    qsort(v, n, sizeof(*v), cmp_event);
    json_array_clear(rows);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(rows, v[i].row) < 0)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    free(v);
    return rc;
}

int fs_kube_parse(const char *buf, size_t len, const char *kind, int64_t now_ms, json_t **out,
                  struct fs_err *err)
{
    *out = NULL;
    json_t *root = NULL;
    struct fs_err je = {0};
    int rc = fs_json_parse(buf, len, FS_KUBE_MAX_DEPTH, &root, &je);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, NULL, "kubectl did not print JSON: %s",
                          je.msg);
    if (!json_is_object(root)) {
        const char *type = fs_json_type_name(root); /* a static string */
        json_decref(root);
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, NULL,
                          "kubectl printed a JSON %s, expected an object", type);
    }
    if (fs_streq(str_at(root, "kind"), "Status")) {
        char reason[128], msg[320];
        snprintf(reason, sizeof(reason), "%s",
                 str_at(root, "reason") ? str_at(root, "reason") : "(no reason)");
        snprintf(msg, sizeof(msg), "%s",
                 str_at(root, "message") ? str_at(root, "message") : "(no message)");
        long long code = (long long)int_at(root, "code", 0);
        json_decref(root);
        return fs_err_set(err, FS_E_PROTOCOL, NULL, "the API server answered %s (%lld): %s", reason,
                          code, msg);
    }
    json_t *items = json_object_get(root, "items");
    bool list = items != NULL;
    if (list && !json_is_array(items)) {
        json_decref(root);
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, NULL, "items: expected an array");
    }
    if (!list && !json_is_object(json_object_get(root, "metadata"))) {
        json_decref(root);
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, NULL,
                          "expected a list (items) or an object with metadata");
    }
    json_t *res = json_object(), *rows = json_array();
    rc = 0;
    if (!res || !rows || json_object_set_new(res, "items", rows) < 0) {
        json_decref(res ? NULL : rows);
        rc = -FS_E_NOMEM;
    }
    int64_t unparsed = 0;
    size_t n = list ? json_array_size(items) : 1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *item = list ? json_array_get(items, i) : root;
        if (!json_is_object(item)) {
            unparsed++;
            continue;
        }
        json_t *row = item_row(item, kind, now_ms);
        if (!row || json_array_append_new(rows, row) < 0)
            rc = -FS_E_NOMEM;
    }
    if (rc == 0 && fs_streq(kind, "events"))
        rc = sort_events(rows, err);
    if (rc == 0 &&
        (json_object_set_new(res, "kind", json_string(kind ? kind : "")) < 0 ||
         json_object_set_new(res, "count", json_integer((json_int_t)json_array_size(rows))) < 0 ||
         json_object_set_new(res, "unparsed", json_integer(unparsed)) < 0))
        rc = -FS_E_NOMEM;
    json_decref(root);
    if (rc < 0) {
        json_decref(res);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    *out = res;
    return 0;
}
