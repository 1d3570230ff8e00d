package dev.catnap.gateway;

import static dev.catnap.gateway.TestGateways.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The table: without an accepted token nothing reaches, or starts, a worker. */
@Timeout(60)
class FrontDoorAuthTest {
    private static final String TOKEN = "s3cret";

    @TempDir
    Path tmp;

    private Gateway start(Tokens tokens) {
        return Gateway.start(
                new Settings(worker(), tmp).config(), FrontDoor.open().withTokens(tokens));
    }

    private static HttpResponse<String> call(Gateway g, String method, String path, String auth, String body)
            throws Exception {
        var b = HttpRequest.newBuilder(uri(g, path))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (auth != null) b.header("Authorization", auth);
        if (body != null) b.header("Content-Type", "application/json");
        return send(g, b.build());
    }

    private static double coldStarts(Gateway g) throws Exception {
        for (String line :
                call(g, "GET", "/metrics", "Bearer " + TOKEN, null).body().split("\n")) {
            if (line.startsWith("catnap_gateway_cold_starts_total "))
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        throw new AssertionError("no cold-start metric");
    }

    /** The body and type catnap serve answers for the same refusal (TabbyServer.checkToken). */
    private static void assertServeShaped401(HttpResponse<String> r, String message) throws Exception {
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).hasValue("*");
        JsonNode e = json(r).get("error");
        assertThat(e.get("message").asText()).isEqualTo(message);
        assertThat(e.get("type").asText()).isEqualTo("unauthorized");
        assertThat(e.get("code").asInt()).isEqualTo(401);
    }

    @Test
    void wrongOrMissingTokensAre401AtOnceAndStartNoWorker() throws Exception {
        try (Gateway g = start(Tokens.of(List.of(TOKEN)))) {
            assertServeShaped401(call(g, "GET", "/v1/health", "Bearer wrong", null), "invalid token");
            assertServeShaped401(
                    call(g, "POST", "/v1/health", null, null), "missing Authorization: Bearer <token> header");
            assertServeShaped401(
                    call(g, "POST", "/v1/completions", null, "{\"language\":\"python\"}"),
                    "missing Authorization: Bearer <token> header");
            assertServeShaped401(
                    call(g, "POST", "/v1/chat/completions", "Bearer " + TOKEN + "x", "{}"), "invalid token");
            assertServeShaped401(call(g, "POST", "/v1/events", "Bearer s3cre", "{}"), "invalid token");
            assertServeShaped401(
                    call(g, "GET", "/v1beta/server_setting", TOKEN, null), "invalid token"); // no scheme word
            assertServeShaped401(call(g, "GET", "/openapi.json", "Bearer ", null), "invalid token");
            assertServeShaped401(
                    call(g, "DELETE", "/anything/else", null, null), "missing Authorization: Bearer <token> header");
            assertThat(status(g, null).statusCode()).isEqualTo(401);
            assertThat(coldStarts(g)).isEqualTo(0.0);
            assertThat(json(status(g, "Bearer " + TOKEN)).get("workers")).isEmpty();

            // the right token goes through; the scheme word is not checked, as in catnap serve
            HttpResponse<String> ok = call(g, "POST", "/echo", "bearer  " + TOKEN + " ", "{}");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(json(ok).at("/headers/authorization").asText()).isEqualToIgnoringCase("bearer  " + TOKEN);
            assertThat(coldStarts(g)).isEqualTo(1.0);
        }
    }

    private static HttpResponse<String> status(Gateway g, String auth) throws Exception {
        return call(g, "GET", "/gateway/status", auth, null);
    }

    @Test
    void statusAndMetricsNeedTheToken() throws Exception {
        try (Gateway g = start(Tokens.of(List.of(TOKEN)))) {
            assertServeShaped401(
                    call(g, "GET", "/gateway/status", null, null), "missing Authorization: Bearer <token> header");
            assertServeShaped401(call(g, "GET", "/metrics", "Bearer nope", null), "invalid token");
            assertThat(call(g, "GET", "/gateway/status", "Bearer " + TOKEN, null)
                            .statusCode())
                    .isEqualTo(200);
            HttpResponse<String> m = call(g, "GET", "/metrics", "Bearer " + TOKEN, null);
            assertThat(m.statusCode()).isEqualTo(200);
            // refusals are counted, so an operator sees a door being knocked on
            assertThat(m.body()).contains("catnap_gateway_requests_total{status=\"401\"} 2.0");
        }
    }

