package dev.catnap.gateway;

import static dev.catnap.gateway.TestGateways.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The status page as a browser renders it: Debian's chromium, headless, driven through chromedriver. CI installs
 * both ({@code .ci/run}) and sets CI=true, where a missing browser fails the test instead of skipping it.
 */
@Timeout(120)
class StatusPageBrowserTest {
    @TempDir
    Path tmp;

    @Test
    void theStatusPageIsNotProxiedAndDoesNotWakeAWorker() throws Exception {
        var s = new Settings(worker(), tmp);
        try (Gateway g = Gateway.start(s.config())) {
            HttpResponse<String> page = get(g, "/");
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Type"))
                    .hasValueSatisfying(ct -> assertThat(ct).startsWith("text/html"));
            assertThat(page.body()).contains("<meta http-equiv=\"refresh\" content=\"5\">");
            assertThat(get(g, "/?refresh=2").body()).contains("content=\"2\"");
            assertThat(get(g, "/?refresh=0").body()).contains("content=\"1\"");
            assertThat(get(g, "/?refresh=soon").body()).contains("content=\"5\"");
            assertThat(status(g).get("workers")).isEmpty();
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isZero();
        }
    }

    @Test
    void showsWorkersColdStartsRequestsAndCostAndRefreshesItself() throws Exception {
        Path chromium = tool("CATNAP_CHROMIUM", "/usr/bin/chromium");
        Path chromedriver = tool("CATNAP_CHROMEDRIVER", "/usr/bin/chromedriver");
        var s = new Settings(worker("delay=300"), tmp);
        try (Gateway g = Gateway.start(s.config())) {
            WebDriver browser = browser(chromium, chromedriver);
            try {
                browser.get("http://127.0.0.1:" + g.port() + "/?refresh=1");
                assertThat(browser.getTitle()).isEqualTo("catnap gateway");
                assertThat(browser.findElement(By.tagName("h1")).getText()).isEqualTo("catnap gateway");
                WebElement none = browser.findElement(By.id("no-workers"));
                assertThat(none.isDisplayed()).isTrue();
                assertThat(none.getText()).startsWith("No worker is running");
                assertThat(browser.findElement(By.id("cold-start-summary")).getText())
                        .isEqualTo("No worker has become ready yet.");
                assertThat(browser.findElements(By.cssSelector("#cold-start-chart rect")))
                        .isEmpty();
                String firstRender = browser.findElement(By.id("rendered-at")).getText();

                // two requests: the first wakes a worker (a cold start), the second finds it warm
                assertThat(get(g, "/pid").statusCode()).isEqualTo(200);
                assertThat(get(g, "/pid").statusCode()).isEqualTo(200);

                // no navigation from here on: what changes is the page reloading itself
                // A render can fall between the worker's readiness and the first answer: wait for one that shows both
                // requests answered, not only the ready worker. The page may be mid-reload when it is looked at.
                assertThat(eventually(Duration.ofSeconds(20), () -> {
                            try {
                                return !browser.findElements(By.cssSelector("tr.worker[data-state=ready]"))
                                                .isEmpty()
                                        && browser.findElements(By.id("request-summary")).stream()
                                                .anyMatch(e -> e.getText().startsWith("2 answered"));
                            } catch (org.openqa.selenium.WebDriverException reloading) {
                                return false;
                            }
                        }))
                        .as("the page shows the ready worker and both requests answered")
                        .isTrue();
                assertThat(browser.findElement(By.id("rendered-at")).getText()).isNotEqualTo(firstRender);
                List<WebElement> rows = browser.findElements(By.cssSelector("tr.worker"));
                assertThat(rows).hasSize(1);
                WebElement state = rows.getFirst().findElement(By.cssSelector("td.state"));
                assertThat(state.getText()).isEqualTo("ready");
                assertThat(state.getCssValue("color")).isEqualTo("rgba(0, 136, 0, 1)"); // .state-ready's green

                List<WebElement> bars = browser.findElements(By.cssSelector("#cold-start-chart rect.cold-start"));
                assertThat(bars).hasSize(1);
                WebElement bar = bars.getFirst();
                assertThat(bar.isDisplayed()).isTrue();
                assertThat(bar.getRect().getHeight()).isGreaterThan(50); // the slowest start fills the chart's height
                long ms = Long.parseLong(bar.getAttribute("data-ms"));
                double recordedMs = metric(g, "catnap_gateway_cold_start_seconds_sum") * 1000;
                assertThat((double) ms).isBetween(recordedMs - 1, recordedMs + 1);
                assertThat(ms).isGreaterThanOrEqualTo(300); // the worker waits 300 ms before it listens
                assertThat(browser.findElement(By.id("cold-start-summary")).getText())
                        .isEqualTo(
                                "1 started, 1 shown; median " + ms + " ms, slowest " + ms + " ms, last " + ms + " ms.");

                assertThat(browser.findElement(By.id("request-summary")).getText())
                        .isEqualTo("2 answered, 0 in flight, 0 waiting for a slot.");
                assertThat(browser.findElement(By.cssSelector("#by-status tbody"))
                                .getText())
                        .isEqualTo("200 2");
                assertThat(browser.findElement(By.id("queue-waits")).getText())
                        .startsWith("Queue waits: 2 requests, mean ");

                WebElement used = browser.findElement(By.id("used-bar"));
                WebElement always = browser.findElement(By.id("always-on-bar"));
                assertThat(always.getRect().getWidth()).isEqualTo(400);
                assertThat(used.getRect().getWidth()).isBetween(1, 400);
                assertThat(browser.findElement(By.id("saved")).getText()).matches("\\d+% saved");
            } finally {
                browser.quit();
            }
        }
    }

    private WebDriver browser(Path chromium, Path chromedriver) throws Exception {
        Path profile = Files.createDirectories(tmp.resolve("chromium-profile"));
        var options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments(
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1200,900",
                "--user-data-dir=" + profile);
        var service = new ChromeDriverService.Builder()
                .usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort()
                .withLogFile(tmp.resolve("chromedriver.log").toFile())
                .build();
        return new ChromeDriver(service, options);
    }

    /** The executable from the environment variable or its Debian path; in CI its absence is a failure. */
    private static Path tool(String variable, String debianPath) {
        String configured = System.getenv(variable);
        Path p = Path.of(configured != null && !configured.isBlank() ? configured : debianPath);
        if (Files.isExecutable(p)) return p;
        String why = p + " is not installed (apt-get install chromium chromium-driver, or set " + variable + ")";
        if ("true".equalsIgnoreCase(System.getenv("CI")))
            throw new AssertionError("CI must run the browser test: " + why);
        Assumptions.abort(why);
        return p;
    }
}
