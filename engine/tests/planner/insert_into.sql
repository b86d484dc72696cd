-- INSERT INTO an existing stream: the sink is that stream.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM archive (id INT KEY, customer STRING, amount DOUBLE) WITH (kafka_topic='archive', value_format='JSON', partitions=1);
INSERT INTO archive SELECT id, customer, amount FROM orders WHERE amount < 10;
