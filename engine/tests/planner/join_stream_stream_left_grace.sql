-- A left stream-stream join with a grace period and an asymmetric window: unmatched rows wait for their window to close.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM payments (id INT KEY, order_id INT, paid DOUBLE) WITH (kafka_topic='payments', value_format='JSON', partitions=1);
CREATE STREAM maybe_paid AS SELECT o.id, o.amount, p.paid FROM orders o LEFT JOIN payments p WITHIN (0 SECONDS, 2 HOURS) GRACE PERIOD 10 MINUTES ON o.id = p.id;
