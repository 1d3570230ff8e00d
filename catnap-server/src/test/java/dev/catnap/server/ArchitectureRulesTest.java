package dev.catnap.server;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * catnap-server is one worker: Tabby's API over the engine and the index. Which model a command-line argument
 * names, and where the cache keeps it, is the CLI's business (it composes registry and server), so the server
 * knows nothing of catnap-registry; nor of the gateway that runs it as a command, nor of the CLI above it.
 */
@AnalyzeClasses(
        packages = "dev.catnap.server",
        importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureRulesTest.NoTestClassesFolder.class})
class ArchitectureRulesTest {

    @ArchTest
    static final ArchRule serverKnowsNoRegistry = noClasses()
            .that()
            .resideInAPackage("dev.catnap.server..")
            .should()
            .dependOnClassesThat()
            .resideInAPackage("dev.catnap.registry..")
            .because("model ids and the cache are resolved by catnap-cli, which hands the server loaded models");

    @ArchTest
    static final ArchRule serverKnowsNeitherGatewayNorCli = noClasses()
            .that()
            .resideInAPackage("dev.catnap.server..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("dev.catnap.gateway..", "dev.catnap.cli..")
            .because(
                    "the gateway runs a worker as a command and the CLI composes the modules: both sit above the server");

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
