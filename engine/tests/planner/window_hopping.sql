-- A hopping window with a grace period and a retention.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE sliding AS SELECT customer, SUM(amount) AS total FROM orders WINDOW HOPPING (SIZE 10 MINUTES, ADVANCE BY 1 MINUTE, RETENTION 2 HOURS, GRACE PERIOD 30 SECONDS) GROUP BY customer;
