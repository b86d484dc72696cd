-- GROUP BY two expressions: a two-column key (in JSON: KAFKA holds one column); an unnamed expression key is KSQL_COL_0.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE per_pair WITH (key_format='JSON') AS SELECT customer, ts / 1000, COUNT(*) AS n FROM orders GROUP BY customer, ts / 1000;
