package dev.catnap.gateway;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The gateway starts workers as commands and proxies HTTP to them: it has no models, so it may know nothing of
 * the engine, the server, the registry, the index or the CLI. That is what lets it start in milliseconds and
 * front any worker command.
 */
@AnalyzeClasses(
        packages = "dev.catnap.gateway",
        importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureRulesTest.NoTestClassesFolder.class})
class ArchitectureRulesTest {

    @ArchTest
    static final ArchRule gatewayKnowsNoOtherModule = noClasses()
            .that()
            .resideInAPackage("dev.catnap.gateway..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                    "dev.catnap.engine..",
                    "dev.catnap.server..",
                    "dev.catnap.registry..",
                    "dev.catnap.index..",
                    "dev.catnap.cli..")
            .because("the gateway only runs a command (the worker) and proxies to it");

    /**
     * {@link ImportOption.DoNotIncludeTests} knows {@code target/test-classes} only; builds here may write to
     * {@code target-NAME} ({@code -Dcatnap.target}), whose test classes must stay out as well.
     */
    static final class NoTestClassesFolder implements ImportOption {
        @Override
        public boolean includes(Location location) {
            return !location.contains("/test-classes/");
        }
    }
}
