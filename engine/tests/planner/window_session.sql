-- A session window.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE visits AS SELECT customer, COUNT(*) AS n FROM orders WINDOW SESSION (5 MINUTES) GROUP BY customer;
