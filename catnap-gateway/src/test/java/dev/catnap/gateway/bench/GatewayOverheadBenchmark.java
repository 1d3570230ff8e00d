package dev.catnap.gateway.bench;

import dev.catnap.gateway.Gateway;
import dev.catnap.gateway.GatewayConfig;
import dev.catnap.gateway.Readiness;
import dev.catnap.gateway.TestWorker;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The gateway's cost: the same small request sent straight to a trivial worker ({@code target=direct}) and through
 * the gateway to that kind of worker ({@code target=gateway}), by 1 and by 50 concurrent clients, all on loopback.
 * SampleTime mode gives both throughput (ops/ms over the run) and latency percentiles.
 *
 * <pre>scripts/jmh catnap-gateway GatewayOverheadBenchmark -f 1 -wi 3 -w 5s -i 5 -r 5s</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class GatewayOverheadBenchmark {
    @Param({"direct", "gateway"})
    public String target;

    private Process worker;
    private Gateway gateway;
    private HttpClient client;
    private HttpRequest request;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<String> workerCmd = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "-cp",
                System.getProperty("java.class.path"),
                TestWorker.class.getName(),
                "{port}"));
        int port;
        if (target.equals("direct")) {
            port = freePort();
            List<String> argv = workerCmd.stream()
                    .map(a -> a.replace("{port}", Integer.toString(port)))
                    .toList();
            worker = new ProcessBuilder(argv)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } else {
            GatewayConfig config = new GatewayConfig(
                    "127.0.0.1",
                    0,
                    workerCmd,
                    1000,
                    Duration.ofMinutes(10),
                    1,
                    1,
                    Duration.ofSeconds(60),
                    1000,
                    Duration.ofSeconds(60),
                    new Readiness.Tcp(),
                    Duration.ofSeconds(5),
                    3,
                    Duration.ofSeconds(30),
                    Files.createTempDirectory("catnap-bench"));
            gateway = Gateway.start(config);
            port = gateway.port();
        }
        request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/pid"))
                .build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                if (client.send(request, HttpResponse.BodyHandlers.ofString()).statusCode() == 200) break;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) throw e;
            }
            Thread.sleep(100);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (gateway != null) gateway.close();
        if (worker != null) worker.destroy();
        client.close();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private String call() throws Exception {
        HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IllegalStateException("status " + r.statusCode());
        return r.body();
    }

    @Benchmark
    @Threads(1)
    public String oneClient() throws Exception {
        return call();
    }

    @Benchmark
    @Threads(50)
    public String fiftyClients() throws Exception {
        return call();
    }
}
