-- An n-way join: a stream-stream join on the keys, then a stream-table join on the same key.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM payments (id INT KEY, order_id INT, paid DOUBLE) WITH (kafka_topic='payments', value_format='JSON', partitions=1);
CREATE TABLE products (id INT PRIMARY KEY, title STRING, price DOUBLE) WITH (kafka_topic='products', value_format='JSON', partitions=1);
CREATE STREAM full_view AS SELECT o.id, o.amount, p.paid, x.title FROM orders o JOIN payments p WITHIN 1 HOUR ON o.id = p.id JOIN products x ON o.id = x.id;
