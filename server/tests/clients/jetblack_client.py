"""PyPI `jetblack-ksql-dbapi` against a Sluice server (Python >= 3.12):
its KsqlDbClient speaks h2c with prior knowledge for everything, /query
included (its `connect()` is broken in the published wheel: a grammar
file is missing). Its query generators keep the query id to themselves,
so the push query it closes is opened on the client's own httpx client
and closed through its close_query."""
import json
import sys

import flow
from jetblack_ksql_dbapi._ksql_client import KsqlDbClient

client = KsqlDbClient(sys.argv[1])
out = {"info": client.info()["KsqlServerInfo"]["version"]}
out["health"] = client.healthcheck()["isHealthy"]
created = client.ksql(flow.CREATE)
out["create"] = flow.status(created)
out["status"] = client.queury_status(created[0]["commandId"])["status"]
out["inserted"] = list(client.inserts_stream("ORDERS", flow.ROWS))
out["csas"] = flow.created_query(client.ksql(flow.CSAS, streams_properties=flow.EARLIEST))
out["ctas"] = flow.created_query(
    client.ksql(flow.CTAS, streams_properties=flow.EARLIEST, session_variables={"unused": "1"})
)
rows = list(client.query_stream(flow.PUSH, properties=flow.EARLIEST, timeout=20))
out["push_columns"] = list(rows[0])
out["push"] = [list(r.values()) for r in rows]
out["push_v1_endpoint"] = [
    list(r.values()) for r in client.query(flow.PUSH, streams_properties=flow.EARLIEST, timeout=20)
]
out["pull"] = flow.poll_pull(lambda: [list(r.values()) for r in client.query(flow.PULL)])
out["streams"] = flow.streams(client.ksql("LIST STREAMS;"))
shown = client.ksql("SHOW QUERIES;")
out["queries"] = flow.queries(shown)
out["describe"] = flow.describe(client.ksql("DESCRIBE ORDERS;"))

body = {"sql": flow.OPEN_PUSH, "properties": flow.EARLIEST}
with client._client.stream("POST", "/query-stream", json=body, timeout=20) as response:
    lines = response.iter_lines()
    meta = json.loads(next(lines))
    out["closed"] = client.close_query(meta["queryId"])
    for _ in lines:
        pass
ids = flow.query_ids(shown)
out["terminated"] = [
    flow.status(client.ksql("TERMINATE {};".format(ids[q]))) for q in ("CTAS_TOTALS_", "CSAS_BIG_")
]
out["dropped"] = [
    flow.status(client.ksql(s)) for s in ("DROP TABLE TOTALS;", "DROP STREAM BIG;", "DROP STREAM ORDERS;")
]
client.close()
flow.emit(out)
