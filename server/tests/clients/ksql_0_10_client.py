"""PyPI `ksql` 0.10.2 against a Sluice server: urllib HTTP/1.1 without an
Accept header for /ksql and /query, requests for /info and /close-query,
and `hyper` for /query-stream and /inserts-stream (HTTP/1.1 with
`Upgrade: h2c` and an absolute-form URL, answered over HTTP/1.1). Its
ksql() indexes [0] of every answer, so INSERT VALUES' `[]` raises on its
side: rows go in through its inserts_stream."""
import collections
import collections.abc

# hyper 0.7 imports the ABCs from `collections` (gone in Python 3.10).
for _name in ("Iterable", "Mapping", "MutableMapping", "MutableSet", "Sequence", "Callable"):
    setattr(collections, _name, getattr(collections.abc, _name))

import json
import sys

import flow
from ksql import KSQLAPI

client = KSQLAPI(sys.argv[1], timeout=20)
out = {"info": client.get_ksql_version()}
out["create"] = flow.status(client.ksql(flow.CREATE))
out["inserted"] = client.inserts_stream("ORDERS", flow.ROWS)
out["csas"] = flow.created_query(client.ksql(flow.CSAS, stream_properties=flow.EARLIEST))
out["ctas"] = flow.created_query(client.ksql(flow.CTAS, stream_properties=flow.EARLIEST))


def chunks(results):
    """The raw chunks of a /query answer. Its generator raises StopIteration
    inside itself after the last chunk (a RuntimeError since PEP 479), a
    bug on the client's side: the chunks before it are the whole answer."""
    got = []
    try:
        for chunk in results:
            got.append(chunk)
    except RuntimeError:
        pass
    return got


def v1(sql):
    return json.loads("".join(chunks(client.query(sql, stream_properties=flow.EARLIEST))))


answer = v1(flow.PUSH)
out["push_columns"] = answer[0]["header"]["schema"]
out["push"] = [r["row"]["columns"] for r in answer[1:] if "row" in r]
out["push_end"] = answer[-1]
# /query-stream through hyper: one delimited line per chunk.
lines = [
    json.loads(c)
    for c in client.query(flow.PUSH, stream_properties=flow.EARLIEST, use_http2=True)
]
out["push_http2"] = lines[1:]
out["pull"] = flow.poll_pull(lambda: [r["row"]["columns"] for r in v1(flow.PULL)[1:]])
out["streams"] = flow.streams(client.ksql("LIST STREAMS;"))
shown = client.ksql("SHOW QUERIES;")
out["queries"] = flow.queries(shown)
out["describe"] = flow.describe(client.ksql("DESCRIBE ORDERS;"))

results = client.query(flow.OPEN_PUSH, stream_properties=flow.EARLIEST)
header = json.loads(next(results).rstrip().rstrip(",").lstrip("["))
out["closed"] = client.close_query(header["header"]["queryId"])
out["closed_end"] = "".join(chunks(results)).rstrip().endswith("]")
ids = flow.query_ids(shown)
out["terminated"] = [
    flow.status(client.ksql("TERMINATE {};".format(ids[q]))) for q in ("CTAS_TOTALS_", "CSAS_BIG_")
]
out["dropped"] = [
    flow.status(client.ksql(s)) for s in ("DROP TABLE TOTALS;", "DROP STREAM BIG;", "DROP STREAM ORDERS;")
]
flow.emit(out)
