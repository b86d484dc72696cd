-- A table-table inner join on both primary keys.
CREATE TABLE products (id INT PRIMARY KEY, title STRING, price DOUBLE) WITH (kafka_topic='products', value_format='JSON', partitions=1);
CREATE TABLE prices (id INT PRIMARY KEY, list DOUBLE) WITH (kafka_topic='prices', value_format='JSON', partitions=1);
CREATE TABLE catalog AS SELECT p.id, p.title, x.list FROM products p JOIN prices x ON p.id = x.id;
