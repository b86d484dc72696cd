-- EXPLODE: one row per element, the generated column selected as ITEM.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM lines AS SELECT id, EXPLODE(items) AS item FROM orders;
