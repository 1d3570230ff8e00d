package dev.catnap.engine.model;

import dev.catnap.engine.backend.Backend;
import dev.catnap.engine.cpu.Rows;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;

/** Looks up a model's tensors by their llama.cpp names and checks them as they are found. */
final class Tensors {
    private final GGUFFile file;
    private final Backend backend;

    Tensors(GGUFFile file, Backend backend) {
        this.file = file;
        this.backend = backend;
    }

    /** A weight matrix of ggml shape [cols, rows], used in place. */
    GGUFTensor matrix(String name, long cols, long rows) {
        GGUFTensor t = require(name);
        if (t.dim(0) != cols || t.dim(1) != rows) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + java.util.Arrays.toString(t.shape())
                    + ", expected [" + cols + ", " + rows + "]");
        }
        if (!backend.supports(t.type())) {
            throw new IllegalArgumentException("tensor " + name + " has type " + t.type()
                    + ", which this engine does not support yet (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
        }
        return t;
    }

    /** A table whose rows are looked up (embeddings): any type the row reader knows. */
    GGUFTensor table(String name, long cols, long minRows) {
        GGUFTensor t = require(name);
        if (t.dim(0) != cols || t.dim(1) < minRows) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + java.util.Arrays.toString(t.shape())
                    + ", expected [" + cols + ", >=" + minRows + "]");
        }
        if (!Rows.readable(t.type())) {
            throw new IllegalArgumentException("tensor " + name + " has type " + t.type() + ", which this engine cannot read");
        }
        return t;
    }

    /** The output projection: {@code output.weight}, or the token embedding when the model ties them. */
    GGUFTensor outputHead(long embedding, long vocab) {
        return matrix(has("output.weight") ? "output.weight" : "token_embd.weight", embedding, vocab);
    }

    boolean has(String name) {
        return file.tensors().containsKey(name);
    }

    /** A small vector (norm weight, bias), copied to the heap as floats. */
    float[] vector(String name, long length) {
        GGUFTensor t = require(name);
        if (t.elementCount() != length) {
            throw new IllegalArgumentException("tensor " + name + " has " + t.elementCount() + " values, expected " + length);
        }
        return Rows.toFloats(t);
    }

    float[] optionalVector(String name, long length) {
        return has(name) ? vector(name, length) : null;
    }

    private GGUFTensor require(String name) {
        GGUFTensor t = file.tensors().get(name);
        if (t == null) throw new IllegalArgumentException(file.path().getFileName() + ": tensor " + name + " is missing");
        return t;
    }
}
