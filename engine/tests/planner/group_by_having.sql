-- HAVING: a filter over the aggregated rows, shown as written.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE regulars AS SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer HAVING COUNT(*) > 3;
