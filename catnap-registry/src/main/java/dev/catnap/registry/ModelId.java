package dev.catnap.registry;

import java.util.regex.Pattern;

/**
 * A model id as Tabby spells it: {@code Org/Name}, or a bare {@code Name} meaning {@code TabbyML/Name}.
 * Both parts become directory names under the models dir, so anything that could escape it
 * ({@code ..}, absolute paths, extra separators, control characters) is rejected.
 */
public record ModelId(String org, String name) {
    public static final String DEFAULT_ORG = "TabbyML";

    // Letters, digits and . _ - + ; must not start with a dot, so "." and ".." can never be a part.
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}");

    public ModelId {
        requirePart(org, "organisation");
        requirePart(name, "name");
    }

    /** Parses {@code Org/Name} or {@code Name}; throws IllegalArgumentException with a readable reason. */
    public static ModelId parse(String id) {
        if (id == null || id.isBlank()) throw new IllegalArgumentException("model id is empty");
        if (id.startsWith("/")
                || id.startsWith("\\")
                || id.startsWith("~")
                || (id.length() > 1 && id.charAt(1) == ':')) {
            throw new IllegalArgumentException("model id '" + id + "' looks like a path; expected Org/Name or Name");
        }
        int slash = id.indexOf('/');
        if (slash < 0) return new ModelId(DEFAULT_ORG, checked(id, id));
        if (id.indexOf('/', slash + 1) >= 0) {
            throw new IllegalArgumentException(
                    "model id '" + id + "' has more than one '/'; expected Org/Name or Name");
        }
        return new ModelId(checked(id.substring(0, slash), id), checked(id.substring(slash + 1), id));
    }

    private static String checked(String part, String id) {
        if (!PART.matcher(part).matches()) {
            throw new IllegalArgumentException("invalid model id '" + id + "': '" + part
                    + "' must be 1-128 letters, digits, '.', '_', '-' or '+', not starting with '.'");
        }
        return part;
    }

    private static void requirePart(String part, String what) {
        if (part == null || !PART.matcher(part).matches()) {
            throw new IllegalArgumentException("invalid model " + what + " '" + part
                    + "': must be 1-128 letters, digits, '.', '_', '-' or '+', not starting with '.'");
        }
    }

    static boolean isValidPart(String part) {
        return part != null && PART.matcher(part).matches();
    }

    @Override
    public String toString() {
        return org + "/" + name;
    }
}
