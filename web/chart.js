// The picture behind a disk alert: the measured usage (host.fs_usage, prometheus.query_range)
// and the forecast's line to its threshold (prometheus.forecast), as a small SVG built with DOM
// calls. trendFrom() reads them out of an incident's trace; trendChart() draws them.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function relTime(spec, base) {
  if (!spec || spec === 'now') return base;
  const m = /^-?(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(spec);
  if (m) {
    const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2]];
    return base - Number(m[1]) * unit;
  }
  const t = Date.parse(spec);
  return Number.isNaN(t) ? null : t;
}

// {points: [{t, v}], forecast: {t0, v0, t1, v1, summary} | null, threshold, unit}
export function trendFrom(trace, mount) {
  const points = [];
  let threshold = null, forecast = null, forecastAt = null;
  for (const o of trace.observations ?? []) {
    const t = Date.parse(o.ts);
    if (o.tool === 'host.fs_usage') {
      try {
        const all = JSON.parse(o.output).filesystems ?? [];
        const want = mount ?? o.input?.mount;
        const fs = want ? all.find((f) => f.mount === want) : null;
        if (fs && Number.isFinite(fs.used_percent)) points.push({ t, v: fs.used_percent });
      } catch { /* a failed call: its output is text */ }
    } else if (o.tool === 'prometheus.query_range') {
      const m = /first=([-\d.eE+]+) last=([-\d.eE+]+)/.exec(o.output ?? '');
      const a = relTime(o.input?.start ?? '-1h', t), z = relTime(o.input?.end, t);
      if (m && a !== null && z !== null) {
        const first = Number(m[1]), last = Number(m[2]);
        if (first >= 0 && first <= 100 && last >= 0 && last <= 100)
          points.push({ t: a, v: first }, { t: z, v: last });
      }
    } else if (o.tool === 'prometheus.forecast') {
      forecastAt = t;
      if (Number.isFinite(o.input?.threshold)) threshold = o.input.threshold;
    }
  }
  for (const inv of trace.investigations ?? []) {
    const f = inv.result?.forecast;
    if (f && Number.isFinite(f.current) && Number.isFinite(f.slope_per_s)) {
      const t0 = forecastAt ?? Date.parse(inv.startedAt);
      threshold = Number.isFinite(f.threshold) ? f.threshold : threshold;
      const t1 = f.reaches_at ? Date.parse(f.reaches_at) : t0 + 6 * 3600e3;
      forecast = { t0, v0: f.current, t1, v1: f.current + f.slope_per_s * (t1 - t0) / 1000,
        summary: f.summary ?? '' };
      points.push({ t: t0, v: f.current });
    }
  }
  points.sort((a, b) => a.t - b.t);
  return { points, forecast, threshold };
}

export function trendChart({ points, forecast, threshold }) {
  const W = 560, H = 200, L = 40, R = 12, T = 12, B = 28;
  const ts = points.map((p) => p.t).concat(forecast ? [forecast.t0, forecast.t1] : []);
  let t0 = Math.min(...ts), t1 = Math.max(...ts);
  if (!(t1 > t0)) { t0 -= 60e3; t1 += 60e3; }
  const x = (t) => L + (t - t0) / (t1 - t0) * (W - L - R);
  const y = (v) => T + (1 - Math.max(0, Math.min(100, v)) / 100) * (H - T - B);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': 'filesystem usage (%) and forecast' });
  for (const v of [0, 25, 50, 75, 100]) {
    svg.appendChild(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    svg.appendChild(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' },
      `${v}%`));
  }
  const fmt = (t) => new Date(t).toISOString().slice(11, 16);
  svg.appendChild(s('text', { x: L, y: H - 8, class: 'axis' }, fmt(t0)));
  svg.appendChild(s('text', { x: W - R, y: H - 8, 'text-anchor': 'end', class: 'axis' },
    `${fmt(t1)} UTC`));
  if (threshold !== null) {
    svg.appendChild(s('line', { x1: L, x2: W - R, y1: y(threshold), y2: y(threshold),
      class: 'threshold' }));
    svg.appendChild(s('text', { x: W - R, y: y(threshold) - 4, 'text-anchor': 'end',
      class: 'axis' }, `threshold ${threshold}%`));
  }
  if (points.length) {
    svg.appendChild(s('polyline', { class: 'series',
      points: points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ') }));
    for (const p of points)
      svg.appendChild(s('circle', { cx: x(p.t), cy: y(p.v), r: 3, class: 'point' }));
  }
  if (forecast) {
    svg.appendChild(s('line', { x1: x(forecast.t0), y1: y(forecast.v0), x2: x(forecast.t1),
      y2: y(forecast.v1), class: 'forecast' }));
  }
  return svg;
}
