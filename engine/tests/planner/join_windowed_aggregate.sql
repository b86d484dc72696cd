-- A windowed aggregation over a stream-table join (the query of the EXPLAIN example).
CREATE STREAM a (id INT KEY, v INT) WITH (kafka_topic='a', value_format='JSON', partitions=1);
CREATE TABLE b (id INT PRIMARY KEY, w INT) WITH (kafka_topic='b', value_format='JSON', partitions=1);
CREATE TABLE t AS SELECT a.id, COUNT(*) AS n, SUM(b.w) AS s FROM a JOIN b ON a.id = b.id WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY a.id EMIT CHANGES;
