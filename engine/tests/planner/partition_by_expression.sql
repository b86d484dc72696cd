-- PARTITION BY an expression: the key is named KSQL_COL_0 and selected by repeating the expression.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM by_upper AS SELECT UCASE(customer), amount FROM orders PARTITION BY UCASE(customer);
