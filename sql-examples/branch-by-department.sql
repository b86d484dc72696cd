-- One stream of purchases branched into a stream per department, each
-- written as DELIMITED text to its own topic.
SET 'auto.offset.reset' = 'earliest';

CREATE STREAM sales (sale_id BIGINT KEY, item STRING, price DOUBLE, department STRING)
  WITH (kafka_topic='sales', value_format='JSON', partitions=1);

CREATE STREAM sales_books WITH (kafka_topic='sales_books', value_format='DELIMITED') AS
  SELECT sale_id, item, price FROM sales WHERE department = 'books' EMIT CHANGES;

CREATE STREAM sales_garden WITH (kafka_topic='sales_garden', value_format='DELIMITED') AS
  SELECT sale_id, item, price FROM sales WHERE department = 'garden' EMIT CHANGES;

INSERT INTO sales VALUES (1, 'novel', 9.99, 'books');
INSERT INTO sales VALUES (2, 'rake', 24.5, 'garden');
INSERT INTO sales VALUES (3, 'atlas', 35.0, 'books');
