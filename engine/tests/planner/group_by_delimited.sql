-- A DELIMITED source aggregated by functions with primitive intermediate states.
CREATE STREAM readings (sensor STRING KEY, temp DOUBLE) WITH (kafka_topic='readings', value_format='DELIMITED', partitions=1);
CREATE TABLE temps AS SELECT sensor, SUM(temp) AS total, COUNT(temp) AS n FROM readings GROUP BY sensor;
