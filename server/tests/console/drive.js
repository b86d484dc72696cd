// Drives the web console in headless Chromium (playwright-core over the
// DevTools protocol): creates a stream and inserts rows from the SQL page,
// checks completion and highlighting, runs a push query and watches rows
// arrive (pausing and resuming), stops it, starts a persistent query,
// watches it on the queries page, opens its topology, previews a topic in
// the catalog, reads the processing log, and terminates the query.
// Usage: node drive.js URL SCREENSHOT_DIR; prints one JSON object.
'use strict';

const { chromium } = require('playwright-core');

const [url, shots] = process.argv.slice(2);
const seen = {};

async function ksql(sql) {
  const res = await fetch(`${url}/ksql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ksql: sql, streamsProperties: {} }),
  });
  if (!res.ok) throw new Error(`${sql}: ${await res.text()}`);
  return res.json();
}

async function run(page, sql) {
  await page.fill('#editor', sql);
  await page.click('#run');
}

const cells = (page, selector) => page.$$eval(selector, (tds) => tds.map((td) => td.textContent));

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.setDefaultTimeout(15000);
    await page.goto(url);
    await page.waitForSelector('#server-info:not(:empty)');
    seen.title = await page.title();

    // A stream and rows, from the editor.
    await run(page, "CREATE STREAM ORDERS (ID STRING KEY, ITEM STRING, QTY INT) WITH (kafka_topic='orders', value_format='json', partitions=1);");
    seen.create = await page.textContent('#sql-result .message');
    await run(page, "INSERT INTO ORDERS (ID, ITEM, QTY) VALUES ('o1', 'apple', 3);\nINSERT INTO ORDERS (ID, ITEM, QTY) VALUES ('o2', 'pear', 5);");
    await page.waitForFunction(() => document.querySelectorAll('#sql-result .message').length === 2);

    // Completion offers the catalog's names; highlighting marks keywords.
    await page.fill('#editor', '');
    await page.focus('#editor');
    await page.keyboard.type('SELECT * FROM ORD');
    await page.waitForSelector('#completions:not([hidden]) li');
    seen.completions = await cells(page, '#completions li');
    await page.keyboard.press('Tab');
    seen.completed = await page.inputValue('#editor');
    seen.keywords = await cells(page, '#highlight .kw');
    seen.objects = await cells(page, '#highlight .obj');

    // A push query: rows inserted later arrive in the grid; paused rows
    // wait; stop closes the query.
    await page.keyboard.type(" EMIT CHANGES;");
    await page.click('#run');
    await page.waitForSelector('#sql-result table.grid');
    seen.pushColumns = await cells(page, '#sql-result th');
    await ksql("INSERT INTO ORDERS (ID, ITEM, QTY) VALUES ('o3', 'fig', 7);");
    await page.waitForFunction(() => document.querySelectorAll('#sql-result tbody tr').length === 1);
    await page.click('#pause');
    await ksql("INSERT INTO ORDERS (ID, ITEM, QTY) VALUES ('o4', 'kiwi', 1);");
    await page.waitForFunction(() => /1 waiting/.test(document.querySelector('#sql-status').textContent));
    seen.rowsWhilePaused = await page.$$eval('#sql-result tbody tr', (r) => r.length);
    await page.click('#pause');
    await page.waitForFunction(() => document.querySelectorAll('#sql-result tbody tr').length === 2);
    seen.pushRows = await page.$$eval('#sql-result tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    await page.screenshot({ path: `${shots}/sql.png` });
    await page.click('#stop');
    await page.waitForFunction(() => /done/.test(document.querySelector('#sql-status').textContent));
    seen.stopped = await page.textContent('#sql-status');

    // A persistent query: on the queries page with its counters.
    await run(page, "SET 'auto.offset.reset'='earliest';\nCREATE TABLE TOTALS AS SELECT ITEM, SUM(QTY) AS QTY FROM ORDERS WHERE QTY > 2 GROUP BY ITEM EMIT CHANGES;");
    await page.waitForFunction(() => /CTAS_TOTALS/.test(document.querySelector('#sql-result').textContent));
    await page.click('#tabs [data-page=queries]');
    await page.waitForFunction(() => {
      const c = document.querySelector('#queries-table tr[data-query-id^=CTAS_TOTALS] .consumed');
      const p = document.querySelector('#queries-table tr[data-query-id^=CTAS_TOTALS] .produced');
      const r = document.querySelector('#queries-table tr[data-query-id^=CTAS_TOTALS] .rate-in');
      return c && c.textContent === '4' && p.textContent === '3' && r.textContent !== '';
    });
    const row = '#queries-table tr[data-query-id^=CTAS_TOTALS]';
    seen.ratesAreNumbers = await page.$$eval(`${row} .rate-in, ${row} .rate-out`,
      (tds) => tds.map((td) => /^\d+\.\d$/.test(td.textContent)));
    seen.queryId = await page.getAttribute(row, 'data-query-id');
    seen.queryRow = await cells(page, `${row} td:not(.rate-in):not(.rate-out)`);
    await page.screenshot({ path: `${shots}/queries.png` });
    await page.click(`${row} button:text("Pause")`);
    await page.waitForSelector(`${row} .state-PAUSED`);
    seen.pausedState = (await ksql(`EXPLAIN ${seen.queryId};`))[0].queryDescription.state;
    await page.click(`${row} button:text("Resume")`);
    await page.waitForSelector(`${row} .state-RUNNING`);
    seen.resumedState = (await ksql(`EXPLAIN ${seen.queryId};`))[0].queryDescription.state;

    // Its topology.
    await page.click(`${row} button:text("Topology")`);
    await page.waitForFunction(() => /TOTALS/.test(document.querySelector('#topology-statement').textContent));
    seen.operators = await page.$$eval('#topology-graph svg g.node', (g) => g.map((n) => n.dataset.operator));
    seen.kinds = await page.$$eval('#topology-graph svg g.node', (g) => g.map((n) => n.getAttribute('class')));
    seen.edges = await page.$$eval('#topology-graph svg path.edge', (p) => p.length);
    await page.screenshot({ path: `${shots}/topology.png` });

    // A join's topology: two sources feed it.
    await page.click('#tabs [data-page=sql]');
    await run(page, "SET 'auto.offset.reset'='earliest';\nCREATE STREAM ENRICHED AS SELECT O.ITEM AS ITEM, O.ID AS ID, O.QTY AS QTY, T.QTY AS TOTAL FROM ORDERS O JOIN TOTALS T ON O.ITEM = T.ITEM EMIT CHANGES;");
    await page.waitForFunction(() => /CSAS_ENRICHED/.test(document.querySelector('#sql-result').textContent));
    const joinId = (await ksql('SHOW QUERIES;'))[0].queries.map((q) => q.id).find((id) => id.startsWith('CSAS_ENRICHED'));
    await page.click('#tabs [data-page=topology]');
    await page.selectOption('#topology-query', joinId);
    await page.waitForFunction(() => /ENRICHED/.test(document.querySelector('#topology-statement').textContent));
    seen.joinOperators = await page.$$eval('#topology-graph svg g.node', (g) => g.map((n) => n.dataset.operator));
    seen.joinInputs = await page.$$eval('#topology-graph tbody tr', (rows) => rows.map((r) => r.lastChild.textContent));
    seen.joinEdges = await page.$$eval('#topology-graph svg path.edge', (p) => p.length);
    await page.screenshot({ path: `${shots}/topology-join.png` });
    await ksql(`TERMINATE ${joinId};`);

    // The catalog: sources with columns; a topic's records, live.
    await page.click('#tabs [data-page=catalog]');
    await page.waitForSelector('#catalog-list .item');
    seen.catalog = await page.$$eval('#catalog-list .item', (items) => items.map((i) => i.firstChild.textContent));
    await page.click('#catalog-list .item[data-name=ORDERS]');
    await page.waitForSelector('#catalog-detail .source');
    seen.columns = await cells(page, '#catalog-detail table:nth-of-type(2) tbody td:first-child');
    await page.click('#catalog-list .item[data-name=orders]');
    await page.waitForFunction(() => document.querySelectorAll('#catalog-detail tbody tr').length === 4);
    seen.printed = await cells(page, '#catalog-detail tbody td');
    seen.formats = await page.textContent('#catalog-detail .formats');
    await page.screenshot({ path: `${shots}/catalog.png` });

    // A query whose input cannot be read (ITEM is text, not INT): its
    // processing errors are counted, and logged.
    await page.click('#tabs [data-page=sql]');
    await run(page, "CREATE STREAM BAD (ITEM INT) WITH (kafka_topic='orders', value_format='json');\nSET 'auto.offset.reset'='earliest';\nCREATE STREAM BADCOPY AS SELECT * FROM BAD;");
    await page.waitForFunction(() => /CSAS_BADCOPY/.test(document.querySelector('#sql-result').textContent));
    await page.click('#tabs [data-page=queries]');
    await page.waitForFunction(() => {
      const c = document.querySelector('#queries-table tr[data-query-id^=CSAS_BADCOPY] .errors');
      return c && c.textContent === '4';
    });

    // The processing log, filtered.
    await page.click('#tabs [data-page=log]');
    await page.waitForFunction(() => /record/.test(document.querySelector('#log-status').textContent));
    seen.logColumns = await cells(page, '#log-table th');
    seen.logAll = await page.textContent('#log-status');
    await page.fill('#log-filter', 'CSAS_BADCOPY');
    seen.logMatching = await page.textContent('#log-status');
    seen.logShown = await page.$$eval('#log-table tbody tr', (r) => r.length);
    await page.fill('#log-filter', 'no such text anywhere');
    seen.logFiltered = await page.textContent('#log-status');
    await page.fill('#log-filter', 'CSAS_BADCOPY');
    await page.screenshot({ path: `${shots}/log.png` });

    // Terminate from the queries page.
    await page.click('#tabs [data-page=queries]');
    await page.waitForSelector(row);
    page.on('dialog', (d) => d.dismiss());
    await page.click(`${row} button:text("Terminate")`);
    await page.waitForSelector(row, { state: 'detached' });
    seen.afterTerminate = (await ksql('SHOW QUERIES;'))[0].queries.map((q) => q.id);
    await page.screenshot({ path: `${shots}/terminated.png` });
    seen.pageErrors = errors;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
})().catch((e) => {
  process.stderr.write(`${e.stack}\nseen so far: ${JSON.stringify(seen)}\n`);
  process.exit(1);
});
