package dev.hookpost.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;

/** The one registry call a producer needs, on the Confluent-compatible API: a subject's latest version. */
final class Registry {
  record Version(int id, int version, Schema schema) {}

  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private final String baseUrl;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

  Registry(String baseUrl) {
    this.baseUrl = baseUrl.replaceAll("/+$", "");
  }

  /** GET <url>/subjects/<subject>/versions/latest: {"subject", "version", "id", "schema"}. */
  Version latest(String subject) {
    String url = baseUrl + "/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8) + "/versions/latest";
    HttpRequest request = HttpRequest.newBuilder(URI.create(url))
        .timeout(TIMEOUT)
        .header("Accept", "application/vnd.schemaregistry.v1+json")
        .GET()
        .build();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new SerializationException(
            "registry answered " + response.statusCode() + " for " + url + ": " + response.body());
      }
      JsonNode body = new ObjectMapper().readTree(response.body());
      String type = body.path("schemaType").asText("AVRO");
      if (!type.equals("AVRO")) throw new SerializationException(subject + " holds a " + type + " schema, not Avro");
      return new Version(body.get("id").intValue(), body.get("version").intValue(),
          new Schema.Parser().parse(body.get("schema").textValue()));
    } catch (IOException e) {
      throw new SerializationException("cannot read " + url + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SerializationException("interrupted reading " + url, e);
    }
  }
}
