-- Large purchases only: a filter on the amount, with a derived column.
SET 'auto.offset.reset' = 'earliest';

CREATE STREAM orders (order_id BIGINT KEY, customer STRING, amount DOUBLE)
  WITH (kafka_topic='orders', value_format='JSON', partitions=1);

CREATE STREAM big_orders AS
  SELECT order_id, customer, amount, amount * 0.1 AS reward_points
  FROM orders WHERE amount >= 100 EMIT CHANGES;

INSERT INTO orders VALUES (1, 'alice', 20.0);
INSERT INTO orders VALUES (2, 'bob', 150.0);
INSERT INTO orders VALUES (3, 'carol', 99.99);
INSERT INTO orders VALUES (4, 'dave', 1000.0);
