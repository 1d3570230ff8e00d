package dev.catnap.registry;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One entry of Tabby's {@code models.json}, and the content of a model's {@code tabby.json}: only these
 * keys are kept, as Tabby does. {@code urls} (one file, mirrors) takes precedence over {@code partition_urls}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
record ModelInfo(
        @JsonProperty("name") String name,
        @JsonProperty("prompt_template") String promptTemplate,
        @JsonProperty("chat_template") String chatTemplate,
        @JsonProperty("urls") List<String> urls,
        @JsonProperty("sha256") String sha256,
        @JsonProperty("partition_urls") List<Partition> partitionUrls) {

    @JsonIgnoreProperties(ignoreUnknown = true)
    record Partition(
            @JsonProperty("urls") List<String> urls,
            @JsonProperty("sha256") String sha256) {}

    /** One GGUF file to fetch: its mirror URLs in registry order and its expected SHA-256 (may be empty: unchecked). */
    record PartSpec(int index, int count, List<String> urls, String sha256) {
        String fileName() {
            return partFileName(index, count);
        }
    }

    static String partFileName(int index, int count) {
        return "model-%05d-of-%05d.gguf".formatted(index, count);
    }

    Optional<String> prompt() {
        return Optional.ofNullable(promptTemplate).filter(s -> !s.isEmpty());
    }

    Optional<String> chat() {
        return Optional.ofNullable(chatTemplate).filter(s -> !s.isEmpty());
    }

    /** The files this entry describes; empty when it names no URL at all. */
    List<PartSpec> parts() {
        if (urls != null && !urls.isEmpty()) return List.of(new PartSpec(1, 1, List.copyOf(urls), clean(sha256)));
        List<PartSpec> parts = new ArrayList<>();
        if (partitionUrls != null) {
            int n = partitionUrls.size();
            for (int i = 0; i < n; i++) {
                Partition p = partitionUrls.get(i);
                parts.add(new PartSpec(
                        i + 1, n, p.urls() == null ? List.of() : List.copyOf(p.urls()), clean(p.sha256())));
            }
        }
        return parts;
    }

    /** Expected SHA-256 per part file name, as far as this entry knows them. */
    List<String> expectedHashes() {
        return parts().stream().map(PartSpec::sha256).toList();
    }

    private static String clean(String sha) {
        return sha == null ? "" : sha.trim().toLowerCase(java.util.Locale.ROOT);
    }
}
