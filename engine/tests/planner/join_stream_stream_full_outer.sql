-- A full outer join: the key is the join key ROWKEY, taken from either side.
CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, items ARRAY<STRING>, address STRUCT<city STRING, zip INT>, ts BIGINT) WITH (kafka_topic='orders', value_format='JSON', partitions=1);
CREATE STREAM payments (id INT KEY, order_id INT, paid DOUBLE) WITH (kafka_topic='payments', value_format='JSON', partitions=1);
CREATE STREAM either AS SELECT ROWKEY AS k, o.amount, p.paid FROM orders o FULL OUTER JOIN payments p WITHIN 1 MINUTE ON o.id = p.id;
