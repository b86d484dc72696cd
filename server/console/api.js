// The console's plumbing: calls to the server's REST API (the same
// endpoints ksqlDB's clients use), DOM helpers, result grids and tabs.
'use strict';

const api = {
  // POST /ksql: resolves to the entities, rejects with ksqlDB's message.
  async ksql(sql) {
    const res = await fetch('/ksql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.ksql.v1+json', Accept: 'application/json' },
      body: JSON.stringify({ ksql: sql, streamsProperties: {} }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || JSON.stringify(body));
    return body;
  },

  // The entity of the single statement `sql`.
  async one(sql) {
    const entities = await api.ksql(sql);
    return entities[0];
  },

  // POST /query-stream in the delimited format. `on.meta(meta)` gets the
  // query id and columns, `on.rows(rows)` each batch read, `on.end(error)`
  // the end (error null when the query ended normally). Returns a handle
  // whose `stop()` closes the query on the server and stops reading.
  stream(sql, on, properties) {
    const controller = new AbortController();
    const handle = { queryId: null, done: false };
    handle.stop = async () => {
      if (handle.done) return;
      if (handle.queryId) {
        await fetch('/close-query', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ queryId: handle.queryId }),
        }).catch(() => {});
      }
      controller.abort();
    };
    const finish = (error) => {
      if (!handle.done) { handle.done = true; on.end(error); }
    };
    (async () => {
      const res = await fetch('/query-stream', {
        method: 'POST',
        signal: controller.signal,
        headers: { 'Content-Type': 'application/json', Accept: 'application/vnd.ksqlapi.delimited.v1' },
        body: JSON.stringify({ sql, properties: properties || {} }),
      });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw new Error(body.message || res.statusText);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let meta = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split('\n');
        buffer = lines.pop();
        const rows = [];
        for (const line of lines) {
          if (!line.trim()) continue;
          const item = JSON.parse(line);
          if (Array.isArray(item)) rows.push(item);
          else if (!meta) { meta = item; handle.queryId = item.queryId; on.meta(item); }
          else if (item['@type'] && item.message) throw new Error(item.message);
        }
        if (rows.length) on.rows(rows);
      }
      finish(null);
    })().catch((e) => finish(e.name === 'AbortError' ? null : e));
    return handle;
  },
};

// An element: el('td', {class: 'x'}, 'text', child, ...).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

// A cell's text: JSON for structures, NULL for null.
function cellText(v) {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// A table of `columns` and `rows` (arrays); `tbody` is returned in
// `grid.body` so live rows can be appended.
function grid(columns, rows) {
  const body = el('tbody', {});
  const table = el('table', { class: 'grid' },
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', {}, c)))), body);
  table.body = body;
  appendRows(table, rows || []);
  return table;
}

function appendRows(table, rows) {
  for (const r of rows) table.body.append(el('tr', {}, r.map((v) => el('td', {}, cellText(v)))));
}

function message(text, error) {
  return el('div', { class: error ? 'message error' : 'message' }, text);
}

// The schema entity of a field as a type's text.
function typeText(schema) {
  if (!schema) return '';
  if (schema.type === 'ARRAY') return `ARRAY<${typeText(schema.memberSchema)}>`;
  if (schema.type === 'MAP') return `MAP<STRING, ${typeText(schema.memberSchema)}>`;
  if (schema.type === 'STRUCT') {
    return `STRUCT<${(schema.fields || []).map((f) => `${f.name} ${typeText(f.schema)}`).join(', ')}>`;
  }
  if (schema.type === 'DECIMAL' && schema.parameters) {
    return `DECIMAL(${schema.parameters.precision}, ${schema.parameters.scale})`;
  }
  return schema.type;
}

// The tabs: each button shows its page and tells it (pages[name].show).
const pages = {};
function showPage(name) {
  for (const b of document.querySelectorAll('#tabs button')) {
    b.classList.toggle('active', b.dataset.page === name);
  }
  for (const p of document.querySelectorAll('.page')) {
    p.classList.toggle('active', p.id === `page-${name}`);
  }
  for (const [n, page] of Object.entries(pages)) {
    if (n !== name && page.hide) page.hide();
  }
  if (pages[name] && pages[name].show) pages[name].show();
}
document.querySelector('#tabs').addEventListener('click', (e) => {
  if (e.target.dataset.page) showPage(e.target.dataset.page);
});

fetch('/info').then((r) => r.json()).then((info) => {
  const i = info.KsqlServerInfo;
  document.querySelector('#server-info').textContent =
    `service ${i.ksqlServiceId} · ksqlDB API ${i.version} · ${i.serverStatus}`;
}).catch(() => {});
