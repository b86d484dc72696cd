-- A push query over a windowed table's topic: * shows the window bounds after the key.
CREATE TABLE counts (customer STRING PRIMARY KEY, n BIGINT) WITH (kafka_topic='counts', value_format='JSON', partitions=1, window_type='TUMBLING', window_size='1 MINUTE');
SELECT * FROM counts EMIT CHANGES;
