// The SQL page: an editor with highlighting and completion (ksqlDB's
// keywords and the catalog's names), statements run in order through
// /ksql or /query-stream, and their results as grids; a push query's rows
// arrive live, with pause and stop.
'use strict';

const KEYWORDS = `ADVANCE ALL ALTER AND ARRAY AS ASC ASSERT AT BEGINNING BETWEEN BIGINT BOOLEAN BY BYTES CASE CAST
CHANGES CONNECTOR CONNECTORS CREATE DATE DECIMAL DEFINE DELETE DESC DESCRIBE DISTINCT DOUBLE DROP ELSE EMIT END
ESCAPE EXISTS EXPLAIN EXTENDED FALSE FINAL FROM FULL FUNCTION FUNCTIONS GRACE GROUP HAVING HOPPING IF IN INNER
INSERT INT INTEGER INTERVAL INTO IS JOIN KEY LEFT LIKE LIMIT LIST MAP NOT NULL ON OR OUTER PARTITION PARTITIONS
PAUSE PERIOD PRIMARY PRINT PROPERTIES QUERIES REPLACE RESUME RETENTION RIGHT SELECT SESSION SET SHOW SINK SIZE
SOURCE STREAM STREAMS STRING STRUCT TABLE TABLES TERMINATE THEN TIME TIMESTAMP TO TOPIC TOPICS TRUE TUMBLING TYPE
TYPES UNSET VALUES VARCHAR VARIABLES WHEN WHERE WINDOW WITH WITHIN`.split(/\s+/);
const KEYWORD_SET = new Set(KEYWORDS);

// What the catalog holds, for completion and the catalog page.
const catalog = { sources: [], names: new Set(), words: [] };

async function loadCatalog() {
  try {
    const entities = await api.ksql('LIST STREAMS EXTENDED; LIST TABLES EXTENDED;');
    catalog.sources = entities.flatMap((e) => e.sourceDescriptions || []);
  } catch (e) {
    catalog.sources = [];
  }
  const words = new Map();
  for (const s of catalog.sources) {
    words.set(s.name, s.type.toLowerCase());
    for (const f of s.fields) if (!words.has(f.name)) words.set(f.name, `column of ${s.name}`);
  }
  catalog.names = new Set(words.keys());
  catalog.words = [...words].map(([word, kind]) => ({ word, kind }))
    .concat(KEYWORDS.map((word) => ({ word, kind: 'keyword' })));
  highlight();
  return catalog;
}

const editor = document.querySelector('#editor');
const highlighted = document.querySelector('#highlight');
const completions = document.querySelector('#completions');

function escapeHtml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// The editor's text as HTML, tokens classed; `caret` puts a marker there
// (the completion list is placed at it).
function highlightHtml(text, caret) {
  if (caret !== undefined) return `${tokensHtml(text.slice(0, caret))}<span id="caret-mark"></span>`;
  return `${tokensHtml(text)}\n`;
}

function tokensHtml(text) {
  const token = /(--[^\n]*)|('(?:[^']|'')*'?)|(`[^`]*`?)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;
  let html = '';
  let last = 0;
  const plain = (s) => escapeHtml(s);
  let m;
  while ((m = token.exec(text))) {
    html += plain(text.slice(last, m.index));
    const t = escapeHtml(m[0]);
    if (m[1]) html += `<span class="cmt">${t}</span>`;
    else if (m[2]) html += `<span class="str">${t}</span>`;
    else if (m[3]) html += `<span class="obj">${t}</span>`;
    else if (m[4]) html += `<span class="num">${t}</span>`;
    else if (KEYWORD_SET.has(m[0].toUpperCase())) html += `<span class="kw">${t}</span>`;
    else if (catalog.names.has(m[0].toUpperCase())) html += `<span class="obj">${t}</span>`;
    else html += t;
    last = token.lastIndex;
  }
  return html + plain(text.slice(last));
}

function highlight() {
  highlighted.innerHTML = highlightHtml(editor.value);
  highlighted.scrollTop = editor.scrollTop;
}

// The word before the caret and where it starts.
function currentWord() {
  const end = editor.selectionStart;
  const m = /[A-Za-z_][A-Za-z0-9_]*$/.exec(editor.value.slice(0, end));
  return m ? { word: m[0], start: end - m[0].length, end } : { word: '', start: end, end };
}

let choices = [];
let chosen = 0;

function closeCompletions() {
  completions.hidden = true;
  choices = [];
}

