-- Windowed aggregations only over streams.
CREATE TABLE customers (id STRING PRIMARY KEY, name STRING, region STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=1);
CREATE TABLE x AS SELECT region, COUNT(*) AS n FROM customers WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY region;
