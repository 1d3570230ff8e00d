package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SizeConverterTest {
    @Test
    void sizesAreBytesOrPowersOf1024() {
        assertThat(SizeConverter.parse("1048576")).isEqualTo(1 << 20);
        assertThat(SizeConverter.parse("512k")).isEqualTo(512 * 1024);
        assertThat(SizeConverter.parse("1m")).isEqualTo(1 << 20);
        assertThat(SizeConverter.parse(" 4MiB ")).isEqualTo(4 << 20);
        assertThat(SizeConverter.parse("1G")).isEqualTo(1 << 30);
        assertThat(SizeConverter.parse("16kb")).isEqualTo(16 * 1024);
    }

    @Test
    void zeroNegativeHugeAndWordsAreRefused() {
        for (String bad : new String[] {"0", "-1", "lots", "1t", "2g", "99999999999999999999", "1.5m"}) {
            assertThatThrownBy(() -> SizeConverter.parse(bad))
                    .as(bad)
                    .isInstanceOf(CommandLine.TypeConversionException.class);
        }
    }
}
