package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/hamba/avro/v2"
)

// fromJSON turns one event, decoded from JSON with UseNumber, into the value hamba/avro encodes with
// `schema`, checking it on the way: a field the schema does not have, a missing field without a
// default, a wrong type or a number out of range is an error naming the field, so nothing half-valid
// is sent. Union members are given to hamba as {"<type name>": value}, its explicit form, because a
// record in a union cannot be told from a map otherwise.
func fromJSON(schema avro.Schema, v any, path string) (any, error) {
	switch s := schema.(type) {
	case *avro.RecordSchema:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object (%s), got %s", path, s.FullName(), describe(v))
		}
		known := make(map[string]bool, len(s.Fields()))
		out := make(map[string]any, len(s.Fields()))
		for _, f := range s.Fields() {
			known[f.Name()] = true
			val, present := obj[f.Name()]
			if !present {
				if !f.HasDefault() {
					return nil, fmt.Errorf("%s.%s: missing (the schema gives it no default)", path, f.Name())
				}
				// Left out: hamba writes the field's default (a field added later, with one, by BACKWARD).
				continue
			}
			c, err := fromJSON(f.Type(), val, path+"."+f.Name())
			if err != nil {
				return nil, err
			}
			out[f.Name()] = c
		}
		extra := []string{}
		for k := range obj {
			if !known[k] {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			// Encoding would drop it without a word; a misspelt field is a bug in the producer.
			return nil, fmt.Errorf("%s.%s: not a field of %s", path, extra[0], s.FullName())
		}
		return out, nil
	case *avro.UnionSchema:
		if v == nil {
			if s.Nullable() {
				return nil, nil
			}
			return nil, fmt.Errorf("%s: null is not allowed", path)
		}
		var first error
		for _, t := range s.Types() {
			if t.Type() == avro.Null {
				continue
			}
			c, err := fromJSON(t, v, path)
			if err == nil {
				return map[string]any{unionName(t): c}, nil
			}
			if first == nil {
				first = err
			}
		}
		return nil, first
	case *avro.ArraySchema:
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an array, got %s", path, describe(v))
		}
		out := make([]any, len(items))
		for i, item := range items {
			c, err := fromJSON(s.Items(), item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case *avro.MapSchema:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object (a map), got %s", path, describe(v))
		}
		out := make(map[string]any, len(obj))
		for k, item := range obj {
			c, err := fromJSON(s.Values(), item, fmt.Sprintf("%s[%q]", path, k))
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case *avro.NullSchema:
		if v != nil {
			return nil, fmt.Errorf("%s: expected null, got %s", path, describe(v))
		}
		return nil, nil
	case *avro.PrimitiveSchema:
		return primitive(s, v, path)
	}
	return nil, fmt.Errorf("%s: schema type %s is not handled by this example", path, schema.Type())
}

func primitive(s *avro.PrimitiveSchema, v any, path string) (any, error) {
	switch s.Type() {
	case avro.String:
		if str, ok := v.(string); ok {
			return str, nil
		}
		return nil, fmt.Errorf("%s: expected a string, got %s", path, describe(v))
	case avro.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s: expected true or false, got %s", path, describe(v))
	case avro.Long:
		n, ok := v.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil {
			what := "a long"
			if l := s.Logical(); l != nil && l.Type() == avro.TimestampMillis {
				what = "a long (timestamp-millis, ms since epoch)"
			}
			return nil, fmt.Errorf("%s: expected %s, got %s", path, what, describe(v))
		}
		return i, nil
	case avro.Int:
		n, ok := v.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || i < math.MinInt32 || i > math.MaxInt32 {
			return nil, fmt.Errorf("%s: expected an int (32 bits), got %s", path, describe(v))
		}
		return int32(i), nil
	case avro.Double, avro.Float:
		n, ok := v.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil {
			return nil, fmt.Errorf("%s: expected a number, got %s", path, describe(v))
		}
		if s.Type() == avro.Float {
			return float32(f), nil
		}
		return f, nil
	}
	return nil, fmt.Errorf("%s: Avro type %s is not handled by this example", path, s.Type())
}

// unionName is how hamba names a union member in its {"<name>": value} form.
func unionName(t avro.Schema) string {
	if n, ok := t.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(t.Type())
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// wire is the Confluent wire format: magic byte 0, the schema id (big-endian int32), the Avro binary.
func wire(id int, schema avro.Schema, value any) ([]byte, error) {
	body, err := avro.Marshal(schema, value)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, body...), nil
}
