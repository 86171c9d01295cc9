"""Produce hookpost email events from Python (confluent-kafka + the registry's Avro serializer).

    pip install 'confluent-kafka[avro,schemaregistry]'
    python producer.py --brokers 127.0.0.1:19092 \
        --registry http://127.0.0.1:18081/apis/ccompat/v7 --topic email.events [--events events.json]

--events is a JSON array of events shaped like schemas/email-event.avsc (times in ms since epoch);
without it, one activity.delivered event is sent. Prints one line per acknowledged record:
"<partition> <offset> <domain_id> <event id>".
"""

import argparse
import json
import sys
import time
import uuid

from confluent_kafka import KafkaException, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import StringSerializer


def sample_event():
    now = int(time.time() * 1000)
    return {
        "id": str(uuid.uuid4()),
        "type": "activity.delivered",
        "domain_id": "dom-0",
        "account_id": "acct-0",
        "created_at": now,
        "email": {
            "id": "em-1",
            "created_at": now - 2000,
            "from": "news@dom-0.example",
            "subject": "Your order has shipped",
            "status": "delivered",
            "tags": None,
            "headers": None,
            "message": {"id": "msg-1", "created_at": now - 3000},
            "recipient": {"id": "rcpt-1", "email": "user1@example.net", "created_at": now - 86400000},
            "template_id": None,
        },
        "morph": None,
        "inbound_forward": None,
        "sender_identity": None,
    }


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--brokers", required=True)
    args.add_argument("--registry", required=True, help="Confluent-compatible API, e.g. .../apis/ccompat/v7")
    args.add_argument("--topic", default="email.events")
    args.add_argument("--events", help="JSON file holding an array of events")
    opts = args.parse_args()

    events = [sample_event()]
    if opts.events:
        with open(opts.events, encoding="utf-8") as f:
            events = json.load(f)

    # A bound on every registry call (the client waits forever by default).
    registry = SchemaRegistryClient({"url": opts.registry, "timeout": 10})
    # The platform registers the schema under "<topic>-value" (BACKWARD); producers only use it.
    # With no schema string, the serializer writes the subject's latest version.
    value_serializer = AvroSerializer(
        registry,
        None,
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    producer = SerializingProducer(
        {
            "bootstrap.servers": opts.brokers,
            "key.serializer": StringSerializer("utf_8"),
            "value.serializer": value_serializer,
            # librdkafka's default (consistent_random, CRC32) puts a key on another partition than the
            # Java client does; murmur2_random is the Java partitioner, which every hookpost producer uses,
            # so one domain's events stay on one partition, in order, whoever produced them.
            "partitioner": "murmur2_random",
            "enable.idempotence": True,
            "acks": "all",
            # Bounds each record's delivery, retries included (the default is 5 minutes): a record the
            # broker cannot take comes back as a delivery error instead of a wait.
            "message.timeout.ms": 30000,
        }
    )

    failures = []

    def on_delivery(event_id):
        def report(err, msg):
            if err is not None:
                failures.append(f"{event_id}: {err}")
            else:
                print(msg.partition(), msg.offset(), msg.key().decode("utf-8"), event_id, flush=True)

        return report

    for event in events:
        # Key = domain id as a UTF-8 string; the record timestamp is the event's own time.
        producer.produce(
            topic=opts.topic,
            key=event["domain_id"],
            value=event,
            timestamp=event["created_at"],
            on_delivery=on_delivery(event["id"]),
        )
        producer.poll(0)
    # Longer than message.timeout.ms, so every record has had its delivery report when flush returns.
    remaining = producer.flush(45)
    if remaining or failures:
        print(f"not delivered: {remaining} in flight, errors {failures}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KafkaException as error:
        print(f"kafka error: {error}", file=sys.stderr)
        sys.exit(1)
