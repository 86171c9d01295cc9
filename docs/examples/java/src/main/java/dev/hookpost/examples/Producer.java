package dev.hookpost.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produce hookpost email events from Java: Apache Kafka's client, Apache Avro, and the Confluent wire
 * format written by {@link ConfluentAvroSerializer}.
 *
 * <pre>
 * java -cp ... dev.hookpost.examples.Producer --brokers 127.0.0.1:19092 \
 *     --registry http://127.0.0.1:18081/apis/ccompat/v7 --topic email.events --events events.json
 * </pre>
 *
 * --events is a JSON array of events shaped like schemas/email-event.avsc (times in ms since epoch).
 * Every event is checked against the subject's latest schema before any is sent; one that does not fit
 * exits 2 naming the field. Prints one line per acknowledged record: "partition offset domain_id id";
 * exits 1 if any delivery failed.
 */
public final class Producer {
  public static void main(String[] args) {
    // Before any Kafka class logs: the client's INFO lines (its whole configuration) stay quiet, its
    // warnings and errors still reach stderr.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    try {
      System.exit(run(options(args)));
    } catch (IllegalArgumentException e) {
      System.err.println("refused: " + e.getMessage());
      System.exit(2);
    } catch (Exception e) {
      System.err.println("error: " + e);
      System.exit(1);
    }
  }

  private static int run(Map<String, String> opts) throws Exception {
    String topic = opts.getOrDefault("topic", "email.events");
    String registryUrl = required(opts, "registry");
    JsonNode events = new ObjectMapper().readTree(new File(required(opts, "events")));
    if (!events.isArray()) throw new IllegalArgumentException("--events: expected a JSON array of events");

    // The platform registers the schema under "<topic>-value" (BACKWARD); producers only use it.
    Registry.Version latest = new Registry(registryUrl).latest(topic + "-value");
    List<GenericRecord> records = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      try {
        records.add(JsonToAvro.record(events.get(i), latest.schema()));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("event " + i + " (" + events.get(i).path("id").asText() + "): " + e.getMessage());
      }
    }

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, required(opts, "brokers"));
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ConfluentAvroSerializer.class.getName());
    props.put(ConfluentAvroSerializer.REGISTRY_URL, registryUrl);
    // No partitioner setting: with a key, kafka-clients' default partitioner takes
    // toPositive(murmur2(keyBytes)) % partitions, the partition every hookpost producer picks.
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    // Bounds each record's delivery, retries included (the default is 2 minutes), and a send's wait for
    // metadata: a record the broker cannot take comes back as a failure instead of a long wait.
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30000);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30000);

    List<String> failures = Collections.synchronizedList(new ArrayList<>());
    try (KafkaProducer<String, GenericRecord> producer = new KafkaProducer<>(props)) {
      for (GenericRecord event : records) {
        String id = event.get("id").toString();
        String domainId = event.get("domain_id").toString();
        long createdAt = (Long) event.get("created_at");
        // Key = domain id as a UTF-8 string; the record timestamp is the event's own time.
        producer.send(new ProducerRecord<>(topic, null, createdAt, domainId, event), (meta, error) -> {
          if (error != null) {
            failures.add(id + ": " + error);
          } else {
            System.out.println(meta.partition() + " " + meta.offset() + " " + domainId + " " + id);
          }
        });
      }
      producer.flush();
    } catch (KafkaException e) {
      failures.add(e.toString());
    }
    System.out.flush();
    if (!failures.isEmpty()) {
      System.err.println("not delivered: " + failures);
      return 1;
    }
    return 0;
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: --brokers B --registry URL [--topic T] --events FILE");
      }
      opts.put(args[i].substring(2), args[i + 1]);
    }
    return opts;
  }

  private static String required(Map<String, String> opts, String name) {
    String v = opts.get(name);
    if (v == null) throw new IllegalArgumentException("--" + name + " is required");
    return v;
  }
}
