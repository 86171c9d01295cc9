package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
)

// latest is a subject's newest schema version as the registry's Confluent-compatible API gives it.
type latest struct {
	ID     int
	Schema avro.Schema
}

// latestVersion reads GET <registry>/subjects/<subject>/versions/latest. The platform registers the
// schema (BACKWARD); a producer only uses the latest version and never registers one of its own.
func latestVersion(registry, subject string) (latest, error) {
	// A bound on the call: a registry that never answers must not hold the MTA.
	client := &http.Client{Timeout: 10 * time.Second}
	u := strings.TrimRight(registry, "/") + "/subjects/" + url.PathEscape(subject) + "/versions/latest"
	resp, err := client.Get(u)
	if err != nil {
		return latest{}, fmt.Errorf("registry: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return latest{}, fmt.Errorf("registry: reading %s: %w", subject, err)
	}
	if resp.StatusCode != http.StatusOK {
		return latest{}, fmt.Errorf("registry: %s answered HTTP %d: %s", subject, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var v struct {
		ID         int    `json:"id"`
		Schema     string `json:"schema"`
		SchemaType string `json:"schemaType"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return latest{}, fmt.Errorf("registry: %s: unreadable answer: %w", subject, err)
	}
	if v.SchemaType != "" && v.SchemaType != "AVRO" {
		return latest{}, fmt.Errorf("registry: %s holds a %s schema, not Avro", subject, v.SchemaType)
	}
	schema, err := avro.Parse(v.Schema)
	if err != nil {
		return latest{}, fmt.Errorf("registry: %s: %w", subject, err)
	}
	return latest{ID: v.ID, Schema: schema}, nil
}