function openCompletions(forced) {
  const { word } = currentWord();
  if (!word && !forced) return closeCompletions();
  const upper = word.toUpperCase();
  choices = catalog.words.filter((c) => c.word.startsWith(upper) && c.word !== upper).slice(0, 30);
  if (!choices.length) return closeCompletions();
  chosen = 0;
  completions.replaceChildren(...choices.map((c, i) => el('li',
    { class: i === 0 ? 'sel' : null, onmousedown: (e) => { e.preventDefault(); accept(i); } },
    c.word, el('small', {}, c.kind))));
  highlighted.innerHTML = highlightHtml(editor.value, editor.selectionStart);
  const mark = document.querySelector('#caret-mark');
  completions.style.left = `${mark.offsetLeft + 8}px`;
  completions.style.top = `${mark.offsetTop - editor.scrollTop + 24}px`;
  highlight();
  completions.hidden = false;
}

function accept(i) {
  const { start, end } = currentWord();
  const word = choices[i].word;
  editor.setRangeText(word, start, end, 'end');
  closeCompletions();
  highlight();
  editor.focus();
}

editor.addEventListener('input', () => { highlight(); openCompletions(false); });
editor.addEventListener('scroll', () => { highlighted.scrollTop = editor.scrollTop; });
// Closes the list when focus has left the editor (a click on an item
// lands first); not if the editor has focus again by then.
editor.addEventListener('blur', () => setTimeout(() => {
  if (document.activeElement !== editor) closeCompletions();
}, 100));
editor.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); closeCompletions(); runEditor(); return; }
  if (e.ctrlKey && e.key === ' ') { e.preventDefault(); openCompletions(true); return; }
  if (completions.hidden) return;
  const items = completions.children;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    items[chosen].classList.remove('sel');
    chosen = (chosen + (e.key === 'ArrowDown' ? 1 : choices.length - 1)) % choices.length;
    items[chosen].classList.add('sel');
    items[chosen].scrollIntoView({ block: 'nearest' });
  } else if (e.key === 'Enter' || e.key === 'Tab') {
    e.preventDefault();
    accept(chosen);
  } else if (e.key === 'Escape') {
    closeCompletions();
  }
});

// The text's statements, split at semicolons outside quotes and comments.
function splitStatements(text) {
  const out = [];
  let start = 0;
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) { if (c === quote) quote = null; continue; }
    if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '-' && text[i + 1] === '-') { while (i < text.length && text[i] !== '\n') i++; }
    else if (c === ';') { out.push(text.slice(start, i + 1)); start = i + 1; }
  }
  if (text.slice(start).trim()) out.push(`${text.slice(start)};`);
  return out.map((s) => s.trim()).filter((s) => s.replace(/--[^\n]*/g, '').trim() !== ';' && s);
}

function firstWord(statement) {
  const m = /^\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)/.exec(statement);
  return m ? m[1].toUpperCase() : '';
}

// Properties SET in the console: every request carries them, as the shell
// keeps them for its session.
const properties = {};
const resultBox = document.querySelector('#sql-result');
const status = document.querySelector('#sql-status');
const pauseButton = document.querySelector('#pause');
const stopButton = document.querySelector('#stop');
let running = null;

async function runEditor() {
  if (running) await running.stop();
  resultBox.replaceChildren();
  const statements = splitStatements(editor.value);
  let changed = false;
  for (const statement of statements) {
    const word = firstWord(statement);
    const set = /^\s*SET\s+'([^']+)'\s*=\s*'([^']*)'\s*;$/i.exec(statement);
    const unset = /^\s*UNSET\s+'([^']+)'\s*;$/i.exec(statement);
    if (set) { properties[set[1]] = set[2]; resultBox.append(message(`Property '${set[1]}' set to '${set[2]}'`)); continue; }
    if (unset) { delete properties[unset[1]]; resultBox.append(message(`Property '${unset[1]}' unset`)); continue; }
    try {
      if (word === 'SELECT' || word === 'PRINT') {
        const ended = await runQuery(statement);
        if (!ended) break; // a push query keeps the page until stopped
      } else {
        const res = await fetch('/ksql', {
          method: 'POST',
          headers: { 'Content-Type': 'application/vnd.ksql.v1+json', Accept: 'application/json' },
          body: JSON.stringify({ ksql: statement, streamsProperties: properties }),
        });
        const body = await res.json();
        if (!res.ok) throw new Error(body.message || JSON.stringify(body));
        for (const entity of body) resultBox.append(renderEntity(entity));
        if (!body.length) resultBox.append(message(`${statement.split(/\s+/)[0].toUpperCase()} done`));
        changed = true;
      }
    } catch (e) {
      resultBox.append(message(`${statement}\n${e.message}`, true));
      break;
    }
  }
  if (changed) loadCatalog();
}

