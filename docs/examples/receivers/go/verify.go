// Verifying a hookpost webhook in Go with the standard library only.
//
// Run: go run verify.go <request.json> <secret> [now-seconds]
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const toleranceSec = 5 * 60 // replay protection: reject timestamps further than this from now

// VerifyStandard checks webhook-signature: HMAC-SHA256 over "{id}.{timestamp}." + raw body, keyed with
// the base64-decoded part after "whsec_". Any "v1," entry may match (one per secret during a rotation).
func VerifyStandard(rawBody []byte, h map[string]string, secret string, now time.Time) bool {
	id, ts, sigs := h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
	if id == "" || ts == "" || sigs == "" {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Unix()-sec > toleranceSec || sec-now.Unix() > toleranceSec {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(rawBody)
	expected := mac.Sum(nil)
	for _, entry := range strings.Split(sigs, " ") {
		version, sig, found := strings.Cut(entry, ",")
		if !found || version != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(got, expected) {
			return true
		}
	}
	return false
}

// VerifyMailerSend checks Signature: hex HMAC-SHA256 of the raw body keyed with the whole secret string.
func VerifyMailerSend(rawBody []byte, h map[string]string, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(rawBody)
	got, err := hex.DecodeString(h["signature"])
	return err == nil && hmac.Equal(got, mac.Sum(nil))
}

// Item is the part of an event needed to route and dedupe it.
type Item struct {
	Type string `json:"type"`
	Data struct {
		ID      string `json:"id"`
		EventID string `json:"event_id"`
	} `json:"data"`
}

// EventID is the dedupe key: data.id for activity.* events, data.event_id for the other types.
func (i Item) EventID() string {
	if strings.HasPrefix(i.Type, "activity.") {
		return i.Data.ID
	}
	return i.Data.EventID
}

// ParseItems reads a batch: a JSON array, or JSON Lines (application/x-ndjson).
func ParseItems(rawBody []byte, contentType string) ([]Item, error) {
	var items []Item
	if !strings.HasPrefix(contentType, "application/x-ndjson") {
		err := json.Unmarshal(rawBody, &items)
		return items, err
	}
	for _, line := range bytes.Split(rawBody, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var item Item
		if err := json.Unmarshal(line, &item); err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var req struct {
		Headers    map[string]string `json:"headers"`
		BodyBase64 string            `json:"body_base64"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		panic(err)
	}
	body, _ := base64.StdEncoding.DecodeString(req.BodyBase64)
	h := map[string]string{}
	for k, v := range req.Headers {
		h[strings.ToLower(k)] = v
	}
	now := time.Now()
	if len(os.Args) > 3 {
		sec, _ := strconv.ParseInt(os.Args[3], 10, 64)
		now = time.Unix(sec, 0)
	}
	standard := VerifyStandard(body, h, os.Args[2], now)
	ids := []string{}
	// (The golden signing vectors have no Content-Type and are not batches: verify only.)
	if ct := h["content-type"]; standard && ct != "" {
		if items, err := ParseItems(body, ct); err == nil {
			for _, item := range items {
				ids = append(ids, item.EventID())
			}
		}
	}
	out, _ := json.Marshal(map[string]any{
		"standard": standard, "mailersend": VerifyMailerSend(body, h, os.Args[2]),
		"batch_id": h["webhook-id"], "event_ids": ids,
	})
	fmt.Println(string(out))
	if !standard {
		os.Exit(1)
	}
}
