// The console: a small single-page app with hash routes over the JSON API. Every view is a
// function that fills #view and may return a refresh function the router calls on a timer
// (polling: the list and the incident page follow what the daemon does as it does it). Buttons
// are shown only to roles that may use them; the server checks again on every call.
import { api, apiText, ApiError, setCsrf, h, clear, when } from './api.js';
import { renderMarkdown } from './md.js';
import { trendFrom, trendChart } from './chart.js';

const STATES = ['new', 'investigating', 'proposed', 'awaiting_approval', 'executing',
  'verifying', 'resolved', 'escalated', 'no_action', 'shadowed', 'blocked'];
const POLL_MS = 1500;

let me = null;
const view = document.getElementById('view');

function flash(msg, bad = true) {
  const p = document.getElementById('flash');
  p.textContent = msg;
  p.className = bad ? 'flash bad' : 'flash good';
  p.hidden = !msg;
}

function errText(e) {
  return e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
}

const badge = (text, kind) => h(`span.badge.${kind ?? String(text).replace(/[^a-z_]/g, '')}`,
  null, text);
const json = (v) => h('pre.json', null, JSON.stringify(v, null, 2));

// ---- incidents -------------------------------------------------------------------------------

function incidentsView() {
  const q = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const status = h('select#f-status', { name: 'status' },
    ['open', 'resolved', 'all'].map((s) => h('option', { value: s, selected: q.get('status') === s },
      s)));
  const severity = h('select#f-severity', { name: 'severity' },
    ['', 'info', 'warning', 'critical'].map((s) => h('option', { value: s }, s || 'any severity')));
  const state = h('select#f-state', { name: 'state' },
    [''].concat(STATES).map((s) => h('option', { value: s }, s || 'any state')));
  const text = h('input#f-text', { type: 'search', placeholder: 'filter: id, title, label…' });
  const body = h('tbody#incident-rows');
  const count = h('span.muted');
  if (!q.get('status')) status.value = 'all';
  let last = '';
  async function refresh() {
    const p = new URLSearchParams({ limit: '200', status: status.value });
    if (severity.value) p.set('severity', severity.value);
    const list = await api(`/api/v1/incidents?${p}`);
    const needle = text.value.trim().toLowerCase();
    const shown = list.filter((i) => (!state.value || i.state === state.value) &&
      (!needle || JSON.stringify([i.id, i.title, i.labels]).toLowerCase().includes(needle)));
    const key = JSON.stringify(shown.map((i) => [i.id, i.state, i.status, i.updatedAt]));
    if (key === last) return;
    last = key;
    clear(body).append(...shown.map((i) => h('tr.incident-row', { dataset: { id: i.id } },
      h('td', null, h('a', { href: `#/incidents/${i.id}` }, i.id)),
      h('td', null, badge(i.severity)),
      h('td', null, h('a', { href: `#/incidents/${i.id}` }, i.title)),
      h('td', null, badge(i.state ?? 'new', 'state')),
      h('td', null, i.status),
      h('td', null, when(i.updatedAt)))));
    if (!shown.length) body.append(h('tr', null, h('td', { colspan: 6, class: 'muted' },
      'No incidents match.')));
    count.textContent = `${shown.length} of ${list.length}`;
  }
  for (const el of [status, severity, state]) el.addEventListener('change', () => refresh());
  text.addEventListener('input', () => refresh());
  clear(view).append(h('h1', null, 'Incidents ', count),
    h('div.filters', null, status, severity, state, text),
    h('table.list', null, h('thead', null, h('tr', null, ['id', 'severity', 'title', 'handling',
      'status', 'updated'].map((c) => h('th', null, c)))), body));
  return refresh;
}

// ---- a proposal and the gate's decision ------------------------------------------------------

function contributions(title, risk) {
  if (!risk) return null;
  return h('div.risk', null,
    h('h4', null, `${title}: ${risk.score} (${risk.level})`),
    h('table.contrib', null, h('thead', null, h('tr', null, h('th', null, 'factor'),
      h('th', null, 'points'), h('th', null, 'why'))),
    h('tbody', null, (risk.contributions ?? []).map((c) => h('tr', null,
      h('td', null, c.factor), h('td.num', null, c.points), h('td', null, c.detail))))));
}

