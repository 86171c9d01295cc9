package dev.hookpost.examples;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

/**
 * Plain JSON (an event as docs/producing.md shows it: times as ms since epoch, a nullable part as the
 * value or null) to an Avro record of the registry's schema. Avro's own JSON decoder expects its JSON
 * encoding, where a union value is wrapped in its branch name; event JSON is not written that way.
 * Anything that does not fit is refused with the field's path, before anything is sent.
 */
final class JsonToAvro {
  private JsonToAvro() {}

  static GenericRecord record(JsonNode json, Schema schema) {
    return (GenericRecord) value(json, schema, "event");
  }

  private static Object value(JsonNode n, Schema s, String path) {
    switch (s.getType()) {
      case NULL:
        if (n == null || n.isNull()) return null;
        throw refused(path, "null", n);
      case UNION:
        return union(n, s, path);
      case RECORD:
        return record(n, s, path);
      case STRING:
        if (n != null && n.isTextual()) return n.textValue();
        throw refused(path, "a string", n);
      case LONG:
        if (n != null && n.isIntegralNumber() && n.canConvertToLong()) return n.longValue();
        throw refused(path, "a long" + logical(s), n);
      case INT:
        if (n != null && n.isIntegralNumber() && n.canConvertToInt()) return n.intValue();
        throw refused(path, "an int", n);
      case BOOLEAN:
        if (n != null && n.isBoolean()) return n.booleanValue();
        throw refused(path, "a boolean", n);
      case DOUBLE:
        if (n != null && n.isNumber()) return n.doubleValue();
        throw refused(path, "a number", n);
      case FLOAT:
        if (n != null && n.isNumber()) return n.floatValue();
        throw refused(path, "a number", n);
      case ENUM:
        if (n != null && n.isTextual() && s.hasEnumSymbol(n.textValue())) {
          return new GenericData.EnumSymbol(s, n.textValue());
        }
        throw refused(path, "one of " + s.getEnumSymbols(), n);
      case ARRAY:
        if (n == null || !n.isArray()) throw refused(path, "an array", n);
        List<Object> items = new ArrayList<>(n.size());
        for (int i = 0; i < n.size(); i++) items.add(value(n.get(i), s.getElementType(), path + "[" + i + "]"));
        return items;
      case MAP:
        if (n == null || !n.isObject()) throw refused(path, "an object", n);
        Map<String, Object> map = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          map.put(e.getKey(), value(e.getValue(), s.getValueType(), path + "." + e.getKey()));
        }
        return map;
      default:
        throw new IllegalArgumentException(path + ": Avro type " + s.getType() + " is not handled here");
    }
  }

  private static Object record(JsonNode n, Schema s, String path) {
    if (n == null || !n.isObject()) throw refused(path, "an object (" + s.getName() + ")", n);
    GenericRecord r = new GenericData.Record(s);
    for (Schema.Field f : s.getFields()) {
      JsonNode v = n.get(f.name());
      if (v == null && f.hasDefaultValue()) {
        r.put(f.pos(), GenericData.get().getDefaultValue(f));
      } else {
        r.put(f.pos(), value(v, f.schema(), path + "." + f.name()));
      }
    }
    // A field the schema does not have is a typo or a field not registered yet: refused, not dropped.
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (s.getField(name) == null) throw new IllegalArgumentException(path + "." + name + ": not in the schema");
    }
    return r;
  }

  private static Object union(JsonNode n, Schema s, String path) {
    boolean isNull = n == null || n.isNull();
    IllegalArgumentException last = null;
    for (Schema branch : s.getTypes()) {
      if (branch.getType() == Schema.Type.NULL) {
        if (isNull) return null;
        continue;
      }
      try {
        return value(n, branch, path);
      } catch (IllegalArgumentException e) {
        last = e;
      }
    }
    throw last != null ? last : refused(path, s.toString(), n);
  }

  private static String logical(Schema s) {
    return s.getLogicalType() == null ? "" : " (" + s.getLogicalType().getName() + ", ms since epoch)";
  }

  private static IllegalArgumentException refused(String path, String expected, JsonNode got) {
    return new IllegalArgumentException(path + ": expected " + expected + ", got " + (got == null ? "nothing" : got));
  }
}
