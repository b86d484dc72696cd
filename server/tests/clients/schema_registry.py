"""Confluent's Python schema registry client (confluent-kafka) against
Sluice's registry API: registers, looks up, checks compatibility, changes
the level, serializes records with AvroSerializer (which registers the
schema itself) and reads them back with AvroDeserializer (which fetches
the schema by id), then deletes. Prints what it saw as one JSON document.

usage: schema_registry.py REGISTRY_URL
"""

import json
import sys
import warnings

warnings.simplefilter("ignore")

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.avro import (  # noqa: E402
    AvroDeserializer,
    AvroSerializer,
)
from confluent_kafka.schema_registry.error import SchemaRegistryError  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402

url = sys.argv[1]
client = SchemaRegistryClient({"url": url})
seen = {}

V1 = {
    "type": "record",
    "name": "Pageview",
    "namespace": "demo",
    "fields": [{"name": "page", "type": "string"}, {"name": "ms", "type": "long"}],
}
V2 = dict(V1, fields=V1["fields"] + [{"name": "ref", "type": ["null", "string"], "default": None}])
BAD = dict(V1, fields=V1["fields"] + [{"name": "user", "type": "string"}])


def error(call):
    try:
        call()
    except SchemaRegistryError as e:
        return [e.http_status_code, e.error_code]
    return None


seen["types"] = sorted(client.get_schema_types())
id1 = client.register_schema("pageviews-value", Schema(json.dumps(V1), "AVRO"))
seen["same_id_again"] = client.register_schema("pageviews-value", Schema(json.dumps(V1), "AVRO")) == id1
seen["compatible_v2"] = client.test_compatibility("pageviews-value", Schema(json.dumps(V2), "AVRO"))
seen["compatible_bad"] = client.test_compatibility("pageviews-value", Schema(json.dumps(BAD), "AVRO"))
seen["register_bad"] = error(lambda: client.register_schema("pageviews-value", Schema(json.dumps(BAD), "AVRO")))
id2 = client.register_schema("pageviews-value", Schema(json.dumps(V2), "AVRO"))
seen["ids_differ"] = id1 != id2
latest = client.get_latest_version("pageviews-value")
seen["latest"] = [latest.version, latest.schema_id == id2, json.loads(latest.schema.schema_str)["fields"][2]["name"]]
seen["versions"] = client.get_versions("pageviews-value")
found = client.lookup_schema("pageviews-value", Schema(json.dumps(V1), "AVRO"))
seen["lookup_v1"] = [found.version, found.schema_id == id1]
seen["by_id"] = json.loads(client.get_schema(id1).schema_str)["name"]
seen["subjects"] = client.get_subjects()
seen["missing_subject"] = error(lambda: client.get_latest_version("nope"))
seen["missing_id"] = error(lambda: client.get_schema(9999))
seen["invalid"] = error(lambda: client.register_schema("x", Schema('{"type":"record"}', "AVRO")))
client.set_compatibility("pageviews-value", "NONE")
seen["level"] = client.get_compatibility("pageviews-value")
seen["global_level"] = client.get_compatibility()

# The serializer registers its schema under <topic>-value itself; the
# deserializer fetches it by the id in the record's header.
serializer = AvroSerializer(client, json.dumps(V2))
ctx = SerializationContext("clicks", MessageField.VALUE)
data = serializer({"page": "/home", "ms": 10, "ref": "/ads"}, ctx)
seen["framing"] = [data[0], int.from_bytes(data[1:5], "big") == client.get_latest_version("clicks-value").schema_id]
deserializer = AvroDeserializer(SchemaRegistryClient({"url": url}))
seen["round_trip"] = deserializer(data, ctx)

seen["soft_delete"] = client.delete_subject("clicks-value")
seen["after_soft"] = client.get_subjects()
seen["hard_delete"] = client.delete_subject("clicks-value", permanent=True)
print(json.dumps(seen))
