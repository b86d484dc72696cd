-- Scalar functions and casts in the projection.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM shaped AS SELECT id, UCASE(customer) AS who, CAST(amount AS INT) AS whole, ROUND(amount, 1) AS rounded, CONCAT(customer, '-', CAST(id AS STRING)) AS tag FROM orders;
