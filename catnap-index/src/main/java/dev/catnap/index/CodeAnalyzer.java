package dev.catnap.index;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.core.FlattenGraphFilter;
import org.apache.lucene.analysis.miscellaneous.LengthFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter;
import org.apache.lucene.analysis.util.CharTokenizer;

/**
 * Code tokens for BM25: runs of letters, digits and underscores, each kept whole and also split on camelCase,
 * snake_case and letter/digit changes ({@code parseHttpURL2} gives {@code parsehttpurl2 parse http url 2}),
 * lower-cased; one-character tokens are dropped.
 */
final class CodeAnalyzer extends Analyzer {
    private static final int FLAGS = WordDelimiterGraphFilter.GENERATE_WORD_PARTS
            | WordDelimiterGraphFilter.GENERATE_NUMBER_PARTS
            | WordDelimiterGraphFilter.SPLIT_ON_CASE_CHANGE
            | WordDelimiterGraphFilter.SPLIT_ON_NUMERICS
            | WordDelimiterGraphFilter.PRESERVE_ORIGINAL;

    @Override
    protected TokenStreamComponents createComponents(String field) {
        Tokenizer tokens = CharTokenizer.fromTokenCharPredicate(c -> Character.isLetterOrDigit(c) || c == '_');
        // the word parts form a graph; the index stores flat positions
        TokenStream stream = new FlattenGraphFilter(new WordDelimiterGraphFilter(tokens, FLAGS, null));
        stream = new LowerCaseFilter(stream);
        stream = new LengthFilter(stream, 2, 64);
        return new TokenStreamComponents(tokens, stream);
    }
}
