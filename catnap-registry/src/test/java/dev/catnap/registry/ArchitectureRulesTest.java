package dev.catnap.registry;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The registry knows model ids, Tabby's models.json, the cache layout and downloads: files and HTTP, no
 * inference. It stands beside the engine, not on it, and serves the CLI only.
 */
@AnalyzeClasses(
        packages = "dev.catnap.registry",
        importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureRulesTest.NoTestClassesFolder.class})
class ArchitectureRulesTest {

    @ArchTest
    static final ArchRule registryKnowsNoOtherModule = noClasses()
            .that()
            .resideInAPackage("dev.catnap.registry..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                    "dev.catnap.engine..",
                    "dev.catnap.server..",
                    "dev.catnap.gateway..",
                    "dev.catnap.index..",
                    "dev.catnap.cli..")
            .because(
                    "fetching and laying out model files needs no model code; only catnap-cli composes the registry with the rest");

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
