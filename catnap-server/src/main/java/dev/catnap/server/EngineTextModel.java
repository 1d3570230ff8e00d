package dev.catnap.server;

import dev.catnap.engine.FinishReason;
import dev.catnap.engine.GenerationHandle;
import dev.catnap.engine.GenerationRequest;
import dev.catnap.engine.LanguageModel;
import dev.catnap.engine.SamplingParams;
import dev.catnap.engine.TokenSink;
import dev.catnap.engine.tokenizer.SpecialTokens;
import dev.catnap.engine.tokenizer.StreamingDecoder;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@link TextModel} over Catnap's engine: tokenizes the prompt (special-token text of its template parts becomes
 * special tokens, as llama-server does; the user's text never does), clips it from the front so prompt + new tokens fit the positions the model allows a sequence
 * (asked once: the context or the KV-cache budget, whichever is smaller), samples with Tabby's
 * settings, and decodes tokens to text without splitting UTF-8 sequences. End-of-generation tokens end the
 * text and are not shown.
 */
public final class EngineTextModel implements TextModel {
    private final LanguageModel model;
    private final Tokenizer tokenizer;

    public EngineTextModel(LanguageModel model) {
        this.model = model;
        this.tokenizer = model.tokenizer();
    }

    @Override
    public int maxPositions() {
        return model.maxPositions();
    }

    @Override
    public Handle generate(Request request, Sink sink) {
        int[] prompt = tokenizer.encode(request.prompt(), true);
        if (prompt.length == 0) {
            sink.finished(new Outcome(Finish.END_OF_TEXT, 0, 0, null));
            return () -> {};
        }
        int context = model.maxPositions();
        int maxNew = Math.min(request.maxNewTokens(), Math.max(1, context - 1));
        prompt = fit(prompt, context - maxNew, tokenizer.specialTokens());
        SamplingParams sampling = SamplingParams.tabbyDefaults()
                .withTemperature((float) request.temperature())
                .withSeed(request.seed());
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        var sinkAdapter = new TokenSink() {
            int generated;
            int promptTokens;

            @Override
            public boolean accept(int token) {
                generated++;
                if (tokenizer.isEndOfGeneration(token)) return true; // the engine ends the generation after it
                return sink.accept(decoder.push(token));
            }

            @Override
            public void finished(FinishReason reason, Throwable errorOrNull) {
                if (reason != FinishReason.ERROR && reason != FinishReason.CANCELLED) {
                    String rest = decoder.flush();
                    if (!rest.isEmpty()) sink.accept(rest);
                }
                sink.finished(new Outcome(finish(reason), promptTokens, generated, errorOrNull));
            }
        };
        sinkAdapter.promptTokens = prompt.length;
        GenerationHandle handle = model.submit(new GenerationRequest(prompt, maxNew, sampling), sinkAdapter);
        return handle::cancel;
    }

    /** Keeps the last {@code room} tokens, and a leading BOS when the vocabulary adds one. */
    static int[] fit(int[] prompt, int room, SpecialTokens special) {
        if (prompt.length <= room) return prompt;
        boolean keepBos = special.addBos() && special.bos() >= 0 && prompt[0] == special.bos() && room > 1;
        int[] tail = Arrays.copyOfRange(prompt, prompt.length - (keepBos ? room - 1 : room), prompt.length);
        if (!keepBos) return tail;
        int[] out = new int[room];
        out[0] = special.bos();
        System.arraycopy(tail, 0, out, 1, tail.length);
        return out;
    }

    private static Finish finish(FinishReason reason) {
        return switch (reason) {
            case END_OF_GENERATION -> Finish.END_OF_TEXT;
            case LENGTH -> Finish.LENGTH;
            case STOPPED -> Finish.STOPPED;
            case CANCELLED -> Finish.CANCELLED;
            case ERROR -> Finish.ERROR;
        };
    }

    /**
     * The FIM template the vocabulary implies: its FIM special tokens (from GGUF metadata), else the first
     * known marker triple (StarCoder, Qwen2.5-Coder/CodeGemma, CodeLlama) whose tokens it has.
     */
    public static Optional<String> fimTemplate(Tokenizer tokenizer) {
        SpecialTokens s = tokenizer.specialTokens();
        if (s.fimPrefix() >= 0 && s.fimSuffix() >= 0 && s.fimMiddle() >= 0) {
            return Optional.of(text(tokenizer, s.fimPrefix()) + "{prefix}" + text(tokenizer, s.fimSuffix()) + "{suffix}"
                    + text(tokenizer, s.fimMiddle()));
        }
        for (List<String> triple : List.of(
                List.of("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
                List.of("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"))) {
            if (triple.stream().allMatch(t -> tokenizer.tokenId(t).isPresent())) {
                return Optional.of(triple.get(0) + "{prefix}" + triple.get(1) + "{suffix}" + triple.get(2));
            }
        }
        if (tokenizer.tokenId("<PRE>").isPresent()
                && tokenizer.tokenId("<SUF>").isPresent()
                && tokenizer.tokenId("<MID>").isPresent()) {
            return Optional.of("<PRE> {prefix} <SUF>{suffix} <MID>");
        }
        return Optional.empty();
    }

    private static String text(Tokenizer tokenizer, int id) {
        return new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        model.close();
    }
}
