-- Quickstart: a stream over a topic, a persistent query that keeps
-- filtering and transforming it, and a push query over the result.
SET 'auto.offset.reset' = 'earliest';

CREATE STREAM pageviews (user_id STRING KEY, page STRING, ms BIGINT)
  WITH (kafka_topic='pageviews', value_format='JSON', partitions=2);

INSERT INTO pageviews (user_id, page, ms) VALUES ('u1', '/home', 10);
INSERT INTO pageviews (user_id, page, ms) VALUES ('u2', '/about', 20);
INSERT INTO pageviews (user_id, page, ms) VALUES ('u3', '/help', 30);

CREATE STREAM home AS
  SELECT user_id, UCASE(page) AS page FROM pageviews WHERE page LIKE '/h%' EMIT CHANGES;

SELECT * FROM home EMIT CHANGES LIMIT 2;
