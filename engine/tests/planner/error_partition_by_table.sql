-- A table cannot be re-partitioned.
CREATE TABLE customers (id STRING PRIMARY KEY, name STRING, region STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=1);
CREATE TABLE x AS SELECT region, name FROM customers PARTITION BY region;