function decide(p, onDone) {
  if (p.status !== 'pending' || !me.can.approve) return null;
  const comment = h('input.comment', { type: 'text', placeholder: 'comment or reason',
    maxlength: 500 });
  const out = h('span.result');
  async function act(kind) {
    const body = kind === 'reject' ? { reason: comment.value || 'rejected in the console' }
      : { comment: comment.value || undefined, force_override: kind === 'force' };
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    try {
      await api(`/api/v1/proposals/${p.id}/${kind === 'reject' ? 'reject' : 'approve'}`,
        { method: 'POST', body });
      out.textContent = kind === 'reject' ? 'rejected' : 'approved';
      flash('', false);
      onDone?.();
    } catch (e) {
      out.textContent = errText(e);
      for (const b of box.querySelectorAll('button')) b.disabled = false;
    }
  }
  const needsForce = p.decision === 'needs_force_override';
  const box = h('div.decide', null, comment,
    !needsForce && h('button.approve', { type: 'button', onclick: () => act('approve') },
      'Approve'),
    needsForce && me.can.forceOverride && h('button.force', { type: 'button',
      onclick: () => act('force') }, 'Force-override'),
    needsForce && !me.can.forceOverride && h('span.muted', null,
      'needs FORCE_OVERRIDE (role overrider)'),
    h('button.reject', { type: 'button', onclick: () => act('reject') }, 'Reject'), out);
  return box;
}

function proposalCard(p, onDone) {
  const g = p.gate ?? {};
  const doc = p.proposal ?? {};
  return h('section.proposal', { dataset: { id: p.id, status: p.status } },
    h('h3', null, h('a', { href: `#/proposals/${p.id}` }, p.id), ' ', doc.action ?? p.action, ' ',
      badge(p.status, 'pstatus'), ' ', badge(p.decision, 'decision')),
    h('p', null, 'proposed by ', h('strong', null, p.proposer ?? ''), ` at ${when(p.createdAt)}`,
      p.expiresAt ? ` · approval window closes ${when(p.expiresAt)}` : ''),
    doc.rationale && h('p.rationale', null, doc.rationale),
    h('div.cols', null,
      h('div', null, h('h4', null, 'params'), json(doc.params ?? {})),
      h('div', null, h('h4', null, 'target'), json(doc.target ?? {}))),
    h('h4', null, `Gate: ${g.decision ?? p.decision}`, g.rule ? ` (rule ${g.rule} ${g.rule_name})`
      : ''),
    g.mode && h('p.muted', null, `mode ${g.mode.mode} (${g.mode.source})`),
    h('ul.reasons', null, (g.reasons ?? []).map((r) => h('li', null, r))),
    contributions('Action risk', g.risk ?? p.risk),
    contributions('Incident risk', g.incident_risk),
    g.rules && h('details', null, h('summary', null, 'All 13 rules'),
      h('table.rules', null, h('tbody', null, g.rules.map((r) => h(`tr${r.matched ? '.matched' : ''}`,
        null, h('td.num', null, r.rule), h('td', null, r.name), h('td', null, r.detail)))))),
    (p.approvals ?? []).length > 0 && h('div', null, h('h4', null, 'Decisions'),
      h('ul', null, p.approvals.map((a) => h('li', null,
        `${a.kind ?? 'approval'} by ${a.approver ?? a.actor ?? a.by ?? '?'} at ${when(a.createdAt ?? a.at)}`,
        a.comment ? ` — ${a.comment}` : ''))), null),
    p.decidedBy && h('p', null, `decided by ${p.decidedBy} at ${when(p.decidedAt)}`,
      p.reason ? ` — ${p.reason}` : ''),
    decide(p, onDone));
}

function proposalsView() {
  const status = h('select#p-status', null, ['', 'pending', 'approved', 'rejected', 'expired',
    'blocked', 'shadow'].map((s) => h('option', { value: s }, s || 'any status')));
  const body = h('tbody');
  let last = '';
  async function refresh() {
    const list = await api(`/api/v1/proposals?limit=200${status.value ?
      `&status=${status.value}` : ''}`);
    const key = JSON.stringify(list.map((p) => [p.id, p.status]));
    if (key === last) return;
    last = key;
    clear(body).append(...list.map((p) => h('tr', null,
      h('td', null, h('a', { href: `#/proposals/${p.id}` }, p.id)),
      h('td', null, h('a', { href: `#/incidents/${p.incidentId}` }, p.incidentId ?? '')),
      h('td', null, p.action), h('td', null, badge(p.decision, 'decision')),
      h('td', null, badge(p.status, 'pstatus')),
      h('td.num', null, p.risk ? `${p.risk.score} ${p.risk.level}` : ''),
      h('td', null, when(p.createdAt)))));
  }
  status.addEventListener('change', () => { last = ''; refresh(); });
  clear(view).append(h('h1', null, 'Proposals'), h('div.filters', null, status),
    h('table.list', null, h('thead', null, h('tr', null, ['id', 'incident', 'action', 'gate',
      'status', 'risk', 'created'].map((c) => h('th', null, c)))), body));
  return refresh;
}