    @Test
    void healthIsServedFromTheCacheOnlyForAnAcceptedToken() throws Exception {
        var s = new Settings(worker(), tmp);
        s.scaledown = Duration.ofMillis(500);
        try (Gateway g = Gateway.start(s.config(), FrontDoor.open().withTokens(Tokens.of(List.of(TOKEN))))) {
            assertThat(call(g, "GET", "/v1/health", "Bearer " + TOKEN, null).statusCode())
                    .isEqualTo(200);
            assertThat(eventually(
                            Duration.ofSeconds(10),
                            () -> json(status(g, "Bearer " + TOKEN))
                                    .get("workers")
                                    .isEmpty()))
                    .isTrue();
            assertThat(call(g, "GET", "/v1/health", "Bearer " + TOKEN, null).statusCode())
                    .isEqualTo(200);
            assertServeShaped401(call(g, "GET", "/v1/health", "Bearer wrong", null), "invalid token");
            assertServeShaped401(
                    call(g, "GET", "/v1/health", null, null), "missing Authorization: Bearer <token> header");
            assertThat(coldStarts(g)).isEqualTo(1.0);
        }
    }

    @Test
    void corsPreflightWithoutATokenIsAnsweredWithoutAWorker() throws Exception {
        try (Gateway g = start(Tokens.of(List.of(TOKEN)))) {
            HttpResponse<String> r = call(g, "OPTIONS", "/v1/completions", null, null);
            assertThat(r.statusCode()).isEqualTo(204);
            assertThat(r.headers().firstValue("Access-Control-Allow-Methods")).hasValue("*");
            assertThat(coldStarts(g)).isEqualTo(0.0);
        }
    }

    @Test
    void severalTokensFromAFileAreReloadedWhenItChanges() throws Exception {
        Path file = tmp.resolve("tokens");
        Files.writeString(file, "# the team\nalice-1\n\n  bob-1  \n");
        try (Gateway g = start(Tokens.file(file))) {
            assertThat(call(g, "POST", "/echo", "Bearer alice-1", "{}").statusCode())
                    .isEqualTo(200);
            assertThat(call(g, "POST", "/echo", "Bearer bob-1", "{}").statusCode())
                    .isEqualTo(200);
            assertThat(call(g, "POST", "/echo", "Bearer # the team", "{}").statusCode())
                    .isEqualTo(401);

            Files.writeString(file, "bob-1\ncarol-1\n"); // alice's token is revoked, carol's added: no restart
            assertThat(eventually(
                            Duration.ofSeconds(5),
                            () -> call(g, "POST", "/echo", "Bearer alice-1", "{}")
                                            .statusCode()
                                    == 401))
                    .isTrue();
            assertThat(call(g, "POST", "/echo", "Bearer carol-1", "{}").statusCode())
                    .isEqualTo(200);
            assertThat(call(g, "POST", "/echo", "Bearer bob-1", "{}").statusCode())
                    .isEqualTo(200);

            Files.delete(file); // unreadable: the tokens loaded stay
            Thread.sleep(Tokens.RELOAD_INTERVAL.toMillis() * 2);
            assertThat(call(g, "POST", "/echo", "Bearer carol-1", "{}").statusCode())
                    .isEqualTo(200);
        }
    }

    @Test
    void tokenChecksMatchWholeTokensOnly() {
        Tokens t = Tokens.of(List.of("abc", "longer-token"));
        assertThat(t.accepts("Bearer abc")).isTrue();
        assertThat(t.accepts("Bearer longer-token")).isTrue();
        assertThat(t.accepts("Bearer ab")).isFalse();
        assertThat(t.accepts("Bearer abcd")).isFalse();
        assertThat(t.accepts("Bearer longer")).isFalse();
        assertThat(t.accepts("Bearer")).isFalse();
        assertThat(t.accepts("")).isFalse();
        assertThat(t.accepts(null)).isFalse();
        assertThat(Tokens.none().accepts(null)).isTrue();
    }

    @Test
    void anEmptyTokenFileIsRefusedAtStart() throws Exception {
        Path file = tmp.resolve("empty");
        Files.writeString(file, "\n# nothing yet\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Tokens.file(file))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds no token");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Tokens.file(tmp.resolve("missing")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot read token file");
    }
}
