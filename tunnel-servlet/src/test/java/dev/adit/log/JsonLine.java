package dev.adit.log;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reads an access-log line back with Jackson: one flat JSON object and nothing else on the
 * line, no field twice. Values keep their JSON type: {@link String}, {@link Long}, or null.
 */
public final class JsonLine
{
    private static final JsonFactory JSON = JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private JsonLine()
    {
    }

    public static Map<String, Object> parse(String line) throws IOException
    {
        assertThat(line).as("one line").doesNotContain("\n", "\r");
        Map<String, Object> fields = new LinkedHashMap<>();
        try (JsonParser parser = JSON.createParser(line))
        {
            assertThat(parser.nextToken()).isEqualTo(JsonToken.START_OBJECT);
            for (JsonToken token = parser.nextToken(); token != JsonToken.END_OBJECT; token = parser.nextToken())
            {
                assertThat(token).isEqualTo(JsonToken.FIELD_NAME);
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                switch (value)
                {
                    case VALUE_STRING -> fields.put(name, parser.getText());
                    case VALUE_NUMBER_INT -> fields.put(name, parser.getLongValue());
                    case VALUE_NULL -> fields.put(name, null);
                    default -> throw new AssertionError(name + ": unexpected " + value + " in " + line);
                }
            }
            assertThat(parser.nextToken()).as("nothing after the object in %s", line).isNull();
        }
        return fields;
    }
}
