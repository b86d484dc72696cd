-- A push query: no sink, the result keeps the SELECT order.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
SELECT customer, id FROM orders WHERE customer LIKE 'a%' EMIT CHANGES;
