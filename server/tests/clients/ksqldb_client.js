// npm `ksqldb-client` 1.0.5 against a Sluice server: node's http2 with
// prior knowledge (h2c) for everything. It has no /info call; rows go in
// through insertInto (one /inserts-stream request per row). Prints what
// it saw as one JSON object, reduced as flow.py reduces it.
"use strict";
const KsqldbClient = require("ksqldb-client");

const url = new URL(process.argv[2]);
const EARLIEST = { "auto.offset.reset": "earliest" };
const strip = (id) => (id || "").replace(/\d+$/, "");

function check(answer) {
  if (answer.error) {
    throw new Error(JSON.stringify(answer.error));
  }
  return answer;
}

async function statement(client, sql, extra) {
  const { data } = check(await client.executeStatement(sql, extra));
  return data.rows;
}

async function main() {
  const client = new KsqldbClient({ host: `http://${url.hostname}`, port: Number(url.port) });
  await client.connect();
  const out = { info: null };
  const created = await statement(
    client,
    "CREATE STREAM ORDERS (ID STRING KEY, NAME STRING, AMOUNT INT) " +
      "WITH (kafka_topic='orders', value_format='json', partitions=1);"
  );
  out.create = created[0].commandStatus.status;
  out.inserted = [];
  for (const row of [
    { ID: "a", NAME: "x", AMOUNT: 1 },
    { ID: "b", NAME: "y", AMOUNT: 2 },
    { ID: "c", NAME: "x", AMOUNT: 3 },
  ]) {
    out.inserted.push(check(await client.insertInto("ORDERS", row)).data.rows);
  }
  const props = { streamsProperties: EARLIEST };
  const csas = await statement(
    client,
    "CREATE STREAM BIG AS SELECT * FROM ORDERS WHERE AMOUNT > 1 EMIT CHANGES;",
    props
  );
  out.csas = strip(csas[0].commandStatus.queryId);
  const ctas = await statement(
    client,
    "CREATE TABLE TOTALS AS SELECT NAME, SUM(AMOUNT) AS TOTAL FROM ORDERS GROUP BY NAME EMIT CHANGES;",
    props
  );
  out.ctas = strip(ctas[0].commandStatus.queryId);

  // A push query with LIMIT, streamed: each DATA frame parsed on its own.
  const seen = [];
  let columns = null;
  check(
    await client.streamQuery(
      "SELECT * FROM BIG EMIT CHANGES LIMIT 2;",
      (data) => {
        columns = data.metadata.columnNames;
        for (const row of data.rows || []) {
          seen.push(Object.values(row));
        }
      },
      { properties: EARLIEST }
    )
  );
  out.push_columns = columns;
  out.push = seen;
  // The same through query(): the whole body as one JSON array.
  const limited = check(
    await client.query("SELECT * FROM BIG EMIT CHANGES LIMIT 2;", { properties: EARLIEST })
  );
  out.push_query = limited.data.rows.map((r) => Object.values(r));

  const deadline = Date.now() + 15000;
  let pull = null;
  while (Date.now() < deadline) {
    const { data } = check(await client.query("SELECT * FROM TOTALS;"));
    pull = data.rows.map((r) => Object.values(r)).sort();
    if (JSON.stringify(pull) === JSON.stringify([["x", 4], ["y", 2]])) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  out.pull = pull;
  out.streams = (await client.listStreams()).map((s) => s.name).sort();
  const queries = await client.listQueries();
  out.queries = queries.map((q) => strip(q.id)).sort();
  const description = await client.describeSource("ORDERS");
  out.describe = description.fields.map((f) => [f.name, f.schema.type, f.type === undefined ? null : f.type]);

  // A push query without LIMIT, closed by the id its metadata carries.
  let closing = null;
  check(
    await client.streamQuery(
      "SELECT * FROM ORDERS EMIT CHANGES;",
      (data) => {
        if (!closing) {
          closing = client.terminatePushQuery(data.metadata.queryId);
        }
      },
      { properties: EARLIEST }
    )
  );
  out.closed = (await closing).status === 200;

  const ids = {};
  for (const q of queries) ids[strip(q.id)] = q.id;
  out.terminated = [];
  for (const q of ["CTAS_TOTALS_", "CSAS_BIG_"]) {
    out.terminated.push((await statement(client, `TERMINATE ${ids[q]};`))[0].commandStatus.status);
  }
  out.dropped = [];
  for (const s of ["DROP TABLE TOTALS;", "DROP STREAM BIG;", "DROP STREAM ORDERS;"]) {
    out.dropped.push((await statement(client, s))[0].commandStatus.status);
  }
  await client.disconnect();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
