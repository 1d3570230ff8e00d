package dev.catnap.cli;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFFormatException;
import dev.catnap.engine.gguf.GGUFMetadata;
import dev.catnap.engine.gguf.GGUFTensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code catnap inspect}: what a GGUF model holds, without loading it. */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description =
                "Show a GGUF model's architecture, context length, parameter count, quantization mix, tokenizer and tensors.")
final class InspectCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "GGUF file (any part of a split model opens them all).")
    Path file;

    @Option(names = "--no-tensors", description = "Leave out the tensor table.")
    boolean noTensors;

    /** llama.cpp's {@code general.file_type} values (enum llama_ftype) that name a quantization recipe. */
    private static final Map<Integer, String> FILE_TYPES = Map.ofEntries(
            Map.entry(0, "ALL_F32"),
            Map.entry(1, "MOSTLY_F16"),
            Map.entry(2, "MOSTLY_Q4_0"),
            Map.entry(3, "MOSTLY_Q4_1"),
            Map.entry(7, "MOSTLY_Q8_0"),
            Map.entry(8, "MOSTLY_Q5_0"),
            Map.entry(9, "MOSTLY_Q5_1"),
            Map.entry(10, "MOSTLY_Q2_K"),
            Map.entry(11, "MOSTLY_Q3_K_S"),
            Map.entry(12, "MOSTLY_Q3_K_M"),
            Map.entry(13, "MOSTLY_Q3_K_L"),
            Map.entry(14, "MOSTLY_Q4_K_S"),
            Map.entry(15, "MOSTLY_Q4_K_M"),
            Map.entry(16, "MOSTLY_Q5_K_S"),
            Map.entry(17, "MOSTLY_Q5_K_M"),
            Map.entry(18, "MOSTLY_Q6_K"),
            Map.entry(32, "MOSTLY_BF16"));

    @Override
    public Integer call() {
        if (!Files.exists(file)) throw new UserError("file not found: " + file);
        try (GGUFFile gguf = GGUFFile.open(file)) {
            print(gguf, spec.commandLine().getOut());
        } catch (GGUFFormatException e) {
            throw new UserError(e.getMessage());
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UserError(file + ": " + e.getMessage()); // a metadata value of the wrong type
        }
        return 0;
    }

    private void print(GGUFFile gguf, PrintWriter out) throws IOException {
        GGUFMetadata m = gguf.metadata();
        String arch = m.architecture();
        long fileBytes = 0;
        for (Path p : gguf.parts()) fileBytes += Files.size(p);
        String parts = gguf.parts().size() == 1 ? "" : ", " + gguf.parts().size() + " parts";
        row(out, "file", gguf.path() + " (GGUF v" + gguf.version() + parts + ", " + bytes(fileBytes) + ")");
        row(out, "architecture", arch);
        if (m.get("general.name") instanceof String name) row(out, "name", name);
        row(out, "context length", number(m, arch + ".context_length"));
        row(out, "embedding", number(m, arch + ".embedding_length"));
        row(out, "layers", number(m, arch + ".block_count"));
        String heads = number(m, arch + ".attention.head_count");
        if (m.has(arch + ".attention.head_count_kv"))
            heads += " (" + number(m, arch + ".attention.head_count_kv") + " KV)";
        row(out, "heads", heads);

        long params = 0;
        Map<GGMLType, long[]> mix = new EnumMap<>(GGMLType.class); // type -> {tensors, bytes}
        for (GGUFTensor t : gguf.tensors().values()) {
            params += t.elementCount();
            long[] c = mix.computeIfAbsent(t.type(), k -> new long[2]);
            c[0]++;
            c[1] += t.data().byteSize();
        }
        row(out, "parameters", String.format(Locale.ROOT, "%,d (%s)", params, shortCount(params)));
        if (m.has("general.file_type")) {
            long ft = m.getLong("general.file_type");
            row(out, "file type", FILE_TYPES.getOrDefault((int) ft, "unknown") + " (" + ft + ")");
        }
        List<Map.Entry<GGMLType, long[]>> byBytes = new ArrayList<>(mix.entrySet());
        byBytes.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        String label = "quantization";
        if (byBytes.isEmpty()) row(out, label, "no tensors");
        for (var e : byBytes) {
            long n = e.getValue()[0];
            row(
                    out,
                    label,
                    String.format(
                            Locale.ROOT,
                            "%-6s %5d %-8s %s",
                            e.getKey(),
                            n,
                            n == 1 ? "tensor" : "tensors",
                            bytes(e.getValue()[1])));
            label = "";
        }
        row(out, "tokenizer", tokenizer(m));

        if (!noTensors && !gguf.tensors().isEmpty()) {
            int nameWidth = gguf.tensors().keySet().stream()
                    .mapToInt(String::length)
                    .max()
                    .orElse(4);
            out.println();
            out.printf(Locale.ROOT, "%-" + nameWidth + "s  %-7s %-24s %s%n", "TENSOR", "TYPE", "SHAPE", "BYTES");
            for (GGUFTensor t : gguf.tensors().values()) {
                String shape =
                        Arrays.stream(t.shape()).mapToObj(Long::toString).collect(Collectors.joining(", ", "[", "]"));
                out.printf(
                        Locale.ROOT,
                        "%-" + nameWidth + "s  %-7s %-24s %,d%n",
                        t.name(),
                        t.type(),
                        shape,
                        t.data().byteSize());
            }
        }
        out.flush();
    }

    private static String tokenizer(GGUFMetadata m) {
        if (!m.has("tokenizer.ggml.model")) return "none";
        StringBuilder s = new StringBuilder(m.getString("tokenizer.ggml.model", "?"));
        if (m.get("tokenizer.ggml.pre") instanceof String pre)
            s.append(" (pre: ").append(pre).append(')');
        if (m.get("tokenizer.ggml.tokens") instanceof List<?> tokens)
            s.append(String.format(Locale.ROOT, ", %,d tokens", tokens.size()));
        return s.toString();
    }

    private static String number(GGUFMetadata m, String key) {
        return switch (m.get(key)) {
            case null -> "-";
            case Number n -> String.format(Locale.ROOT, "%,d", n.longValue());
            case Object o -> String.valueOf(o);
        };
    }

    private static void row(PrintWriter out, String label, String value) {
        out.printf(Locale.ROOT, "%-15s %s%n", label.isEmpty() ? "" : label + ":", value);
    }

    static String bytes(long n) {
        if (n < 1024) return n + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static String shortCount(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.2fB", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.1fM", n / 1e6);
        if (n >= 1_000L) return String.format(Locale.ROOT, "%.1fK", n / 1e3);
        return Long.toString(n);
    }
}
