-- ORDER BY is only for pull queries.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
SELECT id, amount FROM orders EMIT CHANGES ORDER BY amount;
