// The catalog, running queries and processing log pages.
'use strict';

// ---- Catalog: streams and tables with their columns, formats, topic and
// partitions; topics with a live preview (PRINT); custom types.
const catalogList = document.querySelector('#catalog-list');
const catalogDetail = document.querySelector('#catalog-detail');
let preview = null;

function stopPreview() {
  if (preview) { preview.stop(); preview = null; }
}

async function showCatalog() {
  await loadCatalog();
  const [topics, types] = await Promise.all([
    api.one('SHOW TOPICS;').catch(() => ({ topics: [] })),
    api.one('SHOW TYPES;').catch(() => ({ types: {} })),
  ]);
  const item = (label, kind, open) => el('div', {
    class: 'item',
    'data-name': label,
    onclick: (e) => {
      for (const i of catalogList.querySelectorAll('.item')) i.classList.remove('sel');
      e.currentTarget.classList.add('sel');
      stopPreview();
      open();
    },
  }, label, el('span', { class: 'kind' }, kind));
  const streams = catalog.sources.filter((s) => s.type === 'STREAM');
  const tables = catalog.sources.filter((s) => s.type === 'TABLE');
  catalogList.replaceChildren(...[
    el('h3', {}, `Streams (${streams.length})`),
    streams.map((s) => item(s.name, s.topic, () => catalogDetail.replaceChildren(describeSource(s)))),
    el('h3', {}, `Tables (${tables.length})`),
    tables.map((s) => item(s.name, s.topic, () => catalogDetail.replaceChildren(describeSource(s)))),
    el('h3', {}, `Topics (${topics.topics.length})`),
    topics.topics.map((t) => item(t.name, `${t.replicaInfo.length} partition(s)`, () => previewTopic(t.name))),
    el('h3', {}, `Types (${Object.keys(types.types).length})`),
    Object.entries(types.types).map(([n, s]) => item(n, typeText(s),
      () => catalogDetail.replaceChildren(grid(['Type', 'Definition'], [[n, typeText(s)]])))),
  ].flat());
}

// The topic's records as PRINT shows them, from its beginning, arriving
// live until another item or page is chosen.
function previewTopic(topic) {
  const table = grid(['Record']);
  const state = el('span', {}, 'reading…');
  // PRINT's first lines name the key and value formats, as ksqlDB's do.
  const formats = el('p', { class: 'formats' });
  catalogDetail.replaceChildren(el('h3', {}, `Topic ${topic}`),
    el('div', { class: 'toolbar' }, el('button', { onclick: stopPreview }, 'Stop'), state), formats, table);
  let n = 0;
  preview = api.stream(`PRINT '${topic.replace(/'/g, "''")}' FROM BEGINNING LIMIT 200;`, {
    meta() {},
    rows(rows) {
      const lines = rows.map((r) => r.join(' '));
      const records = lines.filter((l) => !/^(Key|Value) format:/.test(l));
      const header = lines.filter((l) => /^(Key|Value) format:/.test(l));
      if (header.length) formats.textContent = [formats.textContent, ...header].filter(Boolean).join(' · ');
      n += records.length;
      appendRows(table, records.map((l) => [l]));
      state.textContent = `${n} record(s), live`;
    },
    end(error) { state.textContent = error ? error.message : `${n} record(s), stopped`; },
  });
}

document.querySelector('#catalog-refresh').addEventListener('click', showCatalog);
pages.catalog = { show: showCatalog, hide: stopPreview };

// ---- Running queries: state (with the error), rates, counters, actions.
const queriesTable = document.querySelector('#queries-table');
let queriesTimer = null;
const previous = new Map();

// A refresh draws only if no later one started meanwhile; the timer
// starts none while one runs (so slow answers are still drawn).
let refreshes = 0;
let refreshing = false;

async function refreshQueries() {
  refreshing = true;
  try {
    await drawQueries(++refreshes);
  } finally {
    refreshing = false;
  }
}

