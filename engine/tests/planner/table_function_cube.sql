-- CUBE_EXPLODE: every combination of the elements.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM combos AS SELECT id, CUBE_EXPLODE(items) AS combo FROM orders;
