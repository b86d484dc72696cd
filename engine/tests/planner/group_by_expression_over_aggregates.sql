-- Expressions over aggregates, and aggregates with literal parameters (TOPK).
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE stats AS SELECT customer, SUM(amount) / COUNT(*) AS mean, TOPK(amount, 3) AS top3 FROM orders GROUP BY customer;
