-- MIN cannot be applied to a table (it cannot retract).
CREATE TABLE products (id INT PRIMARY KEY, title STRING, price DOUBLE) WITH (kafka_topic='products', value_format='JSON', partitions=1);
CREATE TABLE x AS SELECT title, MIN(price) AS lowest FROM products GROUP BY title;
