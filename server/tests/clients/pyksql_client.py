"""PyPI `pyksql` 0.11.0 against a Sluice server: urllib HTTP/1.1 without
an Accept header for /ksql and /query (so /query answers ksqlDB's v1
format), requests for /info and /close-query. Its inserts_stream posts
each row on its own without a target line and its HTTP/2 query passes
httpx a keyword it does not take, so rows go in as INSERT VALUES and
queries run over /query."""
import json
import sys
import threading

import flow
from ksql import KSQLAPI

client = KSQLAPI(sys.argv[1], timeout=20)
out = {"info": client.get_ksql_version()}
out["create"] = flow.status(client.ksql(flow.CREATE))
out["inserted"] = [client.ksql(flow.insert_values(r)) for r in flow.ROWS]
out["csas"] = flow.created_query(client.ksql(flow.CSAS, stream_properties=flow.EARLIEST))
out["ctas"] = flow.created_query(client.ksql(flow.CTAS, stream_properties=flow.EARLIEST))


def v1(sql):
    """A /query answer read to its end: the v1 array, parsed whole."""
    text = "".join(client.query(sql, stream_properties=flow.EARLIEST))
    return json.loads(text)


answer = v1(flow.PUSH)
out["push_columns"] = answer[0]["header"]["schema"]
out["push"] = [r["row"]["columns"] for r in answer[1:] if "row" in r]
out["push_end"] = answer[-1]
out["pull"] = flow.poll_pull(lambda: [r["row"]["columns"] for r in v1(flow.PULL)[1:]])
out["streams"] = flow.streams(client.ksql("LIST STREAMS;"))
shown = client.ksql("SHOW QUERIES;")
out["queries"] = flow.queries(shown)
out["describe"] = flow.describe(client.ksql("DESCRIBE ORDERS;"))

# A push query without LIMIT: close it by id from its header line, then
# read the rest of the response to its end.
results = client.query(flow.OPEN_PUSH, stream_properties=flow.EARLIEST)
header = json.loads(next(results).rstrip().rstrip(",").lstrip("["))
out["closed"] = client.close_query(header["header"]["queryId"])
rest = "".join(results)
out["closed_end"] = rest.rstrip().endswith("]")
ids = flow.query_ids(shown)
out["terminated"] = [
    flow.status(client.ksql("TERMINATE {};".format(ids[q]))) for q in ("CTAS_TOTALS_", "CSAS_BIG_")
]
out["dropped"] = [
    flow.status(client.ksql(s)) for s in ("DROP TABLE TOTALS;", "DROP STREAM BIG;", "DROP STREAM ORDERS;")
]
flow.emit(out)
