-- A tumbling window, with the window bounds selected.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE per_minute AS SELECT customer, WINDOWSTART AS ws, WINDOWEND AS we, COUNT(*) AS n FROM orders WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY customer;
