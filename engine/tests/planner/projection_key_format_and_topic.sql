-- WITH properties: the sink's topic, formats and partitions.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM out WITH (kafka_topic='out_topic', key_format='JSON', value_format='DELIMITED', partitions=2) AS SELECT id, customer, amount FROM orders;
