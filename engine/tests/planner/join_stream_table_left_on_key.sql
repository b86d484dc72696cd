-- A left stream-table join on the stream's key (no re-keying).
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE products (id INT PRIMARY KEY, title STRING, price DOUBLE) WITH (kafka_topic='products', value_format='JSON', partitions=1);
CREATE STREAM with_product AS SELECT o.id, o.amount, p.title FROM orders o LEFT JOIN products p ON o.id = p.id;
