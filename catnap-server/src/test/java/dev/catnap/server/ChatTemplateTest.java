package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    /** Tabby's registry template for Qwen2-1.5B-Instruct (the same shape is in the Qwen2 GGUFs). */
    static final String QWEN2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            + "{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}"
            + "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    static final List<ChatTemplate.Message> CHAT = List.of(
            new ChatTemplate.Message("user", "hi"),
            new ChatTemplate.Message("assistant", "hello"),
            new ChatTemplate.Message("user", "fib?"));

    @Test
    void chatMlAddsTheTemplatesDefaultSystemPromptOnlyWhenNoneIsGiven() {
        var t = ChatTemplate.fromJinja(QWEN2);
        assertThat(t.shape()).isEqualTo(ChatTemplate.Shape.CHATML);
        assertThat(text(t, CHAT))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
                        + "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n"
                        + "<|im_start|>user\nfib?<|im_end|>\n<|im_start|>assistant\n");
        assertThat(text(
                        t,
                        List.of(
                                new ChatTemplate.Message("system", "Be terse."),
                                new ChatTemplate.Message("user", "hi"))))
                .isEqualTo(
                        "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
        var plain = ChatTemplate.fromJinja(
                "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n'}}{% endfor %}");
        assertThat(plain.defaultSystemPrompt()).isEmpty();
    }

    @Test
    void otherKnownShapes() {
        var llama3 = ChatTemplate.fromJinja("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}");
        assertThat(text(llama3, List.of(new ChatTemplate.Message("user", " hi "))))
                .isEqualTo(
                        "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
        var gemma = ChatTemplate.fromJinja("{{ '<start_of_turn>' + role + '\n' }}");
        assertThat(text(
                        gemma,
                        List.of(
                                new ChatTemplate.Message("system", "S"),
                                new ChatTemplate.Message("user", "hi"),
                                new ChatTemplate.Message("assistant", "yo"))))
                .isEqualTo(
                        "<start_of_turn>user\nS\n\nhi<end_of_turn>\n<start_of_turn>model\nyo<end_of_turn>\n<start_of_turn>model\n");
        var phi3 = ChatTemplate.fromJinja("{{'<|user|>' + '\n' + message['content'] + '<|end|>'}}");
        assertThat(text(phi3, List.of(new ChatTemplate.Message("user", "hi"))))
                .isEqualTo("<|user|>\nhi<|end|>\n<|assistant|>\n");
        var mistral = ChatTemplate.fromJinja("{{ '[INST] ' + message['content'] + ' [/INST]' }}");
        assertThat(text(mistral, CHAT)).isEqualTo("[INST] hi [/INST] hello</s>[INST] fib? [/INST]");
    }

    @Test
    void unknownTemplatesAreRefusedByName() {
        assertThatThrownBy(() ->
                        ChatTemplate.fromJinja("{{ bos_token }}{% for m in messages %}### {{ m.content }}{% endfor %}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unsupported chat template")
                .hasMessageContaining("ChatML");
    }

    private static String text(ChatTemplate template, List<ChatTemplate.Message> messages) {
        return template.render(messages).text();
    }
}
