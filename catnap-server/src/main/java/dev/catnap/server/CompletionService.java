package dev.catnap.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.catnap.engine.tokenizer.Prompt;
import io.micrometer.core.instrument.Counter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/** {@code POST /v1/completions}: Tabby's request, prompt, stop rules and response. */
final class CompletionService {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(CompletionService.class);
    static final int MAX_DECODING_TOKENS = 64;
    static final double DEFAULT_TEMPERATURE = 0.1;

    private final CompletionModel model;
    private final Admission admission;
    private final Counter tokens;
    private final long timeoutNanos;
    private final ObjectMapper json;
    private final Map<String, Language> languages = Language.table();
    private final CompletionPrompt.Retrieval retrieval;
    /** The first completion is the cold start's last step: its time is logged once, for operators and the cold-start benchmark. */
    private final java.util.concurrent.atomic.AtomicBoolean firstDone = new java.util.concurrent.atomic.AtomicBoolean();

    CompletionService(CompletionModel model, Admission admission, Counter tokens, Duration timeout, ObjectMapper json) {
        this(model, admission, tokens, timeout, json, CompletionPrompt.Retrieval.NONE);
    }

    CompletionService(
            CompletionModel model,
            Admission admission,
            Counter tokens,
            Duration timeout,
            ObjectMapper json,
            CompletionPrompt.Retrieval retrieval) {
        this.retrieval = retrieval;
        this.model = model;
        this.admission = admission;
        this.tokens = tokens;
        this.timeoutNanos = timeout.toNanos();
        this.json = json;
    }

