-- A stream-stream inner join within a window, on both keys.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM payments (id INT KEY, order_id INT, paid DOUBLE) WITH (kafka_topic='payments', value_format='JSON', partitions=1);
CREATE STREAM paid AS SELECT o.id, o.amount, p.paid FROM orders o JOIN payments p WITHIN 1 HOUR ON o.id = p.id;
