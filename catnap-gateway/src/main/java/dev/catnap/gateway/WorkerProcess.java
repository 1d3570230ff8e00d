package dev.catnap.gateway;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker command running as an operating-system process tree.
 *
 * <p>The command runs under a small POSIX shell guard that puts it in its own session and process group (setsid),
 * forwards SIGTERM to that group, and watches its own stdin: the gateway holds the other end of that pipe, so when the gateway dies, even by
 * SIGKILL, the pipe closes and the guard terminates the whole group (killing it 3 s later if it lingers). No worker
 * outlives its gateway, whatever the worker command is.
 */
final class WorkerProcess {
    private static final Logger log = LoggerFactory.getLogger("worker");
    private static final String PID_MARKER = "catnap-worker-pid ";
    private static final String GUARD = String.join(
            "\n",
            "exec 3<&0",
            "if command -v setsid >/dev/null 2>&1; then setsid \"$@\" </dev/null 3<&- & else \"$@\" </dev/null 3<&- & fi",
            "child=$!",
            "echo \"" + PID_MARKER + "$child\" >&2",
            "trap 'kill -TERM -$child 2>/dev/null || kill -TERM $child 2>/dev/null' TERM INT",
            "( while read -r _ <&3; do :; done; kill -TERM -$child 2>/dev/null || kill -TERM $child;"
                    + " sleep 3; kill -KILL -$child 2>/dev/null || kill -KILL $child ) 2>/dev/null &",
            "watcher=$!",
            "exec 3<&-",
            "code=0",
            "while :; do wait $child; code=$?; kill -0 $child 2>/dev/null || break; done",
            "kill $watcher 2>/dev/null",
            "exit $code");

    private final Process guard;
    private final OutputStream lifeline;
    private final StderrTail stderr = new StderrTail(20);
    private final int port;
    private volatile Thread stderrReader;
    private volatile long workerPid;

    private WorkerProcess(Process guard, int port) {
        this.guard = guard;
        this.lifeline = guard.getOutputStream();
        this.port = port;
    }

    /** Starts {@code argv}, which listens on {@code port}. Its stdout goes to the gateway's stdout. */
    static WorkerProcess start(List<String> argv, int port) throws IOException {
        List<String> guarded = new ArrayList<>(List.of("/bin/sh", "-c", GUARD, "catnap-worker"));
        guarded.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(guarded)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.PIPE);
        pb.environment().put("PORT", Integer.toString(port));
        WorkerProcess w = new WorkerProcess(pb.start(), port);
        w.stderrReader = w.stderr.drain(w.guard.getErrorStream(), line -> {
            if (line.startsWith(PID_MARKER)) {
                w.workerPid = Long.parseLong(line.substring(PID_MARKER.length()).strip());
            } else {
                WorkerLogLine.clean(line).ifPresent(clean -> {
                    w.stderr.add(clean);
                    long held = w.stderr.admitLog(System.nanoTime());
                    if (held > 0)
                        log.warn(
                                "[{}] {} stderr lines not logged: more than {} a second",
                                port,
                                held,
                                StderrTail.LOG_LINES_PER_SECOND);
                    if (held >= 0) log.info("[{}] {}", port, clean);
                });
            }
        });
        return w;
    }

    int port() {
        return port;
    }

    /** The worker's own pid, as its guard reported it; the guard's until then. */
    long pid() {
        long pid = workerPid;
        return pid != 0 ? pid : guard.pid();
    }

    boolean isAlive() {
        return guard.isAlive();
    }

    CompletableFuture<Process> onExit() {
        return guard.onExit();
    }

    List<String> stderrTail() {
        return stderr.lines();
    }

    /**
     * The stderr tail of a worker that has exited: its last lines may still be in the pipe when the exit is seen, so
     * this waits (up to {@code wait}) for the reader to reach the pipe's end first.
     */
    List<String> stderrTailAfterExit(Duration wait) {
        Thread reader = stderrReader;
        if (reader != null) {
            try {
                reader.join(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return stderr.lines();
    }

    /**
     * SIGTERM to the worker's process group, then SIGKILL to every remaining process of the tree after {@code grace}.
     * Blocks until the tree is gone; returns the exit code.
     */
    int stop(Duration grace) {
        List<ProcessHandle> tree = new ArrayList<>();
        guard.toHandle().descendants().forEach(tree::add);
        guard.destroy(); // SIGTERM: the guard forwards it to the worker's group
        try {
            if (!guard.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("worker on port {} did not stop within {} s: killed", port, grace.toSeconds());
                guard.toHandle().descendants().forEach(tree::add);
                tree.forEach(ProcessHandle::destroyForcibly);
                guard.destroyForcibly();
                guard.waitFor(5, TimeUnit.SECONDS);
            }
            for (ProcessHandle p : tree) {
                if (p.isAlive()) p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            tree.forEach(ProcessHandle::destroyForcibly);
            guard.destroyForcibly();
        }
        closeLifeline();
        return guard.isAlive() ? -1 : guard.exitValue();
    }

    /** Closing the lifeline is how a dying gateway tells the guard to end the worker. */
    void closeLifeline() {
        try {
            lifeline.close();
        } catch (IOException ignored) {
            // the guard is already gone
        }
    }
}
