-- PARTITION BY a value column: the new key, the old key moves to the values.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM by_customer AS SELECT customer, id, amount FROM orders PARTITION BY customer;
