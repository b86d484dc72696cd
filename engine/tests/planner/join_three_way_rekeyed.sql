-- An n-way join whose second join is on a value column: the first join's result is re-keyed through an internal topic (a cut).
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM payments (id INT KEY, order_id INT, paid DOUBLE) WITH (kafka_topic='payments', value_format='JSON', partitions=1);
CREATE TABLE customers (id STRING PRIMARY KEY, name STRING, region STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=1);
CREATE STREAM who_paid AS SELECT o.customer, o.amount, p.paid, c.name FROM orders o JOIN payments p WITHIN 1 HOUR ON o.id = p.id JOIN customers c ON o.customer = c.id;
