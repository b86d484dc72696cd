-- WITH (TIMESTAMP=...): the result's event time comes from a column (a Timestamp step before the sink).
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM timed WITH (timestamp='TS') AS SELECT id, customer, ts FROM orders;
