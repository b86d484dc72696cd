-- GROUP BY over a table: changes retract the row they replace.
CREATE TABLE customers (id STRING PRIMARY KEY, name STRING, region STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=1);
CREATE TABLE per_region AS SELECT region, COUNT(*) AS n FROM customers GROUP BY region;