function proposalView(id) {
  let last = '';
  async function refresh() {
    const p = await api(`/api/v1/proposals/${encodeURIComponent(id)}`);
    const key = JSON.stringify(p);
    if (key === last) return;
    last = key;
    clear(view).append(h('p', null, h('a', { href: `#/incidents/${p.incidentId}` },
      `← ${p.incidentId}`)), proposalCard(p, () => { last = ''; refresh(); }));
  }
  return refresh;
}

// ---- an incident -----------------------------------------------------------------------------

function observationItem(o) {
  return h('details.obs', { dataset: { id: o.id } },
    h('summary', null, `${when(o.ts)} ${o.id} `, h('strong', null, o.tool),
      ` (${o.durationMs ?? '?'} ms, ${o.actor ?? ''})`),
    h('h5', null, 'input'), json(o.input ?? {}),
    h('h5', null, 'result'), h('pre', null, o.output ?? ''));
}

function timelineDetail(t) {
  const d = t.detail ?? {};
  if (t.kind === 'state') return `${d.from} → ${d.to}${d.summary ? ` — ${d.summary}` : ''}`;
  return Object.entries(d).filter(([, v]) => typeof v !== 'object')
    .map(([k, v]) => `${k}=${v}`).join(' ');
}

function incidentView(id) {
  let last = '';
  async function refresh() {
    const [inc, trace] = await Promise.all([
      api(`/api/v1/incidents/${encodeURIComponent(id)}`),
      api(`/api/v1/incidents/${encodeURIComponent(id)}/trace`)]);
    const key = JSON.stringify([inc, trace]);
    if (key === last) return;
    last = key;
    const trend = trendFrom(trace, inc.labels?.mountpoint);
    const diskish = /disk|filesystem|fs_usage|space/i.test(inc.title) || trend.points.length > 0;
    const inv = trace.investigations ?? [];
    clear(view).append(
      h('h1', null, `${inc.id} `, badge(inc.severity), ' ', inc.title),
      h('p.summary', null, 'handling ', h('strong#incident-state', { dataset: { state: inc.state } },
        inc.state), ` · ${inc.status} · opened ${when(inc.createdAt)}`,
        inc.resolvedAt ? ` · resolved ${when(inc.resolvedAt)}` : '', ' · ',
        h('a', { href: `#/incidents/${inc.id}/postmortem` }, 'post-mortem')),
      diskish && trend.points.length > 0 && h('section.trend', null, h('h2', null,
        'Usage and forecast'), trendChart(trend), h('p.muted', null, trend.forecast
        ? trend.forecast.summary : 'No forecast was recorded (is tools.prometheus_url set?).')),
      h('section', null, h('h2', null, 'Proposals'), (trace.proposals ?? []).length
        ? trace.proposals.map((p) => proposalCard(p, () => { last = ''; refresh(); }))
        : h('p.muted', null, 'No proposal yet.')),
      h('section', null, h('h2', null, 'Investigation'), inv.length ? inv.map((i) => h('div.inv',
        null, h('p', null, `${i.id} · ${i.planner}${i.playbook ? ` ${i.playbook}` : ''} · `,
          badge(i.status, 'state'), i.rootCause ? ` · root cause ${i.rootCause}` : ''),
        i.summary && h('p', null, i.summary),
        h('ol.reasoning', null, (i.result?.reasoning ?? []).map((r) => h('li', null, r))),
        i.result?.forecast && h('p', null, 'forecast: ', i.result.forecast.summary ?? ''),
        (i.result?.followups ?? []).length > 0 && h('div', null, h('h4', null, 'Follow-ups'),
          h('ul', null, i.result.followups.map((f) => h('li', null, f)))))) :
        h('p.muted', null, 'Not investigated yet.')),
      h('section', null, h('h2', null, `Tool calls and results (${(trace.observations ?? [])
        .length})`), (trace.observations ?? []).map(observationItem)),
      h('section', null, h('h2', null, 'Executions'), (trace.executions ?? []).length
        ? trace.executions.map((e) => h('div.exec', { dataset: { outcome: e.outcome ?? '' } },
          h('p', null, `${e.id} ${e.action} on ${e.targetKey ?? ''} · `,
            badge(e.outcome ?? 'running', 'state')),
          h('ol', null, (e.steps ?? []).map((s) => h('li', null, `${when(s.ts)} ${s.state}`))),
          h('details', null, h('summary', null, 'step details'), json(e.steps ?? []))))
        : h('p.muted', null, 'Nothing ran.')),
      h('section', null, h('h2', null, 'Timeline'), h('table.list', null, h('tbody', null,
        (inc.timeline ?? []).map((t) => h('tr', null, h('td', null, when(t.ts)),
          h('td', null, t.kind), h('td', null, timelineDetail(t))))))),
      h('section', null, h('h2', null, 'Alerts'), h('table.list', null, h('tbody', null,
        (inc.episodes ?? []).map((e) => h('tr', null, h('td', null, e.id),
          h('td', null, e.alertname), h('td', null, badge(e.status, 'state')),
          h('td', null, e.annotations?.summary ?? ''), h('td', null, when(e.startsAt))))))));
  }
  return refresh;
}