async function drawQueries(call) {
  let list;
  try {
    list = (await api.one('SHOW QUERIES;')).queries;
  } catch (e) {
    queriesTable.replaceChildren(message(e.message, true));
    return;
  }
  const now = performance.now();
  const described = await Promise.all(list.map((q) => (q.queryType === 'PERSISTENT'
    ? api.one(`EXPLAIN ${q.id};`).then((e) => e.queryDescription).catch(() => null)
    : Promise.resolve(null))));
  if (call !== refreshes) return;
  const rate = (id, key, value) => {
    const before = previous.get(id);
    if (!before) return '';
    const seconds = (now - before.at) / 1000;
    return seconds > 0 ? ((value - before[key]) / seconds).toFixed(1) : '';
  };
  const action = (label, sql, danger) => el('button', {
    class: danger ? 'danger' : null,
    onclick: async () => {
      try { await api.ksql(sql); } catch (e) { alert(e.message); }
      refreshQueries();
    },
  }, label);
  const rows = list.map((q, i) => {
    const d = described[i];
    const s = (d && d.sluiceStatistics) || {};
    const errors = (d && d.queryErrors) || [];
    const row = el('tr', { 'data-query-id': q.id },
      el('td', {}, q.id),
      el('td', {}, q.queryType),
      el('td', {}, el('span', { class: `state-${q.state}` }, q.state),
        errors.length ? el('div', { class: 'message error' }, errors[errors.length - 1].errorMessage) : null),
      el('td', {}, q.sinks.join(', ')),
      el('td', { class: 'rate-in' }, d ? rate(q.id, 'in', s.messagesConsumed) : ''),
      el('td', { class: 'rate-out' }, d ? rate(q.id, 'out', s.messagesProduced) : ''),
      el('td', { class: 'consumed' }, d ? s.messagesConsumed : ''),
      el('td', { class: 'produced' }, d ? s.messagesProduced : ''),
      el('td', { class: 'errors' }, d ? s.processingErrors : ''),
      el('td', { class: 'late' }, d ? s.lateRecordsDropped : ''),
      el('td', {}, q.queryType === 'PERSISTENT' ? [
        q.state === 'PAUSED' ? action('Resume', `RESUME ${q.id};`) : action('Pause', `PAUSE ${q.id};`),
        action('Terminate', `TERMINATE ${q.id};`, true),
        el('button', { onclick: () => { topologyQuery = q.id; showPage('topology'); } }, 'Topology'),
      ] : []));
    if (d) previous.set(q.id, { at: now, in: s.messagesConsumed, out: s.messagesProduced });
    return row;
  });
  const table = grid(['Query id', 'Type', 'State', 'Sinks', 'In/s', 'Out/s', 'Consumed', 'Produced',
    'Processing errors', 'Late dropped', '']);
  table.body.append(...rows);
  queriesTable.replaceChildren(list.length ? table : message('No queries are running.'));
}

pages.queries = {
  show() {
    refreshQueries();
    clearInterval(queriesTimer);
    queriesTimer = setInterval(() => { if (!refreshing) refreshQueries(); }, 2000);
  },
  hide() { clearInterval(queriesTimer); queriesTimer = null; },
};

// ---- The processing log: KSQL_PROCESSING_LOG's records, filtered here.
const logTable = document.querySelector('#log-table');
const logFilter = document.querySelector('#log-filter');
const logStatus = document.querySelector('#log-status');
let logColumns = [];
let logRows = [];

function renderLog() {
  const needle = logFilter.value.trim().toLowerCase();
  const shown = needle
    ? logRows.filter((r) => JSON.stringify(r).toLowerCase().includes(needle))
    : logRows;
  logStatus.textContent = `${shown.length} of ${logRows.length} record(s)`;
  logTable.replaceChildren(grid(logColumns, shown));
}

function refreshLog() {
  logRows = [];
  logStatus.textContent = 'reading…';
  api.stream('SELECT * FROM KSQL_PROCESSING_LOG;', {
    meta(meta) { logColumns = meta.columnNames; },
    rows(rows) { logRows.push(...rows); },
    end(error) {
      if (error) logTable.replaceChildren(message(error.message, true));
      else renderLog();
    },
  });
}

logFilter.addEventListener('input', renderLog);
document.querySelector('#log-refresh').addEventListener('click', refreshLog);
pages.log = { show: refreshLog };
