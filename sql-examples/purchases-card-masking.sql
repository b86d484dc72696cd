-- Purchases with the card number masked before anyone downstream sees it.
SET 'auto.offset.reset' = 'earliest';

CREATE STREAM purchases (order_id BIGINT KEY, customer STRING, card_number STRING, amount DECIMAL(10, 2), department STRING)
  WITH (kafka_topic='purchases', value_format='JSON', partitions=1);

CREATE STREAM purchases_masked AS
  SELECT order_id, customer, MASK_KEEP_RIGHT(card_number, 4, 'X', 'x', 'n', '-') AS card_number, amount, department
  FROM purchases EMIT CHANGES;

INSERT INTO purchases VALUES (1, 'alice', '4111-1111-1111-1234', 12.50, 'books');
INSERT INTO purchases VALUES (2, 'bob', '5500-0000-0000-9876', 250.00, 'electronics');