function postmortemView(id) {
  const out = h('div');
  const raw = h('pre.raw', { hidden: true });
  const toggle = h('button.link', { type: 'button', onclick: () => { raw.hidden = !raw.hidden; } },
    'show the Markdown');
  clear(view).append(h('p', null, h('a', { href: `#/incidents/${id}` }, `← ${id}`), ' · ',
    h('a', { href: `/api/v1/incidents/${encodeURIComponent(id)}/postmortem?format=md`,
      download: `${id}-postmortem.md` }, 'download'), ' · ', toggle), out, raw);
  return async () => {
    const md = await apiText(`/api/v1/incidents/${encodeURIComponent(id)}/postmortem?format=md`);
    if (raw.textContent === md) return;
    raw.textContent = md;
    clear(out).append(renderMarkdown(md));
  };
}

// ---- audit -----------------------------------------------------------------------------------

function auditView() {
  const type = h('input#a-type', { type: 'text', placeholder: 'types: approval,override,…' });
  const actor = h('input#a-actor', { type: 'text', placeholder: 'actor' });
  const since = h('input#a-since', { type: 'text', placeholder: 'since (RFC 3339)' });
  const limit = h('input#a-limit', { type: 'number', min: 0, value: 200 });
  const csv = h('a#a-csv', { download: 'forestall-audit.csv' }, 'Export CSV');
  const verify = h('span.muted');
  const body = h('tbody');
  function query() {
    const p = new URLSearchParams();
    if (type.value.trim()) p.set('type', type.value.trim());
    if (actor.value.trim()) p.set('actor', actor.value.trim());
    if (since.value.trim()) p.set('since', since.value.trim());
    p.set('limit', limit.value || '0');
    return p;
  }
  async function refresh() {
    const p = query();
    const rows = await api(`/api/v1/audit?${p}`);
    p.set('format', 'csv');
    csv.setAttribute('href', `/api/v1/audit?${p}`);
    clear(body).append(...rows.slice().reverse().map((r) => h('tr', null,
      h('td.num', null, r.seq), h('td', null, when(r.ts)), h('td', null, badge(r.type, 'atype')),
      h('td', null, r.actor), h('td', null, h('code', null, JSON.stringify(r.data))))));
  }
  async function check() {
    try {
      const v = await api('/api/v1/audit/verify');
      verify.textContent = v.ok ? `chain ok: ${v.records} records, ${v.checkpoints} checkpoints`
        : `chain BROKEN at ${v.badSeq}: ${v.problem}`;
    } catch (e) { verify.textContent = errText(e); }
  }
  const apply = h('button', { type: 'button', onclick: () => refresh().catch((e) =>
    flash(errText(e))) }, 'Apply');
  clear(view).append(h('h1', null, 'Audit trail'),
    h('div.filters', null, type, actor, since, limit, apply, csv,
      h('button', { type: 'button', onclick: check }, 'Verify chain'), verify),
    h('table.list', null, h('thead', null, h('tr', null, ['seq', 'time', 'type', 'actor', 'data']
      .map((c) => h('th', null, c)))), body));
  refresh().catch((e) => flash(errText(e)));
  return null;
}

// ---- controls: kill switch and modes ---------------------------------------------------------

