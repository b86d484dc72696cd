-- EMIT FINAL needs a window: the plan is fine, creating the table fails.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE x AS SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer EMIT FINAL;
