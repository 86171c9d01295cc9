// Run by scripts/stack.sh after the broker logs "Kafka Server started", as a single-file Java program
// (`java -cp <kafka libs> ReadyProbe.java BOOTSTRAP SECONDS`): it returns once the broker can serve
// producers and consumer groups, not merely accept connections.
//
// Why: a broker answers InitProducerId with COORDINATOR_LOAD_IN_PROGRESS until it holds a block of
// producer ids, and it asks the controller for its first block only when the first producer asks
// (after every start, and on a freshly formatted cluster also before __transaction_state exists).
// Clients retry, but librdkafka logs each retry as a warning and KafkaJS logs "coordinator is
// loading"; a test or demo that starts right after the stack saw those instead of a clean start.
// initTransactions() creates and loads __transaction_state and takes a producer id (from the same
// block idempotent producers draw from); listing a group's offsets creates and loads
// __consumer_offsets. Both retry internally until done or the deadline passes.
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class ReadyProbe {
  public static void main(String[] args) {
    try {
      probe(args[0], Long.parseLong(args[1]));
    } catch (Exception e) {
      // Printed here and not left to the launcher: the single-file launcher of JDK 17 and 25 fails
      // on an exception thrown from a client's thread ("IllegalArgumentException: 0 > -7").
      System.err.println("ERROR " + e);
      System.exit(1);
    }
  }

  private static void probe(String bootstrap, long seconds) throws Exception {
    long deadline = System.currentTimeMillis() + seconds * 1000;

    Properties producer = new Properties();
    producer.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    // A new id each run: for an id the coordinator already knows it bumps the epoch of the producer id
    // it has, without drawing a new one, so after a restart the block would still not be fetched.
    String id = "hookpost-stack-ready-probe-" + System.currentTimeMillis();
    producer.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
    producer.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(remaining(deadline)));
    producer.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    producer.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producer)) {
      p.initTransactions();
    }
    System.out.println("producer id: ok");

    Properties admin = new Properties();
    admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin a = Admin.create(admin)) {
      a.listConsumerGroupOffsets("hookpost-stack-ready-probe")
          .partitionsToOffsetAndMetadata()
          .get(remaining(deadline), TimeUnit.MILLISECONDS);
    }
    System.out.println("group coordinator: ok");
  }

  private static long remaining(long deadline) {
    return Math.max(1000, deadline - System.currentTimeMillis());
  }
}
