package dev.catnap.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.catnap.engine.tokenizer.Prompt;
import io.javalin.http.Context;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * {@code POST /v1/chat/completions}: OpenAI's chat API over the chat model. Streams server-sent events like
 * Tabby (which always streams and sends no {@code [DONE]}); answers one JSON object when {@code stream} is
 * explicitly false, as OpenAI clients expect.
 */
final class ChatService {
    static final double DEFAULT_TEMPERATURE = 0.8;
    static final int DEFAULT_MAX_TOKENS = 1024;
    /** How long a chat request may wait for a generation slot before it is refused. */
    private static final long QUEUE_WAIT_NANOS = TimeUnit.MINUTES.toNanos(2);

    private static final long KEEP_ALIVE_NANOS = TimeUnit.SECONDS.toNanos(15);

    private final ChatModel model;
    private final Admission admission;
    private final Counter tokens;
    private final ObjectMapper json;
    private final Clock clock;

    ChatService(ChatModel model, Admission admission, Counter tokens, ObjectMapper json, Clock clock) {
        this.model = model;
        this.admission = admission;
        this.tokens = tokens;
        this.json = json;
        this.clock = clock;
    }

    private static final java.util.regex.Pattern ROLE = java.util.regex.Pattern.compile("[A-Za-z_]{1,32}");

    private record Parsed(
            Prompt prompt, String modelName, boolean stream, TextModel.Request request, List<String> stops) {}

