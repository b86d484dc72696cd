-- GROUP BY the stream's own key.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE TABLE per_id AS SELECT id, MAX(amount) AS biggest, LATEST_BY_OFFSET(customer) AS last_customer FROM orders GROUP BY id;