// Runs a query into a grid; resolves true when it ended (a pull query, a
// push query's LIMIT), false while a push query keeps running.
function runQuery(statement) {
  return new Promise((resolve) => {
    const push = /\bEMIT\s+CHANGES\b/i.test(statement) || firstWord(statement) === 'PRINT';
    const box = el('div', { class: 'query-result' });
    resultBox.append(box);
    let table = null;
    let count = 0;
    let paused = false;
    let held = [];
    const show = () => {
      status.textContent = `${count} row${count === 1 ? '' : 's'}` +
        (paused ? `, paused (${held.length} waiting)` : '') + (running ? '' : ', done');
    };
    const handle = api.stream(statement, {
      meta(meta) {
        table = grid(meta.columnNames || ['RECORD']);
        table.dataset.queryId = meta.queryId;
        box.append(table);
        if (push) resolve(false);
      },
      rows(rows) {
        count += rows.length;
        if (paused) held.push(...rows); else appendRows(table, rows);
        show();
      },
      end(error) {
        if (running === handle) running = null;
        pauseButton.disabled = true;
        stopButton.disabled = true;
        if (paused) { appendRows(table, held); held = []; paused = false; }
        if (error) box.append(message(error.message, true));
        show();
        resolve(true);
      },
    }, properties);
    if (push) {
      running = handle;
      pauseButton.disabled = false;
      pauseButton.textContent = 'Pause';
      stopButton.disabled = false;
      pauseButton.onclick = () => {
        paused = !paused;
        pauseButton.textContent = paused ? 'Resume' : 'Pause';
        if (!paused) { appendRows(table, held); held = []; }
        show();
      };
      stopButton.onclick = () => handle.stop();
    }
    status.textContent = 'running…';
  });
}

// One /ksql entity as the page shows it.
function renderEntity(e) {
  switch (e['@type']) {
    case 'currentStatus':
      return message(`${e.commandStatus.message}${e.commandStatus.queryId ? ` (${e.commandStatus.queryId})` : ''}`,
        e.commandStatus.status === 'ERROR');
    case 'streams':
    case 'tables':
      return grid(['Name', 'Topic', 'Key format', 'Value format', 'Windowed'],
        (e.streams || e.tables).map((s) => [s.name, s.topic, s.keyFormat, s.valueFormat, s.isWindowed]));
    case 'queries':
      return grid(['Query id', 'Type', 'State', 'Sinks', 'Statement'],
        e.queries.map((q) => [q.id, q.queryType, q.state, q.sinks.join(', '), q.queryString]));
    case 'sourceDescription':
      return describeSource(e.sourceDescription);
    case 'source_descriptions':
      return el('div', {}, e.sourceDescriptions.map(describeSource));
    case 'queryDescription': {
      const d = e.queryDescription;
      return el('div', {},
        el('h3', {}, d.id || 'Query plan', d.state ? el('span', { class: `state-${d.state}` }, ` ${d.state}`) : null),
        el('div', { class: 'statement' }, d.statementText),
        grid(['Field', 'Type'], d.fields.map((f) => [f.name, typeText(f.schema)])),
        el('pre', {}, d.executionPlan));
    }
    case 'properties':
      return grid(['Property', 'Scope', 'Value'], e.properties.map((p) => [p.name, p.scope, p.value]));
    case 'function_names':
      return grid(['Function', 'Type', 'Category'], e.functions.map((f) => [f.name, f.type, f.category]));
    case 'kafka_topics':
      return grid(['Topic', 'Partitions', 'Replicas'],
        e.topics.map((t) => [t.name, t.replicaInfo.length, t.replicaInfo[0] || 0]));
    case 'type_list':
      return grid(['Type', 'Definition'], Object.entries(e.types).map(([n, s]) => [n, typeText(s)]));
    case 'variables':
      return grid(['Variable', 'Value'], e.variables.map((v) => [v.name, v.value]));
    default:
      return el('pre', {}, JSON.stringify(e, null, 2));
  }
}

function describeSource(s) {
  return el('div', { class: 'source' },
    el('h3', {}, `${s.type} ${s.name}`),
    grid(['Topic', 'Partitions', 'Key format', 'Value format', 'Timestamp', 'Window'],
      [[s.topic, s.partitions, s.keyFormat, s.valueFormat, s.timestamp || '', s.windowType || '']]),
    grid(['Column', 'Type', 'Key'], s.fields.map((f) => [f.name, typeText(f.schema), f.type === 'KEY' ? 'KEY' : ''])),
    s.statistics ? el('div', { class: 'statement' }, s.statistics, ' ', s.errorStats || '') : null);
}

document.querySelector('#run').addEventListener('click', runEditor);
pages.sql = { show: () => editor.focus() };
loadCatalog();