    Parsed parse(Obj body) {
        List<Obj> raw = body.objects("messages");
        if (!body.has("messages")) throw ApiException.badRequest("missing field 'messages'");
        if (raw.isEmpty()) throw ApiException.badRequest("field 'messages' must not be empty");
        var messages = new ArrayList<ChatTemplate.Message>();
        for (Obj m : raw) {
            String role = m.requiredString("role");
            // a role is part of some templates' markers (Phi-3's <|user|>), so it may not carry markup of its own
            if (!ROLE.matcher(role).matches())
                throw ApiException.badRequest(
                        "field '" + m.path() + ".role' must be a role name such as \"user\" (letters and _)");
            messages.add(new ChatTemplate.Message(role, content(m)));
        }
        String modelName = body.string("model").filter(s -> !s.isEmpty()).orElse(model.id());
        boolean stream = body.bool("stream").orElse(true);
        double temperature = body.number("temperature").orElse(DEFAULT_TEMPERATURE);
        if (temperature < 0 || temperature > 2)
            throw ApiException.badRequest("field 'temperature' must be between 0 and 2");
        long seed = body.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE).orElse(clock.millis());
        long maxTokens = body.integer("max_completion_tokens", 1, Integer.MAX_VALUE)
                .orElse(body.integer("max_tokens", 1, Integer.MAX_VALUE).orElse(DEFAULT_MAX_TOKENS));
        int cap = Math.max(1, model.model().maxPositions() / 2);
        var stops = new ArrayList<String>();
        body.raw("stop").ifPresent(s -> {
            if (s.isTextual()) stops.add(s.textValue());
            else if (s.isArray()) {
                for (JsonNode e : s) {
                    if (!e.isTextual())
                        throw ApiException.badRequest("field 'stop' must be a string or an array of strings");
                    stops.add(e.textValue());
                }
            } else throw ApiException.badRequest("field 'stop' must be a string or an array of strings");
        });
        stops.removeIf(String::isEmpty);
        Prompt prompt = model.template().render(messages);
        var request = new TextModel.Request(prompt, (int) Math.min(maxTokens, cap), temperature, seed);
        return new Parsed(prompt, modelName, stream, request, stops);
    }

    /** OpenAI content is a string or a list of parts; only text parts mean anything to a text model. */
    private static String content(Obj message) {
        JsonNode c = message.raw("content").orElse(null);
        if (c == null) return "";
        if (c.isTextual()) return c.textValue();
        if (c.isArray()) {
            var sb = new StringBuilder();
            for (JsonNode part : c) {
                if (part.isObject()
                        && "text".equals(part.path("type").asText())
                        && part.path("text").isTextual()) {
                    sb.append(part.get("text").textValue());
                } else {
                    throw ApiException.badRequest(
                            "field '" + message.path() + ".content' parts must be {\"type\":\"text\",\"text\":...}");
                }
            }
            return sb.toString();
        }
        throw ApiException.badRequest(
                "field '" + message.path() + ".content' must be a string or an array of text parts");
    }

    void chat(Obj body, Context ctx) throws Exception {
        Parsed p = parse(body);
        Admission.Slot slot = admission.enter(QUEUE_WAIT_NANOS);
        if (slot == null)
            throw new ApiException(503, "server_busy", "no chat generation slot became free within 2 minutes");
        try (slot) {
            if (p.stream()) stream(p, ctx);
            else whole(p, ctx);
        }
    }

    private void whole(Parsed p, Context ctx) throws Exception {
        GenerationStream.End end;
        String text;
        try (var generation = GenerationStream.start(
                model.model(),
                p.request(),
                StopCondition.openAi(p.stops()),
                GenerationStream.NEVER,
                ClientWatch.of(ctx),
                tokens::increment)) {
            end = generation.awaitEnd();
            text = generation.text();
        }
        if (end.ending() == GenerationStream.Ending.CLIENT_GONE) return;
        TextModel.Outcome o = end.outcome();
        if (o.finish() == TextModel.Finish.ERROR) throw new IllegalStateException("generation failed", o.error());
        ObjectNode r = json.createObjectNode();
        r.put("id", "chatcmpl-" + UUID.randomUUID());
        r.put("object", "chat.completion");
        r.put("created", clock.millis() / 1000);
        r.put("model", p.modelName());
        ObjectNode choice = r.putArray("choices").addObject();
        choice.put("index", 0);
        choice.putObject("message").put("role", "assistant").put("content", text);
        choice.put("finish_reason", finishReason(o.finish()));
        r.putObject("usage")
                .put("prompt_tokens", o.promptTokens())
                .put("completion_tokens", o.generatedTokens())
                .put("total_tokens", o.promptTokens() + o.generatedTokens());
        ctx.contentType("application/json").result(json.writeValueAsBytes(r));
    }

    private static String finishReason(TextModel.Finish f) {
        return f == TextModel.Finish.LENGTH ? "length" : "stop";
    }

    /** The request thread writes, so a dead socket cancels the generation. */
    private void stream(Parsed p, Context ctx) throws Exception {
        int holdBack = p.stops().stream().mapToInt(String::length).max().orElse(1) - 1;
        try (var generation = GenerationStream.start(
                model.model(),
                p.request(),
                StopCondition.openAi(p.stops()),
                GenerationStream.NEVER,
                null,
                tokens::increment)) {
            String id = "chatcmpl-" + UUID.randomUUID();
            long created = clock.millis() / 1000;
            var res = ctx.res();
            res.setStatus(200);
            res.setContentType("text/event-stream");
            res.setHeader("Cache-Control", "no-cache");
            OutputStream out = res.getOutputStream();
            int sent = 0;
            boolean first = true;
            long lastWrite = System.nanoTime();
            // Bounded: the stream ends every generation (max tokens, end of text, or cancel) with one End.
            while (true) {
                GenerationStream.Event e = generation.next(System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
                try {
                    if (e == null) {
                        if (System.nanoTime() - lastWrite >= KEEP_ALIVE_NANOS) {
                            write(out, ":\n\n");
                            lastWrite = System.nanoTime();
                        }
                        continue;
                    }
                    String text = generation.text();
                    int safe = e instanceof GenerationStream.End || generation.stopped()
                            ? text.length()
                            : Math.max(sent, text.length() - holdBack);
                    if (safe > sent) {
                        write(
                                out,
                                "data: " + chunk(id, created, p.modelName(), text.substring(sent, safe), first, null)
                                        + "\n\n");
                        first = false;
                        sent = safe;
                        lastWrite = System.nanoTime();
                    }
                    if (e instanceof GenerationStream.End end) {
                        if (end.outcome().finish() == TextModel.Finish.ERROR)
                            return; // mid-stream error: the stream just ends
                        write(
                                out,
                                "data: "
                                        + chunk(
                                                id,
                                                created,
                                                p.modelName(),
                                                null,
                                                false,
                                                finishReason(end.outcome().finish()))
                                        + "\n\n");
                        return;
                    }
                } catch (IOException io) {
                    generation.cancel();
                    // wait for the engine to confirm, so the slot is freed only when the sequence is gone
                    generation.awaitEnd();
                    return;
                }
            }
        }
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private String chunk(String id, long created, String modelName, String content, boolean first, String finish) {
        ObjectNode c = json.createObjectNode();
        c.put("id", id);
        c.put("object", "chat.completion.chunk");
        c.put("created", created);
        c.put("model", modelName);
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        if (first) delta.put("role", "assistant");
        if (content != null) delta.put("content", content);
        if (finish == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finish);
        return c.toString();
    }
}
