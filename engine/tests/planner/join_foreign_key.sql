-- A foreign-key table-table join: keyed by the left table's key.
CREATE TABLE stock (id INT PRIMARY KEY, product_id INT, qty INT) WITH (kafka_topic='stock', value_format='JSON', partitions=1);
CREATE TABLE products (id INT PRIMARY KEY, title STRING, price DOUBLE) WITH (kafka_topic='products', value_format='JSON', partitions=1);
CREATE TABLE stocked AS SELECT s.id, s.qty, p.title FROM stock s JOIN products p ON s.product_id = p.id;
