package dev.catnap.engine.batch;

import dev.catnap.engine.ContextOverflowException;
import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.FinishReason;
import dev.catnap.engine.GenerationHandle;
import dev.catnap.engine.GenerationRequest;
import dev.catnap.engine.LanguageModel;
import dev.catnap.engine.TokenSink;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFMetadata;
import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.SequenceCache;
import dev.catnap.engine.sampling.Sampler;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A language model behind a continuous batch. One decode thread owns the model: each step it admits waiting
 * sequences (up to {@code maxSequences}, within the KV budget), drops cancelled ones, and runs one forward pass over
 * one new token of every decoding sequence plus a chunk of the prompts still being read. Sequences join and leave
 * between steps.
 */
public final class BatchedModel implements LanguageModel {
    private static final Logger log = LoggerFactory.getLogger(BatchedModel.class);
    /** Rows per forward pass: bounds the activation memory and the latency a long prompt adds to others' steps. */
    private static final int MAX_ROWS = 256;

    private final GGUFFile file;
    private final Tokenizer tokenizer;
    private final Decoder decoder;
    private final EngineOptions options;
    private final LinkedBlockingQueue<Sequence> incoming = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closed;

    private BatchedModel(GGUFFile file, Tokenizer tokenizer, Decoder decoder, EngineOptions options) {
        this.file = file;
        this.tokenizer = tokenizer;
        this.decoder = decoder;
        this.options = options;
        this.thread = Thread.ofPlatform().name("catnap-decode").daemon().unstarted(this::loop);
        thread.start();
    }

    /**
     * A model over an open file with a given tokenizer and the file's decoder (built by the engine for a device); the
     * model closes both.
     */
    public static BatchedModel create(GGUFFile file, Tokenizer tokenizer, Decoder decoder, EngineOptions options) {
        log.info(
                "loaded {} model {} ({} layers, context {}) on {}",
                file.metadata().architecture(),
                file.path().getFileName(),
                decoder.config().layers(),
                decoder.config().contextLength(),
                decoder.description());
        return new BatchedModel(file, tokenizer, decoder, options);
    }

    @Override
    public String architecture() {
        return decoder.config().architecture().id();
    }

    @Override
    public int contextLength() {
        return decoder.config().contextLength();
    }

    @Override
    public int maxPositions() {
        return (int) Math.min(contextLength(), options.kvCacheBudgetBytes() / decoder.cacheBytesPerPosition());
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public GGUFMetadata metadata() {
        return file.metadata();
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, TokenSink sink) {
        int[] prompt = request.promptTokens();
        int vocab = decoder.config().vocabSize();
        for (int id : prompt) {
            if (id < 0 || id >= vocab)
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + vocab);
        }
        long positions = (long) prompt.length + request.maxNewTokens();
        if (positions > maxPositions()) {
            if (positions > contextLength()) {
                throw ContextOverflowException.of(prompt.length, request.maxNewTokens(), contextLength());
            }
            throw new ContextOverflowException(
                    (int) positions,
                    maxPositions(),
                    "prompt plus max new tokens (" + positions + ") needs "
                            + positions * decoder.cacheBytesPerPosition() / (1 << 20)
                            + " MiB of KV cache, more than the budget of " + options.kvCacheBudgetBytes() / (1 << 20)
                            + " MiB");
        }
        if (closed) throw new IllegalStateException("the model is closed");
        var seq = new Sequence(prompt, request.maxNewTokens(), new Sampler(request.sampling()), sink);
        incoming.add(seq);
        return seq;
    }

    private static final class Sequence implements GenerationHandle {
        final int[] prompt;
        final int maxNewTokens;
        final Sampler sampler;
        final TokenSink sink;
        volatile boolean cancelled;
        SequenceCache cache;
        int position; // tokens already in the cache
        int generated;
        int lastToken = -1;

        Sequence(int[] prompt, int maxNewTokens, Sampler sampler, TokenSink sink) {
            this.prompt = prompt;
            this.maxNewTokens = maxNewTokens;
            this.sampler = sampler;
            this.sink = sink;
            for (int t : prompt) sampler.accept(t);
        }

        int positions() {
            return prompt.length + maxNewTokens;
        }

