package dev.catnap.server;

import dev.catnap.engine.tokenizer.Prompt;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A chat model's prompt format. Chat templates ship as Jinja source (GGUF {@code tokenizer.chat_template}
 * or Tabby's {@code tabby.json}); rather than embedding a Jinja interpreter, the template's shape is
 * recognised by its marker tokens and rendered by the matching fixed renderer. ChatML templates
 * (Qwen, Tabby's registry) keep their literal default system prompt. An unrecognised template is refused
 * at startup, naming the supported shapes.
 */
public record ChatTemplate(Shape shape, Optional<String> defaultSystemPrompt) {

    public enum Shape {
        CHATML,
        LLAMA3,
        GEMMA,
        PHI3,
        MISTRAL
    }

    public record Message(String role, String content) {}

    private static final Pattern CHATML_SYSTEM =
            Pattern.compile("<\\|im_start\\|>system(?:\\\\n|\\n)(.*?)<\\|im_end\\|>", Pattern.DOTALL);

    /** Recognises a Jinja chat template; IllegalArgumentException if its shape is not one of {@link Shape}. */
    public static ChatTemplate fromJinja(String jinja) {
        if (jinja.contains("<|im_start|>")) {
            var m = CHATML_SYSTEM.matcher(jinja);
            Optional<String> system = Optional.empty();
            while (m.find()) {
                String text = m.group(1);
                // A literal default prompt; the dynamic "system + message content" part is not one.
                if (!text.isEmpty() && !text.contains("'") && !text.contains("{") && !text.contains("+")) {
                    system = Optional.of(text.replace("\\n", "\n"));
                    break;
                }
            }
            return new ChatTemplate(Shape.CHATML, system);
        }
        if (jinja.contains("<|start_header_id|>")) return new ChatTemplate(Shape.LLAMA3, Optional.empty());
        if (jinja.contains("<start_of_turn>")) return new ChatTemplate(Shape.GEMMA, Optional.empty());
        if (jinja.contains("<|user|>") && jinja.contains("<|end|>"))
            return new ChatTemplate(Shape.PHI3, Optional.empty());
        if (jinja.contains("[INST]")) return new ChatTemplate(Shape.MISTRAL, Optional.empty());
        String head = jinja.length() > 60 ? jinja.substring(0, 60) + "..." : jinja;
        throw new IllegalArgumentException(
                "unsupported chat template (supported: ChatML, Llama 3, Gemma, Phi-3, Mistral [INST]): "
                        + head.replace("\n", "\\n"));
    }

    /**
     * The prompt for the next assistant turn: the template's markers as template parts, roles and contents as text
     * parts (a message that quotes {@code <|im_end|>} does not end its turn). The tokenizer adds BOS where the
     * vocabulary asks for it.
     */
    public Prompt render(List<Message> messages) {
        var sb = Prompt.builder();
        switch (shape) {
            case CHATML -> {
                if (defaultSystemPrompt.isPresent()
                        && (messages.isEmpty() || !messages.getFirst().role().equals("system"))) {
                    sb.template("<|im_start|>system\n")
                            .text(defaultSystemPrompt.get())
                            .template("<|im_end|>\n");
                }
                for (Message m : messages)
                    sb.template("<|im_start|>")
                            .text(m.role())
                            .template("\n")
                            .text(m.content())
                            .template("<|im_end|>\n");
                sb.template("<|im_start|>assistant\n");
            }
            case LLAMA3 -> {
                for (Message m : messages) {
                    sb.template("<|start_header_id|>")
                            .text(m.role())
                            .template("<|end_header_id|>\n\n")
                            .text(m.content().strip())
                            .template("<|eot_id|>");
                }
                sb.template("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
            case GEMMA -> {
                String pendingSystem = "";
                for (Message m : messages) {
                    if (m.role().equals("system")) {
                        pendingSystem += m.content().strip() + "\n\n";
                        continue;
                    }
                    String role = m.role().equals("assistant") ? "model" : m.role();
                    String content = role.equals("user")
                            ? pendingSystem + m.content().strip()
                            : m.content().strip();
                    if (role.equals("user")) pendingSystem = "";
                    sb.template("<start_of_turn>")
                            .text(role)
                            .template("\n")
                            .text(content)
                            .template("<end_of_turn>\n");
                }
                sb.template("<start_of_turn>model\n");
            }
            case PHI3 -> {
                for (Message m : messages)
                    sb.template("<|" + m.role() + "|>\n").text(m.content()).template("<|end|>\n");
                sb.template("<|assistant|>\n");
            }
            case MISTRAL -> {
                String pendingSystem = "";
                for (Message m : messages) {
                    switch (m.role()) {
                        case "system" -> pendingSystem += m.content().strip() + "\n\n";
                        case "assistant" ->
                            sb.template(" ").text(m.content().strip()).template("</s>");
                        default -> {
                            sb.template("[INST] ")
                                    .text(pendingSystem + m.content().strip())
                                    .template(" [/INST]");
                            pendingSystem = "";
                        }
                    }
                }
            }
        }
        return sb.build();
    }
}
