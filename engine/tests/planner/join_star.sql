-- SELECT * over a join: each side's columns, qualified names ALIAS_COLUMN.
CREATE STREAM a (id INT KEY, v INT) WITH (kafka_topic='a', value_format='JSON', partitions=1);
CREATE TABLE b (id INT PRIMARY KEY, w INT) WITH (kafka_topic='b', value_format='JSON', partitions=1);
CREATE STREAM ab AS SELECT * FROM a JOIN b ON a.id = b.id;
