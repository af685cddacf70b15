// A small Markdown renderer for post-mortems that never injects HTML: it builds DOM nodes and
// puts every piece of text in as a text node. Headings, paragraphs, lists, tables, fenced code,
// **bold**, `code`; links show their text and address as text, never as live links.
import { h } from './api.js';

function inline(text) {
  const out = [];
  const re = /(\*\*([^*]+)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/g;
  let last = 0;
  for (let m; (m = re.exec(text));) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[2] !== undefined) out.push(h('strong', null, m[2]));
    else if (m[3] !== undefined) out.push(h('code', null, m[3]));
    else out.push(m[4], ' (', h('span.url', null, m[5]), ')');
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const cells = (line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|')
  .map((c) => c.trim());

export function renderMarkdown(src) {
  const root = h('div.md');
  const lines = String(src).replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    if (/^```/.test(line)) {
      const body = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) body.push(lines[i]);
      i++;
      root.appendChild(h('pre', null, h('code', null, body.join('\n'))));
    } else if (/^#{1,6} /.test(line)) {
      const level = /^#+/.exec(line)[0].length;
      root.appendChild(h(`h${Math.min(level + 1, 6)}`, null, inline(line.slice(level + 1))));
      i++;
    } else if (/^\s*\|/.test(line)) {
      const rows = [];
      for (; i < lines.length && /^\s*\|/.test(lines[i]); i++) rows.push(cells(lines[i]));
      const sep = rows.length > 1 && rows[1].every((c) => /^:?-+:?$/.test(c));
      const head = sep ? rows.shift() : null;
      if (sep) rows.shift();
      root.appendChild(h('table', null,
        head && h('thead', null, h('tr', null, head.map((c) => h('th', null, inline(c))))),
        h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, inline(c))))))));
    } else if (/^\s*([-*]|\d+\.) /.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items = [];
      for (; i < lines.length && /^\s*([-*]|\d+\.) /.test(lines[i]); i++)
        items.push(h('li', null, inline(lines[i].replace(/^\s*([-*]|\d+\.) /, ''))));
      root.appendChild(h(ordered ? 'ol' : 'ul', null, items));
    } else if (!line.trim()) {
      i++;
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() && !/^(#{1,6} |```|\s*\||\s*([-*]|\d+\.) )/
        .test(lines[i]); i++) para.push(lines[i]);
      root.appendChild(h('p', null, inline(para.join(' '))));
    }
  }
  return root;
}
