-- A push query over a join: no internal topics (no query id), the stream side is re-keyed in place.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE customers (id STRING PRIMARY KEY, name STRING, region STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=1);
SELECT o.customer, c.name FROM orders o JOIN customers c ON o.customer = c.id EMIT CHANGES;
