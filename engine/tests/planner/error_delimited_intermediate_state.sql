-- AVG keeps a structured intermediate state, which DELIMITED cannot hold.
CREATE STREAM readings (sensor STRING KEY, temp DOUBLE) WITH (kafka_topic='readings', value_format='DELIMITED', partitions=1);
CREATE TABLE temps AS SELECT sensor, AVG(temp) AS mean FROM readings GROUP BY sensor;
