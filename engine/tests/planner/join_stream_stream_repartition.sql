-- A stream-stream join on a value column: the right side is re-keyed through an internal topic.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM payments (id INT KEY, order_id INT, paid DOUBLE) WITH (kafka_topic='payments', value_format='JSON', partitions=1);
CREATE STREAM by_order AS SELECT o.id, o.amount, p.paid FROM orders o JOIN payments p WITHIN 1 HOUR ON o.id = p.order_id;
