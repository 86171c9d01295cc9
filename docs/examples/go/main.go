// The producer guide's Go example (docs/producing.md): email events from a JSON file to hookpost's
// events topic with franz-go and hamba/avro, in the Confluent wire format, keyed by domain id on
// Kafka's murmur2 partition, idempotent with acks=all.
//
//	go run . --brokers 127.0.0.1:19092 --registry http://127.0.0.1:18081/apis/ccompat/v7 \
//	  --topic email.events --events ../events.json
//
// It prints "<partition> <offset> <domain_id> <event id>" per acknowledged event and exits 1 if any
// delivery failed; an event that does not fit the schema is refused before anything is sent (exit 2,
// naming the field).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:19092", "Kafka bootstrap servers, comma separated")
	registry := flag.String("registry", "http://127.0.0.1:18081/apis/ccompat/v7", "the registry's Confluent-compatible API, the whole URL")
	topic := flag.String("topic", "email.events", "the events topic, with the deployment's TOPIC_PREFIX")
	eventsFile := flag.String("events", "", "a JSON array of events (e.g. docs/examples/events.json)")
	flag.Parse()
	if *eventsFile == "" {
		fail(2, "--events is required")
	}

	// The platform registers the schema under "<topic>-value" (BACKWARD); producers only use it.
	version, err := latestVersion(*registry, *topic+"-value")
	if err != nil {
		fail(1, "%v", err)
	}

	raw, err := os.ReadFile(*eventsFile)
	if err != nil {
		fail(2, "%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // longs stay exact: ms timestamps do not fit a float64's 53 bits forever
	var events []any
	if err := dec.Decode(&events); err != nil {
		fail(2, "%s: not a JSON array of events: %v", *eventsFile, err)
	}

	// Every event is checked and encoded before the first is sent: a bad one sends nothing.
	records := make([]*kgo.Record, 0, len(events))
	for i, e := range events {
		value, err := fromJSON(version.Schema, e, "event")
		if err != nil {
			fail(2, "event %d of %s: %v", i, *eventsFile, err)
		}
		fields := value.(map[string]any)
		encoded, err := wire(version.ID, version.Schema, value)
		if err != nil {
			fail(2, "event %d of %s: %v", i, *eventsFile, err)
		}
		records = append(records, &kgo.Record{
			Topic: *topic,
			// Key = domain id as a UTF-8 string (no Avro, no magic byte); no headers.
			Key:   []byte(fields["domain_id"].(string)),
			Value: encoded,
			// The record's timestamp is the event's own time.
			Timestamp: time.UnixMilli(fields["created_at"].(int64)),
		})
	}

	client, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		// A nil hasher is Kafka's murmur2: toPositive(murmur2(key)) % partitions, the partition every
		// hookpost producer picks, so one domain's events share a partition, in order, whoever sent them.
		// franz-go's default (sticky key with murmur2 too) would do; saying so keeps it from changing.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		// Idempotent writes are franz-go's default; they need acks from all in-sync replicas.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// No kgo.RecordDeliveryTimeout: franz-go counts it from each record's Timestamp, which is the
		// event's own time here, so every event older than the limit would fail at once. The context
		// below bounds the sends instead.
	)
	if err != nil {
		fail(1, "%v", err)
	}
	defer client.Close()

	// Bounds every delivery, retries included: a record the broker cannot take comes back as an error
	// instead of a wait.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	failed := 0
	for i, r := range records {
		eventID := events[i].(map[string]any)["id"].(string)
		client.Produce(ctx, r, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				fmt.Fprintf(os.Stderr, "event %s not delivered: %v\n", eventID, err)
				return
			}
			fmt.Printf("%d %d %s %s\n", r.Partition, r.Offset, r.Key, eventID)
		})
	}
	if err := client.Flush(ctx); err != nil {
		fail(1, "%v", err)
	}
	if failed > 0 {
		fail(1, "%d of %d events not delivered", failed, len(records))
	}
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}