    ObjectNode complete(Obj body, String userHeader, BooleanSupplier clientGone, long startNanos)
            throws InterruptedException {
        Language language = Language.lookup(languages, body.string("language").orElse(null));
        Optional<Obj> segments = body.object("segments");
        Optional<Obj> debug = body.object("debug_options");
        Optional<String> rawPrompt = debug.flatMap(d -> d.string("raw_prompt"));
        boolean returnPrompt = debug.flatMap(d -> d.bool("return_prompt")).orElse(false);
        boolean returnSnippets = debug.flatMap(d -> d.bool("return_snippets")).orElse(false);
        boolean disableSnippets = debug.flatMap(d -> d.bool("disable_retrieval_augmented_code_completion"))
                .orElse(false);
        double temperature = body.number("temperature").orElse(DEFAULT_TEMPERATURE);
        if (temperature < 0 || temperature > 2)
            throw ApiException.badRequest("field 'temperature' must be between 0 and 2");
        long seed = body.integer("seed", 0, Long.MAX_VALUE).orElse(System.currentTimeMillis());
        body.string("user");
        String mode = body.string("mode").orElse("standard");

        Prompt prompt;
        List<CompletionPrompt.Snippet> snippets = List.of();
        boolean crlf = false;
        List<String> stopWords;
        int maxTokens = MAX_DECODING_TOKENS;
        switch (mode) {
            case "standard" -> {
                if (rawPrompt.isPresent()) {
                    // the caller wrote the whole prompt, special tokens included, on purpose
                    prompt = CompletionPrompt.clip(Prompt.of(new Prompt.Template(rawPrompt.get())), "");
                    segments.ifPresent(CompletionService::segments); // still type-checked
                } else {
                    Obj seg = segments.orElseThrow(
                            () -> ApiException.badRequest("missing field 'segments' (or 'debug_options.raw_prompt')"));
                    var built = CompletionPrompt.build(
                            segments(seg), language, model.promptTemplate(), disableSnippets, retrieval);
                    prompt = built.prompt();
                    snippets = built.snippets();
                    crlf = built.crlf();
                }
                stopWords = language.stopWords();
            }
            case "next_edit_suggestion" -> {
                Obj seg = segments.orElseThrow(() -> ApiException.badRequest("missing field 'segments'"));
                Obj history = seg.object("edit_history")
                        .orElseThrow(() -> ApiException.badRequest(
                                "missing field 'segments.edit_history' (required in next_edit_suggestion mode)"));
                prompt = Prompt.builder()
                        .template("<|original_code|>\n")
                        .text(history.requiredString("original_code"))
                        .template("\n<|edits_diff|>\n")
                        .text(history.requiredString("edits_diff"))
                        .template("\n<|current_version|>\n")
                        .text(history.requiredString("current_version"))
                        .template("\n<|next_version|>\n")
                        .build();
                stopWords = List.of();
                maxTokens = 2 * MAX_DECODING_TOKENS;
            }
            default -> throw ApiException.badRequest("field 'mode' must be \"standard\" or \"next_edit_suggestion\"");
        }

        long deadline = startNanos + timeoutNanos;
        Admission.Slot slot = admission.enter(deadline - System.nanoTime());
        if (slot == null) throw timeout();
        var request = new TextModel.Request(prompt, maxTokens, temperature, seed);
        GenerationStream.End end;
        String text;
        try (slot;
                var generation = GenerationStream.start(
                        model.model(),
                        request,
                        StopCondition.tabby(stopWords, prompt.text()),
                        deadline,
                        clientGone,
                        tokens::increment)) {
            end = generation.awaitEnd();
            text = generation.text();
        }
        switch (end.ending()) {
            case TIMED_OUT -> throw timeout();
            case CLIENT_GONE -> throw new ApiException(499, "client_closed", "client closed the connection");
            case DONE -> {}
        }
        if (end.outcome().finish() == TextModel.Finish.ERROR) {
            throw new IllegalStateException("generation failed", end.outcome().error());
        }
        if (firstDone.compareAndSet(false, true)) {
            log.info(
                    "first completion in {} ms ({} prompt tokens, {} generated)",
                    (System.nanoTime() - startNanos) / 1_000_000,
                    end.outcome().promptTokens(),
                    end.outcome().generatedTokens());
        }
        if (crlf) text = CompletionPrompt.restoreCrlf(text);

        ObjectNode response = json.createObjectNode();
        response.put("id", "cmpl-" + UUID.randomUUID());
        response.putArray("choices").addObject().put("index", 0).put("text", text);
        response.put("mode", mode);
        if (debug.isPresent()) {
            ObjectNode data = response.putObject("debug_data");
            if (returnSnippets) {
                ArrayNode list = data.putArray("snippets");
                for (var s : snippets)
                    list.addObject()
                            .put("filepath", s.filepath())
                            .put("body", s.body())
                            .put("score", s.score());
            }
            if (returnPrompt) data.put("prompt", prompt.text());
        }
        return response;
    }

    private ApiException timeout() {
        return new ApiException(
                408,
                "timeout",
                "completion did not finish within "
                        + Duration.ofNanos(timeoutNanos).toMillis() + " ms");
    }

    static CompletionPrompt.Segments segments(Obj seg) {
        String prefix = seg.requiredString("prefix");
        Optional<String> suffix = seg.string("suffix");
        Optional<String> filepath = seg.string("filepath");
        Optional<String> gitUrl = seg.string("git_url").filter(u -> !u.isBlank());
        seg.string("clipboard");
        seg.object("edit_history");
        return new CompletionPrompt.Segments(
                prefix,
                suffix,
                snippets(seg, "declarations", false),
                snippets(seg, "relevant_snippets_from_changed_files", true),
                snippets(seg, "relevant_snippets_from_recently_opened_files", true),
                filepath,
                gitUrl);
    }

    private static List<CompletionPrompt.Snippet> snippets(Obj seg, String key, boolean scored) {
        var out = new ArrayList<CompletionPrompt.Snippet>();
        for (Obj s : seg.objects(key)) {
            double score = scored ? s.number("score").orElse(1.0) : 1.0;
            out.add(new CompletionPrompt.Snippet(s.requiredString("filepath"), s.requiredString("body"), score));
        }
        return out;
    }
}
