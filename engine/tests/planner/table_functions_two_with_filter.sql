-- Two table functions after a filter, one inside an expression.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM lines2 AS SELECT id, EXPLODE(items) AS item, UCASE(EXPLODE(items)) AS upper_item FROM orders WHERE amount > 0;
