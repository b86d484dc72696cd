"""ksql-python-ng against a Sluice server: info, create stream, inserts,
push queries with LIMIT (HTTP/1.1 /query and h2c /query-stream) and a pull
query. Prints what it saw as one JSON object."""
import json
import sys

from ksql import KSQLAPI

url = sys.argv[1]
client = KSQLAPI(url, timeout=20)
out = {"version": client.get_ksql_version()}
created = client.ksql(
    "CREATE STREAM PY (ID STRING KEY, NAME STRING, AMOUNT INT) "
    "WITH (kafka_topic='py', value_format='json', partitions=1);"
)
out["create"] = created[0]["commandStatus"]["status"]
out["acks"] = client.inserts_stream(
    "PY", [{"ID": "a", "NAME": "x", "AMOUNT": 1}, {"ID": "b", "NAME": "y", "AMOUNT": 2}]
)
earliest = {"auto.offset.reset": "earliest"}
out["push_http1"] = list(
    client.query("SELECT * FROM PY EMIT CHANGES LIMIT 2;", stream_properties=earliest, parse=True)
)
out["push_http2"] = list(
    client.query(
        "SELECT NAME FROM PY EMIT CHANGES LIMIT 1;",
        stream_properties=earliest,
        use_http2=True,
        parse=True,
    )
)
out["pull"] = list(client.query("SELECT ID, AMOUNT FROM PY;", parse=True))
print(json.dumps(out))
