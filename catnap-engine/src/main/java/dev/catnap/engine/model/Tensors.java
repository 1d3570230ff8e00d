package dev.catnap.engine.model;

import dev.catnap.engine.backend.Backend;
import dev.catnap.engine.cpu.Rows;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import java.util.Arrays;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Looks up a model's tensors by their llama.cpp names and checks them as they are found: shapes, and whether the
 * device that will multiply by them supports their type.
 */
public final class Tensors {
    private final GGUFFile file;
    private final Predicate<GGMLType> supported;
    private final String supportedList;

    Tensors(GGUFFile file, Backend backend) {
        this(file, backend::supports, Arrays.stream(GGMLType.values()).filter(backend::supports).map(GGMLType::name)
                .collect(Collectors.joining(", ")));
    }

    /** {@code supportedList} names the accepted matrix types in the error for any other. */
    public Tensors(GGUFFile file, Predicate<GGMLType> supported, String supportedList) {
        this.file = file;
        this.supported = supported;
        this.supportedList = supportedList;
    }

    /** A weight matrix of ggml shape [cols, rows], used in place. */
    public GGUFTensor matrix(String name, long cols, long rows) {
        GGUFTensor t = require(name);
        if (t.dim(0) != cols || t.dim(1) != rows) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(t.shape())
                    + ", expected [" + cols + ", " + rows + "]");
        }
        if (!supported.test(t.type())) {
            throw new IllegalArgumentException("tensor " + name + " has type " + t.type()
                    + ", which this engine does not support yet (supported: " + supportedList + ")");
        }
        return t;
    }

    /** A table whose rows are looked up (embeddings): any type the row reader knows. */
    public GGUFTensor table(String name, long cols, long minRows) {
        GGUFTensor t = require(name);
        if (t.dim(0) != cols || t.dim(1) < minRows) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(t.shape())
                    + ", expected [" + cols + ", >=" + minRows + "]");
        }
        if (!Rows.readable(t.type())) {
            throw new IllegalArgumentException("tensor " + name + " has type " + t.type() + ", which this engine cannot read");
        }
        return t;
    }

    /** The output projection: {@code output.weight}, or the token embedding when the model ties them. */
    public GGUFTensor outputHead(long embedding, long vocab) {
        return matrix(has("output.weight") ? "output.weight" : "token_embd.weight", embedding, vocab);
    }

    public boolean has(String name) {
        return file.tensors().containsKey(name);
    }

    /** A small vector (norm weight, bias), copied to the heap as floats. */
    public float[] vector(String name, long length) {
        GGUFTensor t = require(name);
        if (t.elementCount() != length) {
            throw new IllegalArgumentException("tensor " + name + " has " + t.elementCount() + " values, expected " + length);
        }
        return Rows.toFloats(t);
    }

    public float[] optionalVector(String name, long length) {
        return has(name) ? vector(name, length) : null;
    }

    private GGUFTensor require(String name) {
        GGUFTensor t = file.tensors().get(name);
        if (t == null) throw new IllegalArgumentException(file.path().getFileName() + ": tensor " + name + " is missing");
        return t;
    }
}
