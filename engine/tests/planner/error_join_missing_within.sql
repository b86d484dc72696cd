-- A stream-stream join needs WITHIN.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM payments (id INT KEY, order_id INT, paid DOUBLE) WITH (kafka_topic='payments', value_format='JSON', partitions=1);
CREATE STREAM x AS SELECT o.id, p.paid FROM orders o JOIN payments p ON o.id = p.id;
