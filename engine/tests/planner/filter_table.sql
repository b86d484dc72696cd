-- A filter over a table: the table is materialized and a row that stops matching is deleted.
CREATE TABLE customers (id STRING PRIMARY KEY, name STRING, region STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=1);
CREATE TABLE eu AS SELECT id, name FROM customers WHERE region = 'eu';