function controlsView() {
  const reason = h('input#c-reason', { type: 'text', placeholder: 'reason (recorded)',
    maxlength: 500 });
  const state = h('div');
  const mode = h('select#c-mode', null, ['supervised', 'shadow', 'autonomous', 'clear']
    .map((m) => h('option', { value: m }, m)));
  const service = h('input#c-service', { type: 'text', placeholder: 'service (any)' });
  const env = h('input#c-env', { type: 'text', placeholder: 'env (any)' });
  const out = h('span.result');
  async function post(path, body) {
    try {
      await api(path, { method: 'POST', body });
      out.textContent = 'done';
      await refresh();
      await header();
    } catch (e) { out.textContent = errText(e); }
  }
  async function refresh() {
    const c = await api('/api/v1/controls');
    clear(state).append(
      h('p', null, 'Kill switch: ', c.frozen ? badge('FROZEN', 'frozen') : badge('off', 'ok'),
        c.freeze ? ` since ${when(c.freeze.at)} by ${c.freeze.by}: ${c.freeze.reason ?? ''}` : ''),
      h('p', null, `policy ${c.policy?.version} (${c.policy?.source}), default mode `,
        h('strong', null, c.policy?.mode ?? ''), ` · catalog ${c.catalog?.version}`,
        ` (${c.catalog?.actions} actions)`),
      h('h3', null, 'Runtime modes'), (c.modes ?? []).length ? h('table.list', null,
        h('tbody', null, c.modes.map((m) => h('tr', null, h('td', null, m.mode),
          h('td', null, `service ${m.service ?? '*'} env ${m.env ?? '*'}`),
          h('td', null, `${m.by} at ${when(m.at)}`), h('td', null, m.reason ?? '')))))
        : h('p.muted', null, 'None: the policy decides.'));
  }
  const reasonOr = (d) => reason.value.trim() || d;
  clear(view).append(h('h1', null, 'Controls'), state, h('div.filters', null, reason,
    me.can.freeze && h('button#freeze.danger', { type: 'button', onclick: () =>
      post('/api/v1/freeze', { reason: reasonOr('frozen from the console') }) },
    'Freeze (kill switch on)'),
    me.can.unfreeze && h('button#unfreeze', { type: 'button', onclick: () =>
      post('/api/v1/unfreeze', { reason: reasonOr('unfrozen from the console') }) }, 'Unfreeze')),
  me.can.modes && h('div.filters', null, mode, service, env, h('button#set-mode', {
    type: 'button', onclick: () => {
      const body = { mode: mode.value === 'clear' ? null : mode.value,
        reason: reasonOr('set from the console') };
      if (service.value.trim()) body.service = service.value.trim();
      if (env.value.trim()) body.env = env.value.trim();
      post('/api/v1/modes', body);
    } }, 'Set mode')),
  out);
  return refresh;
}

// ---- frame: who, kill switch, router ---------------------------------------------------------

async function header() {
  const c = await api('/api/v1/controls');
  const k = document.getElementById('killswitch');
  k.textContent = c.frozen ? 'FROZEN' : 'kill switch off';
  k.className = c.frozen ? 'badge frozen' : 'badge ok';
}

let timer = null, gen = 0;

async function route() {
  clearInterval(timer);
  flash('', false);
  const my = ++gen;
  const path = location.hash.replace(/^#/, '').split('?')[0] || '/incidents';
  const m = path.split('/').filter(Boolean);
  let refresh;
  if (m[0] === 'incidents' && m[1] && m[2] === 'postmortem') refresh = postmortemView(m[1]);
  else if (m[0] === 'incidents' && m[1]) refresh = incidentView(m[1]);
  else if (m[0] === 'proposals' && m[1]) refresh = proposalView(m[1]);
  else if (m[0] === 'proposals') refresh = proposalsView();
  else if (m[0] === 'audit') refresh = auditView();
  else if (m[0] === 'controls') refresh = controlsView();
  else refresh = incidentsView();
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', path.startsWith(a.getAttribute('href').slice(1)));
  if (!refresh) return;
  const tick = async () => {
    if (my !== gen) return;
    try { await refresh(); } catch (e) { flash(errText(e)); }
  };
  await tick();
  timer = setInterval(tick, POLL_MS);
}

async function main() {
  try {
    me = await api('/ui/session');
  } catch {
    location.replace('/ui/login');
    return;
  }
  setCsrf(me.csrf);
  document.getElementById('who').append(h('strong', null, me.name), ' ',
    badge(me.role, 'role'));
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api('/ui/logout', { method: 'POST' }); } catch { /* gone already */ }
    location.replace('/ui/login');
  });
  document.body.dataset.role = me.role;
  header().catch(() => {});
  setInterval(() => header().catch(() => {}), 5000);
  window.addEventListener('hashchange', route);
  route();
}

main();
