package dev.catnap.engine.model;

import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;
import java.util.Arrays;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A model's tensors, looked up by their llama.cpp names, checked as they are found (shape, and whether the device
 * supports the encoding), and made resident by the device: used in place from the mapped file on the CPU, uploaded
 * on CUDA. An architecture names its tensors here once, whatever the device.
 *
 * @param <M> the device's resident matrix
 * @param <V> the device's resident norm weight or bias
 */
public final class Weights<M, V> {
    private final GGUFFile file;
    private final String device;
    private final Set<GGMLType> matrixTypes;
    private final Set<GGMLType> tableTypes;
    private final Function<GGUFTensor, M> residentMatrix;
    private final Function<GGUFTensor, M> residentTable;
    private final Function<float[], V> residentVector;

    /**
     * {@code device} names the device in errors ("CPU", "CUDA"); {@code residentMatrix} makes a checked matrix or
     * table resident, {@code residentVector} a norm weight or bias read as floats.
     */
    public Weights(
            GGUFFile file,
            String device,
            Set<GGMLType> matrixTypes,
            Set<GGMLType> tableTypes,
            Function<GGUFTensor, M> residentMatrix,
            Function<float[], V> residentVector) {
        this(file, device, matrixTypes, tableTypes, residentMatrix, residentMatrix, residentVector);
    }

    /** As above, with tables made resident by {@code residentTable} rather than as matrices are. */
    private Weights(
            GGUFFile file,
            String device,
            Set<GGMLType> matrixTypes,
            Set<GGMLType> tableTypes,
            Function<GGUFTensor, M> residentMatrix,
            Function<GGUFTensor, M> residentTable,
            Function<float[], V> residentVector) {
        this.file = file;
        this.device = device;
        this.matrixTypes = Set.copyOf(matrixTypes);
        this.tableTypes = Set.copyOf(tableTypes);
        this.residentMatrix = residentMatrix;
        this.residentTable = residentTable;
        this.residentVector = residentVector;
    }

    /**
     * Weights used in place from the mapped file, norms and biases copied to the heap as floats: the CPU's. Tables
     * may be any encoding {@link Dequantize} decodes.
     */
    public static Weights<GGUFTensor, float[]> inPlace(GGUFFile file, Set<GGMLType> matrixTypes) {
        return inPlace(file, matrixTypes, t -> {});
    }

    /**
     * {@link #inPlace(GGUFFile, Set)}, with every matrix (not the tables) handed to {@code prepareMatrix} as it is
     * loaded: for a backend that keeps some weights in a layout of its own.
     */
    public static Weights<GGUFTensor, float[]> inPlace(
            GGUFFile file, Set<GGMLType> matrixTypes, Consumer<GGUFTensor> prepareMatrix) {
        Function<GGUFTensor, GGUFTensor> prepared = t -> {
            prepareMatrix.accept(t);
            return t;
        };
        return new Weights<>(file, "CPU", matrixTypes, Dequantize.types(), prepared, t -> t, v -> v);
    }

    /** A weight matrix of ggml shape [cols, rows]: {@code cols} inputs to {@code rows} outputs. */
    public M matrix(String name, long cols, long rows) {
        return residentMatrix.apply(checkedMatrix(name, cols, rows));
    }

    /** A table whose rows are looked up by id (embeddings), at least {@code minRows} rows of {@code cols}. */
    public M table(String name, long cols, long minRows) {
        GGUFTensor t = require(name);
        if (t.dim(0) != cols || t.dim(1) < minRows) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(t.shape())
                    + ", expected [" + cols + ", >=" + minRows + "]");
        }
        checkType(t, tableTypes);
        return residentTable.apply(t);
    }

    /** The output projection: {@code output.weight}, or the token embedding when the model ties them. */
    public M outputHead(long embedding, long vocab) {
        return matrix(has("output.weight") ? "output.weight" : "token_embd.weight", embedding, vocab);
    }

    public boolean has(String name) {
        return file.tensors().containsKey(name);
    }

    /** A norm weight or bias of {@code length} values. */
    public V vector(String name, long length) {
        GGUFTensor t = require(name);
        if (t.elementCount() != length) {
            throw new IllegalArgumentException(
                    "tensor " + name + " has " + t.elementCount() + " values, expected " + length);
        }
        return residentVector.apply(Dequantize.dequantize(t));
    }

    /** As {@link #vector}, or null when the model has none (a bias some checkpoints of an architecture omit). */
    public V optionalVector(String name, long length) {
        return has(name) ? vector(name, length) : null;
    }

    private GGUFTensor checkedMatrix(String name, long cols, long rows) {
        GGUFTensor t = require(name);
        if (t.dim(0) != cols || t.dim(1) != rows) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(t.shape())
                    + ", expected [" + cols + ", " + rows + "]");
        }
        checkType(t, matrixTypes);
        return t;
    }

    private void checkType(GGUFTensor t, Set<GGMLType> supported) {
        if (!supported.contains(t.type())) {
            throw new IllegalArgumentException("tensor " + t.name() + " has type " + t.type() + ", which the " + device
                    + " engine does not support yet (supported: " + names(supported) + ")");
        }
    }

    /** The names of {@code types} in declaration order, for messages. */
    public static String names(Set<GGMLType> types) {
        return Arrays.stream(GGMLType.values())
                .filter(types::contains)
                .map(GGMLType::name)
                .collect(Collectors.joining(", "));
    }

    private GGUFTensor require(String name) {
        GGUFTensor t = file.tensors().get(name);
        if (t == null)
            throw new IllegalArgumentException(file.path().getFileName() + ": tensor " + name + " is missing");
        return t;
    }
}
