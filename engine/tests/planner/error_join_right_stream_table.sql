-- RIGHT joins are not supported between a stream and a table.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE products (id INT PRIMARY KEY, title STRING, price DOUBLE) WITH (kafka_topic='products', value_format='JSON', partitions=1);
CREATE STREAM x AS SELECT o.id, p.title FROM orders o RIGHT JOIN products p ON o.id = p.id;
