package dev.catnap.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;

/**
 * Tabby's event log: one JSON object per line, {@code {"user":..,"ts":<unix ms>,"event":{"<kind>":{..}}}},
 * in {@code <dir>/YYYY-MM-DD.json} by UTC date. Each line is written and flushed before the request is
 * answered, so an acknowledged event is on disk.
 */
final class EventLog {
    private final Path dir;
    private final Clock clock;
    private final ObjectMapper json;

    EventLog(Path dir, Clock clock, ObjectMapper json) {
        this.dir = dir;
        this.clock = clock;
        this.json = json;
    }

    synchronized void append(String user, String kind, ObjectNode body) throws IOException {
        // One reading of the clock, so that a line's ts and the day file it lands in always agree.
        Instant now = clock.instant();
        ObjectNode line = json.createObjectNode();
        if (user == null) line.putNull("user");
        else line.put("user", user);
        line.put("ts", now.toEpochMilli());
        line.putObject("event").set(kind, body);
        Files.createDirectories(dir);
        Path file = fileFor(LocalDate.ofInstant(now, ZoneOffset.UTC));
        Files.write(
                file,
                (json.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8),
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
    }

    Path fileFor(LocalDate day) {
        return dir.resolve(day + ".json");
    }
}
