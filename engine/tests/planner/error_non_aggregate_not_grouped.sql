-- A non-aggregate SELECT expression must be in GROUP BY.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE x AS SELECT customer, amount, COUNT(*) AS n FROM orders GROUP BY customer;
