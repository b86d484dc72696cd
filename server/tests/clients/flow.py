"""What every client-library test runs against a Sluice server, and how its
answers are reduced to one comparable JSON object (query ids lose their
trailing sequence number, rows become lists of values)."""
import json
import re
import sys
import time

CREATE = (
    "CREATE STREAM ORDERS (ID STRING KEY, NAME STRING, AMOUNT INT) "
    "WITH (kafka_topic='orders', value_format='json', partitions=1);"
)
ROWS = [
    {"ID": "a", "NAME": "x", "AMOUNT": 1},
    {"ID": "b", "NAME": "y", "AMOUNT": 2},
    {"ID": "c", "NAME": "x", "AMOUNT": 3},
]
CSAS = "CREATE STREAM BIG AS SELECT * FROM ORDERS WHERE AMOUNT > 1 EMIT CHANGES;"
CTAS = (
    "CREATE TABLE TOTALS AS SELECT NAME, SUM(AMOUNT) AS TOTAL "
    "FROM ORDERS GROUP BY NAME EMIT CHANGES;"
)
PUSH = "SELECT * FROM BIG EMIT CHANGES LIMIT 2;"
PULL = "SELECT * FROM TOTALS;"
OPEN_PUSH = "SELECT * FROM ORDERS EMIT CHANGES;"
EARLIEST = {"auto.offset.reset": "earliest"}
# The pull query's answer once the CTAS has read every row.
TOTALS = [["x", 4], ["y", 2]]


def insert_values(row):
    """An INSERT VALUES statement for one of ROWS."""
    return "INSERT INTO ORDERS (ID, NAME, AMOUNT) VALUES ('{}', '{}', {});".format(
        row["ID"], row["NAME"], row["AMOUNT"]
    )


def strip_id(query_id):
    """CSAS_BIG_3 -> CSAS_BIG_."""
    return re.sub(r"\d+$", "", query_id or "")


def status(answer):
    """The commandStatus.status of a /ksql answer's first entity."""
    return answer[0]["commandStatus"]["status"]


def created_query(answer):
    """The id (stripped) of the query a CSAS/CTAS answer names."""
    return strip_id(answer[0]["commandStatus"]["queryId"])


def streams(answer):
    return sorted(s["name"] for s in answer[0]["streams"])


def queries(answer):
    return sorted(strip_id(q["id"]) for q in answer[0]["queries"])


def query_ids(answer):
    """The full ids of the running queries, by stripped id."""
    return {strip_id(q["id"]): q["id"] for q in answer[0]["queries"]}


def describe(answer):
    fields = answer[0]["sourceDescription"]["fields"]
    return [[f["name"], f["schema"]["type"], f.get("type")] for f in fields]


def poll_pull(run, want=TOTALS, seconds=15):
    """Runs a pull query until it answers `want` (the CTAS catches up)."""
    deadline = time.time() + seconds
    got = None
    while time.time() < deadline:
        got = sorted(run())
        if got == want:
            break
        time.sleep(0.2)
    return got


def emit(out):
    print(json.dumps(out))
    sys.stdout.flush()
