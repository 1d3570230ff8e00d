package dev.catnap.gateway;

import io.javalin.http.Context;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code GET /}: the operator's page, HTML rendered on the server (no script), reloading itself every few seconds:
 * workers and their states, the recent cold starts as a bar chart, requests and queue waits, and the worker-seconds
 * used against what one always-on worker would have used since the gateway started.
 */
final class StatusPage {
    static final int DEFAULT_REFRESH_SECONDS = 5;
    private static final DateTimeFormatter CLOCK =
            DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);
    private static final int CHART_WIDTH = 600;
    private static final int CHART_HEIGHT = 120;

    private final GatewayConfig config;
    private final WorkerPool pool;
    private final GatewayMetrics metrics;
    private final long startedNanos = System.nanoTime();
    private final Instant startedAt = Instant.now();

    StatusPage(GatewayConfig config, WorkerPool pool, GatewayMetrics metrics) {
        this.config = config;
        this.pool = pool;
        this.metrics = metrics;
    }

    /** {@code ?refresh=N} (1-3600 s) sets the reload interval; anything else keeps the default. */
    void handle(Context ctx) {
        int refresh = DEFAULT_REFRESH_SECONDS;
        String asked = ctx.queryParam("refresh");
        if (asked != null) {
            try {
                refresh = Math.clamp(Integer.parseInt(asked.strip()), 1, 3600);
            } catch (NumberFormatException ignored) {
                // keep the default: a bad value on a status page is not worth an error page
            }
        }
        ctx.header("Cache-Control", "no-store");
        ctx.contentType("text/html; charset=utf-8").result(render(refresh));
    }

    String render(int refreshSeconds) {
        double upSeconds = (System.nanoTime() - startedNanos) / 1e9;
        WorkerPool.Counts counts = pool.counts();
        StringBuilder h = new StringBuilder(8192);
        h.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta http-equiv=\"refresh\" content=\"")
                .append(refreshSeconds)
                .append("\">")
                // an empty icon: the browser's /favicon.ico would otherwise be proxied and wake a worker
                .append("<link rel=\"icon\" href=\"data:,\">")
                .append("<title>catnap gateway</title><style>")
                .append(
                        "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:1.5em}")
                .append(
                        "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left}")
                .append(
                        ".state-ready{color:#080}.state-starting{color:#b60}.state-stopping{color:#888}.muted{color:#777}")
                .append(".bar{height:14px;background:#4a8;display:inline-block}.bar.always{background:#ccc}")
                .append("</style></head><body>");
        h.append("<h1>catnap gateway</h1>");
        h.append("<p id=\"summary\">up ")
                .append(duration(upSeconds))
                .append(" since ")
                .append(CLOCK.format(startedAt))
                .append(" UTC &middot; ")
                .append(config.minWorkers())
                .append("-")
                .append(config.maxWorkers())
                .append(" workers, ")
                .append(config.maxInputs())
                .append(" requests each, idle stop after ")
                .append(config.scaledownWindow().toSeconds())
                .append(" s &middot; reloads every <span id=\"refresh\">")
                .append(refreshSeconds)
                .append("</span> s &middot; rendered at <span id=\"rendered-at\">")
                .append(Instant.now())
                .append("</span></p>");
        workers(h, pool.status());
        coldStarts(h, metrics.recentColdStarts());
        requests(h, counts, metrics.requestsByStatus(), metrics.queueWaits());
        cost(h, counts.workerSeconds(), upSeconds);
        h.append(
                "<p class=\"muted\">JSON: <a href=\"/gateway/status\">/gateway/status</a> &middot; Prometheus: <a href=\"/metrics\">/metrics</a></p>");
        h.append("</body></html>");
        return h.toString();
    }

    private static void workers(StringBuilder h, List<WorkerPool.WorkerStatus> workers) {
        h.append("<section id=\"workers\"><h2>Workers</h2>");
        if (workers.isEmpty()) {
            h.append(
                    "<p id=\"no-workers\">No worker is running: nothing is being paid for. The next request starts one.</p>");
        } else {
            h.append(
                    "<table><thead><tr><th>worker</th><th>state</th><th>in flight</th><th>pid</th><th>port</th><th>started</th><th>last used</th></tr></thead><tbody>");
            for (WorkerPool.WorkerStatus w : workers) {
                h.append("<tr class=\"worker\" data-state=\"")
                        .append(w.state())
                        .append("\"><td>")
                        .append(w.id())
                        .append("</td><td class=\"state state-")
                        .append(w.state())
                        .append("\">")
                        .append(w.state())
                        .append("</td><td>")
                        .append(w.inFlight())
                        .append("</td><td>")
                        .append(w.pid())
                        .append("</td><td>")
                        .append(w.port())
                        .append("</td><td>")
                        .append(clock(w.startedAt()))
                        .append("</td><td>")
                        .append(w.lastUsedAt() == null ? "-" : clock(w.lastUsedAt()))
                        .append("</td></tr>");
            }
            h.append("</tbody></table>");
        }
        h.append("</section>");
    }

    private void coldStarts(StringBuilder h, List<GatewayMetrics.ColdStart> starts) {
        h.append("<section id=\"cold-starts\"><h2>Cold starts</h2>");
        long failures = metrics.startFailureCount();
        if (starts.isEmpty()) {
            h.append("<p id=\"cold-start-summary\">No worker has become ready yet")
                    .append(failures > 0 ? " (" + failures + " failed starts)" : "")
                    .append(".</p></section>");
            return;
        }
        long[] sorted = starts.stream()
                .mapToLong(GatewayMetrics.ColdStart::millis)
                .sorted()
                .toArray();
        long max = sorted[sorted.length - 1];
        long median = sorted[sorted.length / 2];
        h.append("<p id=\"cold-start-summary\">")
                .append(metrics.coldStartCount())
                .append(" started, ")
                .append(starts.size())
                .append(" shown; median ")
                .append(median)
                .append(" ms, slowest ")
                .append(max)
                .append(" ms, last ")
                .append(starts.getLast().millis())
                .append(" ms")
                .append(failures > 0 ? "; " + failures + " failed starts" : "")
                .append(".</p>");
        int slot = CHART_WIDTH / GatewayMetrics.RECENT_COLD_STARTS;
        h.append("<svg id=\"cold-start-chart\" role=\"img\" aria-label=\"cold start durations\" width=\"")
                .append(CHART_WIDTH)
                .append("\" height=\"")
                .append(CHART_HEIGHT + 16)
                .append("\" style=\"border-bottom:1px solid #999\">");
        for (int i = 0; i < starts.size(); i++) {
            GatewayMetrics.ColdStart s = starts.get(i);
            int height = (int) Math.max(2, Math.round((double) s.millis() / max * CHART_HEIGHT));
            h.append("<rect class=\"cold-start\" data-ms=\"")
                    .append(s.millis())
                    .append("\" x=\"")
                    .append(i * slot + 1)
                    .append("\" y=\"")
                    .append(CHART_HEIGHT + 16 - height)
                    .append("\" width=\"")
                    .append(slot - 2)
                    .append("\" height=\"")
                    .append(height)
                    .append("\" fill=\"#4a8\"><title>")
                    .append(s.millis())
                    .append(" ms, ready at ")
                    .append(CLOCK.format(s.readyAt()))
                    .append(" UTC</title></rect>");
        }
        h.append("<text x=\"2\" y=\"12\" font-size=\"11\" fill=\"#555\">")
                .append(max)
                .append(" ms</text></svg></section>");
    }

    private static void requests(
            StringBuilder h, WorkerPool.Counts counts, Map<Integer, Long> byStatus, GatewayMetrics.QueueWaits waits) {
        long total = byStatus.values().stream().mapToLong(Long::longValue).sum();
        h.append("<section id=\"requests\"><h2>Requests</h2><p id=\"request-summary\">")
                .append(total)
                .append(" answered, <span id=\"in-flight\">")
                .append(counts.inFlight())
                .append("</span> in flight, <span id=\"queued\">")
                .append(counts.queued())
                .append("</span> waiting for a slot.</p>");
        if (!byStatus.isEmpty()) {
            h.append("<table id=\"by-status\"><thead><tr><th>status</th><th>requests</th></tr></thead><tbody>");
            byStatus.forEach((status, n) -> h.append("<tr><td>")
                    .append(status)
                    .append("</td><td>")
                    .append(n)
                    .append("</td></tr>"));
            h.append("</tbody></table>");
        }
        h.append("<p id=\"queue-waits\">Queue waits: ")
                .append(waits.count())
                .append(" requests, mean ")
                .append(String.format(Locale.ROOT, "%.0f", waits.meanMillis()))
                .append(" ms, longest recently ")
                .append(String.format(Locale.ROOT, "%.0f", waits.maxMillis()))
                .append(" ms (a request that woke a worker waits for its cold start).</p></section>");
    }

    private static void cost(StringBuilder h, double workerSeconds, double upSeconds) {
        double share = upSeconds <= 0 ? 0 : Math.min(1, workerSeconds / upSeconds);
        h.append(
                        "<section id=\"cost\"><h2>Worker-seconds</h2><p id=\"cost-summary\">Workers have run for <span id=\"worker-seconds\">")
                .append(String.format(Locale.ROOT, "%.0f", workerSeconds))
                .append("</span> s; one always-on worker would have run for <span id=\"always-on-seconds\">")
                .append(String.format(Locale.ROOT, "%.0f", upSeconds))
                .append("</span> s since the gateway started: ");
        if (workerSeconds <= upSeconds) {
            h.append("<strong id=\"saved\">")
                    .append(String.format(Locale.ROOT, "%.0f%%", (1 - share) * 100))
                    .append(" saved</strong>.</p>");
        } else {
            h.append("<strong id=\"saved\">")
                    .append(String.format(Locale.ROOT, "%.1fx", workerSeconds / upSeconds))
                    .append(" of one worker</strong> (more than one ran at once).</p>");
        }
        int used = (int) Math.round(share * 400);
        h.append("<div><span class=\"bar\" id=\"used-bar\" style=\"width:")
                .append(Math.max(1, used))
                .append("px\"></span> used</div>")
                .append(
                        "<div><span class=\"bar always\" id=\"always-on-bar\" style=\"width:400px\"></span> always on</div></section>");
    }

    private static String duration(double seconds) {
        Duration d = Duration.ofMillis((long) (seconds * 1000));
        if (d.toHours() > 0) return d.toHours() + " h " + d.toMinutesPart() + " min";
        if (d.toMinutes() > 0) return d.toMinutes() + " min " + d.toSecondsPart() + " s";
        return d.toSeconds() + " s";
    }

    private static String clock(String isoInstant) {
        try {
            return CLOCK.format(Instant.parse(isoInstant));
        } catch (RuntimeException e) {
            return isoInstant;
        }
    }
}
