-- An aggregation produces a table, not a stream: creating the stream fails.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM x AS SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer;
