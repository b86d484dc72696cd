-- A stream-table join: the stream looks up the table by the join key; the stream is re-keyed by its column.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE customers (id STRING PRIMARY KEY, name STRING, region STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=1);
CREATE STREAM enriched AS SELECT o.customer, o.amount, c.name, c.region FROM orders o JOIN customers c ON o.customer = c.id;
