package dev.catnap.gateway;

import static dev.catnap.gateway.WorkerState.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WorkerStateTest {
    private static final Map<WorkerState, Set<WorkerState>> ALLOWED = Map.of(
            STARTING, EnumSet.of(READY, STOPPING, FAILED),
            READY, EnumSet.of(STOPPING, FAILED),
            STOPPING, EnumSet.of(STOPPED),
            STOPPED, EnumSet.noneOf(WorkerState.class),
            FAILED, EnumSet.noneOf(WorkerState.class));

    @Test
    void everyPairIsAllowedExactlyAsTheTableSays() {
        for (WorkerState from : WorkerState.values()) {
            for (WorkerState to : WorkerState.values()) {
                if (ALLOWED.get(from).contains(to)) {
                    assertThat(from.to(to)).isEqualTo(to);
                } else {
                    assertThatThrownBy(() -> from.to(to))
                            .as("%s -> %s", from, to)
                            .isInstanceOf(IllegalStateException.class)
                            .hasMessageContaining(from + " to " + to);
                }
            }
        }
    }

    @Test
    void noStateReturnsToItselfOrLeavesAnEnd() {
        for (WorkerState s : WorkerState.values()) assertThat(s.next()).doesNotContain(s);
        assertThat(STOPPED.next()).isEmpty();
        assertThat(FAILED.next()).isEmpty();
        assertThatThrownBy(() -> STOPPED.to(STARTING)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> READY.to(STARTING)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void onlyStartingAndReadyWorkersCountAsLive() {
        assertThat(EnumSet.allOf(WorkerState.class).stream().filter(WorkerState::live))
                .containsExactly(STARTING, READY);
    }
}
