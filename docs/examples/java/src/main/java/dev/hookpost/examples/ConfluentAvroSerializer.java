package dev.hookpost.examples;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A Kafka value serializer writing the Confluent wire format, what Confluent's KafkaAvroSerializer
 * writes with auto.register.schemas=false and use.latest.version=true: byte 0 (the magic byte), the
 * schema id of the subject's latest version as a big-endian int32, then the Avro binary encoding.
 * The subject is "<topic>-value" (TopicNameStrategy). It never registers a schema: the platform does.
 *
 * Configured like Confluent's: value.serializer=dev.hookpost.examples.ConfluentAvroSerializer and
 * schema.registry.url=<the registry's Confluent-compatible API, e.g. http://host:8080/apis/ccompat/v7>.
 */
public final class ConfluentAvroSerializer implements Serializer<GenericRecord> {
  public static final String REGISTRY_URL = "schema.registry.url";
  private static final byte MAGIC = 0;

  private Registry registry;
  private final Map<String, Registry.Version> latest = new ConcurrentHashMap<>();
  /** Per topic, the record schema instance last found equal to the registry's (a deep compare is slow). */
  private final Map<String, Schema> checked = new ConcurrentHashMap<>();

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    Object url = configs.get(REGISTRY_URL);
    if (url == null) throw new IllegalArgumentException(REGISTRY_URL + " is not set");
    registry = new Registry(url.toString());
  }

  @Override
  public byte[] serialize(String topic, GenericRecord record) {
    if (record == null) return null;
    Registry.Version version = latest.computeIfAbsent(topic, t -> registry.latest(t + "-value"));
    // The id written must be the id of the schema the bytes are written with.
    if (checked.get(topic) != record.getSchema()) {
      if (!version.schema().equals(record.getSchema())) {
        throw new SerializationException(
            "record's schema is not version " + version.version() + " (id " + version.id() + ") of " + topic + "-value");
      }
      checked.put(topic, record.getSchema());
    }
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(512);
      out.write(MAGIC);
      int id = version.id();
      out.write(new byte[] {(byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id});
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
      new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, encoder);
      encoder.flush();
      return out.toByteArray();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot encode record for " + topic + ": " + e.getMessage(), e);
    }
  }
}
