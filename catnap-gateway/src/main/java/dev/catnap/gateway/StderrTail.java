package dev.catnap.gateway;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;

/** Keeps the last lines a worker wrote to stderr, so that a failed start can say why. */
final class StderrTail {
    private final int maxLines;
    private final ArrayDeque<String> lines = new ArrayDeque<>();

    StderrTail(int maxLines) {
        this.maxLines = maxLines;
    }

    /** Reads {@code in} to its end on a virtual thread, handing each line to {@code sink} (which may {@link #add} it). */
    Thread drain(InputStream in, Consumer<String> sink) {
        return Thread.ofVirtual().name("worker-stderr").start(() -> {
            try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    sink.accept(line);
                }
            } catch (IOException ignored) {
                // the process is gone; what we have is the tail
            }
        });
    }

    synchronized void add(String line) {
        if (line.length() > 500) line = line.substring(0, 500) + "...";
        lines.addLast(line);
        while (lines.size() > maxLines) lines.removeFirst();
    }

    synchronized List<String> lines() {
        return List.copyOf(lines);
    }
}
