// The topology page: a persistent query's operator graph (EXPLAIN's plan
// with its edges, `sluicePlan`) drawn as SVG, inputs on the left: sources,
// operators with their parameters, state stores, internal topics, sinks.
'use strict';

let topologyQuery = null;
const topologySelect = document.querySelector('#topology-query');
const topologyGraph = document.querySelector('#topology-graph');
const topologyStatement = document.querySelector('#topology-statement');
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// What a plan node is drawn as.
function nodeKind(node) {
  if (node.name === 'Source') return 'source';
  if (node.name === 'Sink') return 'sink';
  if (node.name === 'Repartition') return 'topic';
  if (/aggregat|join|window|table|distinct|suppress|materiali|latest/i.test(node.name)) return 'stateful';
  return 'operator';
}

const BADGES = { source: 'input topic', sink: 'output topic', topic: 'internal topic', stateful: 'state store' };

// A node's parameters, one a line ("a: x | b: y"), each cut to `width`
// characters a line (long names broken), at most `max` lines in all.
function paramLines(text, width, max) {
  const lines = [];
  for (const param of text.split(' | ')) {
    let line = '';
    for (let word of param.split(/\s+/)) {
      while (word.length > width) {
        if (line) { lines.push(line); line = ''; }
        lines.push(word.slice(0, width));
        word = word.slice(width);
      }
      if (line && `${line} ${word}`.length > width) { lines.push(line); line = word; } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(line);
  }
  if (lines.length > max) { lines.length = max; lines[max - 1] += ' …'; }
  return lines;
}

// The plan as SVG, inputs above the operators that read them: each
// operator on the row after its deepest input.
function drawPlan(plan) {
  const W = 300; const GAP_X = 40; const GAP_Y = 36; const LINE = 14;
  const layer = [];
  for (const n of plan) layer[n.id] = n.inputs.length ? 1 + Math.max(...n.inputs.map((i) => layer[i])) : 0;
  // A source sits just above the first operator reading it, so its edge
  // crosses no other row.
  for (const n of plan) {
    if (n.inputs.length) continue;
    const readers = plan.filter((r) => r.inputs.includes(n.id)).map((r) => layer[r.id]);
    if (readers.length) layer[n.id] = Math.min(...readers) - 1;
  }
  const rows = [];
  const boxes = [];
  for (const n of plan) {
    const lines = paramLines(n.description || '', 40, 9);
    const box = { n, lines, h: 36 + lines.length * LINE };
    boxes[n.id] = box;
    (rows[layer[n.id]] = rows[layer[n.id]] || []).push(box);
  }
  let y = 16;
  for (const row of rows.filter(Boolean)) {
    row.forEach((b, i) => { b.x = 16 + i * (W + GAP_X); b.y = y; });
    y += Math.max(...row.map((b) => b.h)) + GAP_Y;
  }
  const width = 32 + Math.max(...rows.filter(Boolean).map((r) => r.length)) * (W + GAP_X) - GAP_X;
  const height = y - GAP_Y + 16;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#94a3b8' }))));
  for (const b of boxes) {
    for (const i of b.n.inputs) {
      const a = boxes[i];
      const x1 = a.x + W / 2; const y1 = a.y + a.h; const x2 = b.x + W / 2; const y2 = b.y;
      root.append(svg('path', { class: 'edge', d: `M${x1},${y1} C${x1},${y1 + GAP_Y / 2} ${x2},${y2 - GAP_Y / 2} ${x2},${y2}` }));
    }
  }
  for (const b of boxes) {
    const kind = nodeKind(b.n);
    const g = svg('g', { class: `node ${kind}`, transform: `translate(${b.x},${b.y})`, 'data-operator': b.n.name },
      svg('title', {}, `${b.n.name}: ${b.n.description}`),
      svg('rect', { width: W, height: b.h }),
      svg('text', { class: 'title', x: 10, y: 20 }, `${b.n.id} ${b.n.name}`));
    if (BADGES[kind]) g.append(svg('text', { class: 'badge', x: W - 10, y: 20, 'text-anchor': 'end' }, BADGES[kind]));
    b.lines.forEach((l, i) => g.append(svg('text', { class: 'param', x: 10, y: 38 + i * LINE }, l)));
    root.append(g);
  }
  return root;
}

// Each call draws only if no later call started meanwhile (a query chosen
// while the page was still loading is not overdrawn by the older answer).
let topologyCalls = 0;

async function showTopology() {
  const call = ++topologyCalls;
  const current = () => call === topologyCalls;
  let queries = [];
  try {
    queries = (await api.one('SHOW QUERIES;')).queries.filter((q) => q.queryType === 'PERSISTENT');
    if (!current()) return;
  } catch (e) {
    topologyGraph.replaceChildren(message(e.message, true));
    return;
  }
  if (!queries.some((q) => q.id === topologyQuery)) topologyQuery = queries.length ? queries[0].id : null;
  topologySelect.replaceChildren(...queries.map((q) => el('option', { value: q.id, selected: q.id === topologyQuery }, q.id)));
  if (!topologyQuery) {
    topologyStatement.textContent = '';
    topologyGraph.replaceChildren(message('No persistent query is running.'));
    return;
  }
  try {
    const d = (await api.one(`EXPLAIN ${topologyQuery};`)).queryDescription;
    if (!current()) return;
    topologyStatement.replaceChildren(el('span', { class: `state-${d.state}` }, d.state), ' ', d.statementText);
    topologyGraph.replaceChildren(el('div', { class: 'graph-row' }, drawPlan(d.sluicePlan || []),
      grid(['#', 'Operator', 'Parameters', 'Reads'], (d.sluicePlan || []).map((n) => [n.id, n.name, n.description, n.inputs.join(', ')]))));
  } catch (e) {
    topologyGraph.replaceChildren(message(e.message, true));
  }
}

topologySelect.addEventListener('change', () => { topologyQuery = topologySelect.value; showTopology(); });
document.querySelector('#topology-refresh').addEventListener('click', showTopology);
pages.topology = { show: showTopology };
