package dev.catnap.index;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The index (git walk, chunks, Lucene, code search) builds on the engine only, for embeddings; the server and
 * the CLI build on it. It serves no HTTP itself: the server exposes its search.
 */
@AnalyzeClasses(
        packages = "dev.catnap.index",
        importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureRulesTest.NoTestClassesFolder.class})
class ArchitectureRulesTest {

    @ArchTest
    static final ArchRule indexBuildsOnTheEngineOnly = noClasses()
            .that()
            .resideInAPackage("dev.catnap.index..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                    "dev.catnap.server..", "dev.catnap.gateway..", "dev.catnap.registry..", "dev.catnap.cli..")
            .because(
                    "catnap-server and catnap-cli build on the index; the engine (embeddings) is the only module below it");

    @ArchTest
    static final ArchRule indexServesNoHttp = noClasses()
            .that()
            .resideInAPackage("dev.catnap.index..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("io.javalin..", "org.eclipse.jetty..", "jakarta.servlet..")
            .because("/v1beta/search is catnap-server's route; the index is a library it calls");

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
