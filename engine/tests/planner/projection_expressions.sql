-- Computed columns with aliases, and an unnamed one (KSQL_COL_0).
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM priced AS SELECT id, amount * 1.2 AS gross, CASE WHEN amount > 100 THEN 'big' ELSE 'small' END AS size, amount - 1 FROM orders;
