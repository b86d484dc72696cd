-- A table-table left join with WHERE: a key that stops matching is deleted.
CREATE TABLE products (id INT PRIMARY KEY, title STRING, price DOUBLE) WITH (kafka_topic='products', value_format='JSON', partitions=1);
CREATE TABLE prices (id INT PRIMARY KEY, list DOUBLE) WITH (kafka_topic='prices', value_format='JSON', partitions=1);
CREATE TABLE cheap AS SELECT p.id, p.title, x.list FROM products p LEFT JOIN prices x ON p.id = x.id WHERE x.list < 10;
