-- Struct fields: a dereference and struct->* expanded into its fields.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM places AS SELECT id, address->city AS town, address->* FROM orders;
