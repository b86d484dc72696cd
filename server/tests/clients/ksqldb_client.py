"""PyPI `ksqldb` 1.0.1 against a Sluice server: requests (HTTP/1.1) for
/ksql and /close-query, httpx h2c for /query-stream and /inserts-stream.
It has no /info call."""
import asyncio
import sys

import flow
from ksqldb import KSQLdbClient

client = KSQLdbClient(sys.argv[1])
out = {"info": None}
out["create"] = flow.status(client.ksql(flow.CREATE))
out["inserted"] = client.inserts_stream("ORDERS", flow.ROWS)
out["csas"] = flow.created_query(client.ksql(flow.CSAS, stream_properties=flow.EARLIEST))
out["ctas"] = flow.created_query(client.ksql(flow.CTAS, stream_properties=flow.EARLIEST))


async def push(sql):
    return [x async for x in client.query_async(sql, stream_properties=flow.EARLIEST)]


lines = asyncio.run(push(flow.PUSH))
out["push_columns"] = lines[0]["columnNames"]
out["push"] = lines[1:]
out["pull"] = flow.poll_pull(lambda: client.query_sync(flow.PULL)[1:])
out["streams"] = flow.streams(client.ksql("LIST STREAMS;"))
shown = client.ksql("SHOW QUERIES;")
out["queries"] = flow.queries(shown)
out["describe"] = flow.describe(client.ksql("DESCRIBE ORDERS;"))


async def open_and_close():
    seen = []
    async for x in client.query_async(flow.OPEN_PUSH, stream_properties=flow.EARLIEST, timeout=20):
        if not seen:
            seen.append(client.close_query(x["queryId"]))
    return seen[0]


out["closed"] = asyncio.run(open_and_close())
ids = flow.query_ids(shown)
out["terminated"] = [
    flow.status(client.ksql("TERMINATE {};".format(ids[q]))) for q in ("CTAS_TOTALS_", "CSAS_BIG_")
]
out["dropped"] = [
    flow.status(client.ksql(s)) for s in ("DROP TABLE TOTALS;", "DROP STREAM BIG;", "DROP STREAM ORDERS;")
]
flow.emit(out)
