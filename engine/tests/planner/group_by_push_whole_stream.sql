-- A push query may aggregate a whole stream into one group.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
SELECT COUNT(*) AS n FROM orders EMIT CHANGES;
