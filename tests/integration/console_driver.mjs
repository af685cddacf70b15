// Drives the web console in real headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) for test_console.py. Usage:
//   node console_driver.mjs CONFIG.json
// CONFIG: {url, playwright, approver: TOKEN, viewer: TOKEN, intakeToken, alertFile, shots}
// Prints one JSON line per step ({"step": ...}) and exits non-zero on the first failure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { chromium } = await import(join(cfg.playwright, 'index.mjs'));
const t0 = Date.now();
const say = (step, extra = {}) =>
  console.log(JSON.stringify({ step, ms: Date.now() - t0, ...extra }));
function must(cond, msg) {
  if (!cond) throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
    '--no-first-run', '--disable-background-networking', '--disable-component-update'],
});
const problems = [];
let shot = 0;

async function newPage(who) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => problems.push(`${who}: page error: ${e.message}`));
  page.on('console', (m) => {
    // a CSP violation is reported on the console
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      problems.push(`${who}: console: ${m.text()}`);
  });
  return page;
}

async function snap(page, name) {
  const file = join(cfg.shots, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function login(page, token) {
  const first = await page.goto(`${cfg.url}/ui/`);
  must(first.ok(), `GET /ui/: ${first.status()}`);
  await page.waitForURL('**/ui/login');
  await page.fill('#token', token);
  await Promise.all([page.waitForURL('**/ui/'), page.click('#login-submit')]);
  await page.waitForSelector('#who strong');
  return page.textContent('#who');
}

// The page loads no inline script or style, and every answer carries the CSP.
async function noInline(page) {
  return page.evaluate(() => ({
    inlineScripts: [...document.scripts].filter((s) => !s.src).length,
    styleAttrs: document.querySelectorAll('[style]').length,
    styleElems: document.querySelectorAll('style').length,
  }));
}

async function pageFetch(page, path, method, headers, body) {
  return page.evaluate(async ([p, m, hd, b]) => {
    const r = await fetch(p, { method: m, headers: hd, body: b });
    const text = await r.text();
    let code = null;
    try { code = JSON.parse(text).error?.code ?? null; } catch { /* not JSON */ }
    return { status: r.status, code, text: text.slice(0, 4000) };
  }, [path, method, headers, body]);
}

try {
  // ---- the approver logs in; the login page and the console carry the CSP, no inline code
  const alice = await newPage('alice');
  const loginResp = await alice.goto(`${cfg.url}/ui/login`);
  const csp = loginResp.headers()['content-security-policy'] ?? '';
  must(csp.includes("script-src 'self'") && csp.includes("default-src 'none'"), `CSP: ${csp}`);
  must(loginResp.headers()['x-content-type-options'] === 'nosniff', 'nosniff missing');
  let inl = await noInline(alice);
  must(!inl.inlineScripts && !inl.styleAttrs && !inl.styleElems, `inline on login: ${JSON.stringify(inl)}`);
  await snap(alice, 'login');
  const who = await login(alice, cfg.approver);
  must(/alice/.test(who) && /approver/.test(who), `who: ${who}`);
  const cookies = await alice.context().cookies();
  const sc = cookies.find((c) => c.name === '__Host-forestall_session');
  must(sc && sc.httpOnly && sc.secure && sc.sameSite === 'Strict' && sc.path === '/',
    `session cookie: ${JSON.stringify(sc)}`);
  const mainResp = await alice.goto(`${cfg.url}/ui/?fresh=1#/incidents`);
  must((mainResp.headers()['content-security-policy'] ?? '') === csp, 'CSP differs on /ui/');
  await alice.waitForSelector('#incident-rows');
  inl = await noInline(alice);
  must(!inl.inlineScripts && !inl.styleAttrs && !inl.styleElems, `inline on /ui/: ${JSON.stringify(inl)}`);
  say('logged in', { who: who.trim(), csp });
  await snap(alice, 'incidents-empty');

  // ---- an alert arrives while the page is open: the list shows it without a reload
  const posted = await fetch(`${cfg.url}/api/v1/alerts/alertmanager`, {
    method: 'POST', body: readFileSync(cfg.alertFile),
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${cfg.intakeToken}` },
  });
  must(posted.ok, `alert POST: ${posted.status}`);
  const row = await alice.waitForSelector('tr.incident-row');
  const incId = await row.getAttribute('data-id');
  say('incident arrived', { incident: incId });
  await snap(alice, 'incident-arrived');

  // ---- open it: the investigation, the proposal and the gate's explanation
  await alice.click(`tr.incident-row[data-id="${incId}"] a`);
  await alice.waitForSelector('section.proposal button.approve', { timeout: 20000 });
  const card = await alice.textContent('section.proposal');
  must(/journal_vacuum/.test(card) && /Action risk: \d+/.test(card) && /baseline/.test(card)
    && /supervised/.test(card), `proposal card: ${card.slice(0, 400)}`);
  const reasoning = await alice.$$eval('ol.reasoning li', (l) => l.length);
  const obs = await alice.$$eval('details.obs', (l) => l.length);
  const chart = await alice.$$eval('svg.chart polyline.series', (l) => l.length);
  must(reasoning > 0 && obs > 0, `trace: ${reasoning} reasoning lines, ${obs} observations`);
  must(chart === 1, `no usage chart (${chart})`);
  const propId = await alice.getAttribute('section.proposal', 'data-id');
  say('proposal shown', { proposal: propId, reasoning, observations: obs });
  await snap(alice, 'proposal');

  // ---- a viewer sees it but gets no buttons, and a forged approval is refused
  const victor = await newPage('victor');
  const vwho = await login(victor, cfg.viewer);
  must(/viewer/.test(vwho), `viewer who: ${vwho}`);
  await victor.goto(`${cfg.url}/ui/#/incidents/${incId}`);
  await victor.waitForSelector('section.proposal');
  const vbuttons = await victor.$$eval('section.proposal button', (l) => l.length);
  must(vbuttons === 0, `the viewer sees ${vbuttons} decision buttons`);
  const vsession = await pageFetch(victor, '/ui/session', 'GET', {});
  const vcsrf = JSON.parse(vsession.text).csrf;
  const forged = await pageFetch(victor, `/api/v1/proposals/${propId}/approve`, 'POST',
    { 'Content-Type': 'application/json', 'X-CSRF-Token': vcsrf }, '{}');
  must(forged.status === 403 && forged.code === 'forbidden', `forged approval: ${JSON.stringify(forged)}`);
  say('viewer refused', { buttons: vbuttons, forged: forged.status });
  await snap(victor, 'viewer-no-buttons');

  // ---- a state-changing request without (or with a wrong) CSRF token is refused
  const noCsrf = await pageFetch(alice, '/api/v1/freeze', 'POST',
    { 'Content-Type': 'application/json' }, '{"reason":"csrf test"}');
  must(noCsrf.status === 403 && noCsrf.code === 'csrf', `no CSRF token: ${JSON.stringify(noCsrf)}`);
  const badCsrf = await pageFetch(alice, `/api/v1/proposals/${propId}/approve`, 'POST',
    { 'Content-Type': 'application/json', 'X-CSRF-Token': 'f'.repeat(64) }, '{}');
  must(badCsrf.status === 403 && badCsrf.code === 'csrf', `wrong CSRF token: ${JSON.stringify(badCsrf)}`);
  say('csrf refused', { without: noCsrf.status, wrong: badCsrf.status });

  // ---- approve in the console: it executes and verifies, the incident resolves
  await alice.fill('section.proposal input.comment', 'approved in the browser test');
  await alice.click('section.proposal button.approve');
  await alice.waitForSelector('#incident-state[data-state="resolved"]', { timeout: 30000 });
  await alice.waitForSelector('div.exec[data-outcome="succeeded"]');
  say('resolved');
  await snap(alice, 'resolved');

  // ---- the post-mortem, rendered as text nodes
  await alice.goto(`${cfg.url}/ui/#/incidents/${incId}/postmortem`);
  await alice.waitForSelector('.md h2');
  const pm = await alice.textContent('.md');
  must(/Post-mortem/.test(pm) && /journal_vacuum/.test(pm), `post-mortem: ${pm.slice(0, 300)}`);
  await snap(alice, 'postmortem');

  // ---- the audit log: the approval came by the console, and the CSV export works
  await alice.goto(`${cfg.url}/ui/#/audit`);
  await alice.fill('#a-type', 'approval');
  await alice.click('text=Apply');
  await alice.waitForFunction(() => document.querySelectorAll('table.list tbody tr').length === 1);
  const arow = await alice.textContent('table.list tbody tr');
  must(/"channel":"console"/.test(arow) && /alice/.test(arow), `audit row: ${arow}`);
  const href = await alice.getAttribute('#a-csv', 'href');
  must(/format=csv/.test(href), `CSV link: ${href}`);
  const csv = await pageFetch(alice, href, 'GET', {});
  must(csv.status === 200 && /^seq,/.test(csv.text), `CSV: ${JSON.stringify(csv)}`);
  await snap(alice, 'audit');

  // ---- controls; then log out: the cookie no longer works
  await alice.goto(`${cfg.url}/ui/#/controls`);
  await alice.waitForSelector('#freeze');
  const unfreeze = await alice.$$('#unfreeze');
  must(unfreeze.length === 0, 'an approver is offered unfreeze');
  await snap(alice, 'controls');
  await alice.click('#logout');
  await alice.waitForURL('**/ui/login');
  const after = await pageFetch(alice, '/api/v1/incidents', 'GET', {});
  must(after.status === 401, `after logout: ${after.status}`);
  must(problems.length === 0, `browser problems: ${problems.join('; ')}`);
  say('done', { screenshots: shot });
} catch (e) {
  console.log(JSON.stringify({ step: 'failed', error: String(e.stack ?? e), problems }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
