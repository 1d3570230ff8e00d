package dev.catnap.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The engine is the bottom layer: every other module builds on it, so it may know none of them, and it is a
 * library of inference, not a service, so no HTTP server or JSON mapper belongs in it. Rules run on the main
 * classes only (the engine's tests use Jackson and JMH, which is their business).
 */
@AnalyzeClasses(
        packages = "dev.catnap.engine",
        importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureRulesTest.NoTestClassesFolder.class})
class ArchitectureRulesTest {

    @ArchTest
    static final ArchRule engineKnowsNoOtherModule = noClasses()
            .that()
            .resideInAPackage("dev.catnap.engine..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                    "dev.catnap.server..",
                    "dev.catnap.gateway..",
                    "dev.catnap.registry..",
                    "dev.catnap.index..",
                    "dev.catnap.cli..")
            .because(
                    "catnap-engine is the bottom layer: server, gateway, registry, index and cli build on it, never the reverse");

    @ArchTest
    static final ArchRule engineUsesNoHttpNorJson = noClasses()
            .that()
            .resideInAPackage("dev.catnap.engine..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("io.javalin..", "org.eclipse.jetty..", "jakarta.servlet..", "com.fasterxml.jackson..")
            .because("HTTP and JSON are catnap-server's and catnap-gateway's; the engine loads GGUF and runs models");

    @ArchTest
    static final ArchRule enginePackagesAreFreeOfCycles = slices().matching("dev.catnap.engine.(*)..")
            .should()
            .beFreeOfCycles()
            .because(
                    "each engine package (gguf, tokenizer, sampling, model, cpu, cuda, batch, backend) must be readable and replaceable on its own");

    @ArchTest
    static final ArchRule architecturesAndTheBatchKnowNoDevice = noClasses()
            .that()
            .resideInAnyPackage("dev.catnap.engine.model..", "dev.catnap.engine.batch..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("dev.catnap.engine.cpu..", "dev.catnap.engine.cuda..")
            .because(
                    "an architecture is written once over Ops and the batch runs any Decoder; only Engine chooses a device");

    @ArchTest
    static final ArchRule devicesKnowNotEachOther = noClasses()
            .that()
            .resideInAPackage("dev.catnap.engine.cpu..")
            .should()
            .dependOnClassesThat()
            .resideInAPackage("dev.catnap.engine.cuda..")
            .andShould()
            .dependOnClassesThat()
            .resideInAPackage("dev.catnap.engine.batch..")
            .because("a device implements Ops and a Decoder; it neither falls back to another device nor schedules");

    @ArchTest
    static final ArchRule cudaKnowsNotTheCpu = noClasses()
            .that()
            .resideInAPackage("dev.catnap.engine.cuda..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("dev.catnap.engine.cpu..", "dev.catnap.engine.batch..")
            .because("a device implements Ops and a Decoder; it neither falls back to another device nor schedules");

    @ArchTest
    static final ArchRule onlyCallersOutsideTheEngineUseItsCompositionRoot = noClasses()
            .that()
            .resideInAPackage("dev.catnap.engine.(*)..")
            .should()
            .dependOnClassesThat()
            .areAssignableTo(Engine.class)
            .because("Engine builds models from the packages below it; one of them calling it back would be a cycle "
                    + "through the root package, which the slice rule cannot see");

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
