-- A filter on a stream: WHERE becomes a Filter before the projection.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM big AS SELECT id, customer, amount FROM orders WHERE amount > 100 AND customer IS NOT NULL;
