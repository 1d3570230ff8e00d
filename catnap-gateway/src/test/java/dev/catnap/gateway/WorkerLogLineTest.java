package dev.catnap.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WorkerLogLineTest {
    @Test
    void dropsTheWorkersOwnTimestampSoThatTheGatewaysIsTheOnlyOne() {
        assertThat(WorkerLogLine.clean("2026-12-03T12:54:01.425Z INFO  BatchedModel: loaded starcoder model"))
                .contains("INFO  BatchedModel: loaded starcoder model");
        assertThat(WorkerLogLine.clean("2026-12-03T12:54:01.425+01:00 WARN  x")).contains("WARN  x");
        assertThat(WorkerLogLine.clean("2024-05-01 10:00:00,123 INFO tabby")).contains("INFO tabby");
        assertThat(WorkerLogLine.clean("2024-05-01T10:00:00.123456Z  INFO tabby::serve: listening"))
                .contains("INFO tabby::serve: listening");
    }

    @Test
    void keepsLinesWithoutALeadingTimestampAsTheyAre() {
        assertThat(WorkerLogLine.clean("Exception in thread \"main\" 2026-12-03T12:54:01Z"))
                .contains("Exception in thread \"main\" 2026-12-03T12:54:01Z");
        assertThat(WorkerLogLine.clean("listening on 8080")).contains("listening on 8080");
        assertThat(WorkerLogLine.clean("")).contains("");
    }

    @Test
    void leavesOutTheJvmsIncubatorWarning() {
        assertThat(WorkerLogLine.clean("WARNING: Using incubator modules: jdk.incubator.vector"))
                .isEmpty();
        assertThat(WorkerLogLine.clean("WARNING: something else")).contains("WARNING: something else");
    }
}
