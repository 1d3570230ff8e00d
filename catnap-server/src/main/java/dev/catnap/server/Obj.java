package dev.catnap.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * A JSON object from a request body, read field by field so that every type error names the field
 * (as {@code segments.prefix}); absent and null fields read as empty.
 */
record Obj(JsonNode node, String path) {

    static Obj root(JsonNode node) {
        if (node == null || !node.isObject()) throw ApiException.badRequest("request body must be a JSON object");
        return new Obj(node, "");
    }

    private String name(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private Optional<JsonNode> field(String key) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }

    boolean has(String key) {
        return field(key).isPresent();
    }

    private ApiException wrongType(String key, String expected) {
        return ApiException.badRequest("field '" + name(key) + "' must be " + expected);
    }

    Optional<String> string(String key) {
        return field(key).map(v -> {
            if (!v.isTextual()) throw wrongType(key, "a string");
            return v.textValue();
        });
    }

    String requiredString(String key) {
        return string(key).orElseThrow(() -> ApiException.badRequest("missing field '" + name(key) + "'"));
    }

    Optional<Boolean> bool(String key) {
        return field(key).map(v -> {
            if (!v.isBoolean()) throw wrongType(key, "a boolean");
            return v.booleanValue();
        });
    }

    OptionalDouble number(String key) {
        Optional<JsonNode> v = field(key);
        if (v.isEmpty()) return OptionalDouble.empty();
        if (!v.get().isNumber()) throw wrongType(key, "a number");
        return OptionalDouble.of(v.get().doubleValue());
    }

    /** A whole number in [min, max]. */
    OptionalLong integer(String key, long min, long max) {
        Optional<JsonNode> v = field(key);
        if (v.isEmpty()) return OptionalLong.empty();
        JsonNode n = v.get();
        if (!n.isIntegralNumber() || !n.canConvertToLong()) throw wrongType(key, "an integer");
        long x = n.longValue();
        if (x < min || x > max)
            throw ApiException.badRequest("field '" + name(key) + "' must be between " + min + " and " + max);
        return OptionalLong.of(x);
    }

    Optional<Obj> object(String key) {
        return field(key).map(v -> {
            if (!v.isObject()) throw wrongType(key, "an object");
            return new Obj(v, name(key));
        });
    }

    Optional<JsonNode> raw(String key) {
        return field(key);
    }

    /** An array of objects; each element is named {@code key[i]} in errors. */
    List<Obj> objects(String key) {
        Optional<JsonNode> v = field(key);
        if (v.isEmpty()) return List.of();
        if (!v.get().isArray()) throw wrongType(key, "an array");
        var out = new ArrayList<Obj>();
        int i = 0;
        for (JsonNode e : v.get()) {
            String n = name(key) + "[" + i++ + "]";
            if (!e.isObject()) throw ApiException.badRequest("field '" + n + "' must be an object");
            out.add(new Obj(e, n));
        }
        return out;
    }
}