        boolean prefilling() {
            return position < prompt.length;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    private void loop() {
        List<Sequence> waiting = new ArrayList<>();
        List<Sequence> active = new ArrayList<>();
        long cacheBytesInUse = 0;
        float[] logits = new float[0];
        try {
            while (!closed) {
                if (waiting.isEmpty() && active.isEmpty()) {
                    Sequence s = incoming.poll(200, TimeUnit.MILLISECONDS);
                    if (s != null) waiting.add(s);
                }
                incoming.drainTo(waiting);

                for (var it = waiting.iterator(); it.hasNext(); ) {
                    Sequence s = it.next();
                    if (s.cancelled) {
                        it.remove();
                        finish(s, FinishReason.CANCELLED, null);
                    }
                }
                for (var it = active.iterator(); it.hasNext(); ) {
                    Sequence s = it.next();
                    if (s.cancelled) {
                        it.remove();
                        cacheBytesInUse -= release(s);
                        finish(s, FinishReason.CANCELLED, null);
                    }
                }
                while (!waiting.isEmpty() && active.size() < options.maxSequences()) {
                    Sequence s = waiting.getFirst();
                    long bytes = s.positions() * decoder.cacheBytesPerPosition();
                    if (!active.isEmpty() && cacheBytesInUse + bytes > options.kvCacheBudgetBytes()) break;
                    waiting.removeFirst();
                    s.cache = decoder.newCache(s.positions());
                    cacheBytesInUse += bytes;
                    active.add(s);
                }
                if (active.isEmpty()) continue;

                // One row per decoding sequence, then prompt chunks in arrival order.
                int rows = 0;
                int[] want = new int[active.size()];
                for (int i = 0; i < active.size(); i++) {
                    want[i] = active.get(i).prefilling() ? 0 : 1;
                    rows += want[i];
                }
                for (int i = 0; i < active.size() && rows < MAX_ROWS; i++) {
                    Sequence s = active.get(i);
                    if (!s.prefilling()) continue;
                    want[i] = Math.min(s.prompt.length - s.position, MAX_ROWS - rows);
                    rows += want[i];
                }
                int[] tokens = new int[rows];
                int[] positions = new int[rows];
                SequenceCache[] caches = new SequenceCache[rows];
                List<Sequence> sampled = new ArrayList<>();
                int[] logitRows = new int[active.size()];
                int r = 0;
                for (int i = 0; i < active.size(); i++) {
                    Sequence s = active.get(i);
                    for (int j = 0; j < want[i]; j++, r++) {
                        tokens[r] = s.prefilling() ? s.prompt[s.position] : s.lastToken;
                        positions[r] = s.position;
                        caches[r] = s.cache;
                        s.position++;
                    }
                    if (want[i] > 0 && !s.prefilling()) {
                        logitRows[sampled.size()] = r - 1;
                        sampled.add(s);
                    }
                }
                int vocab = decoder.config().vocabSize();
                if (logits.length < sampled.size() * vocab) logits = new float[sampled.size() * vocab];
                decoder.forward(tokens, positions, caches, Arrays.copyOf(logitRows, sampled.size()), logits);

                for (int i = 0; i < sampled.size(); i++) {
                    Sequence s = sampled.get(i);
                    int token = s.sampler.sample(logits, i * vocab, vocab);
                    s.sampler.accept(token);
                    s.lastToken = token;
                    s.generated++;
                    FinishReason reason = null;
                    Throwable error = null;
                    try {
                        if (!s.sink.accept(token)) reason = FinishReason.STOPPED;
                    } catch (RuntimeException e) {
                        reason = FinishReason.ERROR;
                        error = e;
                    }
                    if (reason == null && tokenizer != null && tokenizer.isEndOfGeneration(token))
                        reason = FinishReason.END_OF_GENERATION;
                    if (reason == null && s.generated >= s.maxNewTokens) reason = FinishReason.LENGTH;
                    if (reason != null) {
                        active.remove(s);
                        cacheBytesInUse -= release(s);
                        finish(s, reason, error);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            log.error(
                    "decode step failed; ending {} sequences and refusing further requests",
                    active.size() + waiting.size(),
                    e);
            for (Sequence s : active) finish(s, FinishReason.ERROR, e);
            for (Sequence s : waiting) finish(s, FinishReason.ERROR, e);
            active.clear();
            waiting.clear();
            // The model state may be inconsistent; refuse further work rather than return wrong tokens.
            closed = true;
        }
        for (Sequence s : active) finish(s, FinishReason.CANCELLED, null);
        for (Sequence s : waiting) finish(s, FinishReason.CANCELLED, null);
        Sequence s;
        while ((s = incoming.poll()) != null) finish(s, FinishReason.CANCELLED, null);
    }

    private long release(Sequence s) {
        if (s.cache != null) s.cache.close();
        s.cache = null;
        return s.positions() * decoder.cacheBytesPerPosition();
    }

    private static void finish(Sequence s, FinishReason reason, Throwable error) {
        try {
            s.sink.finished(reason, error);
        } catch (RuntimeException e) {
            log.warn("token sink failed in finished(): {}", e.toString());
        }
    }

    @Override
    public void close() {
        if (thread.isAlive()) {
            closed = true;
            try {
                thread.join(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closed = true;
        Sequence s;
        while ((s = incoming.poll()) != null) finish(s, FinishReason.CANCELLED, null);
        decoder.close();
        file.close();
    }
}
