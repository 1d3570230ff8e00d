package dev.catnap.engine.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes GGUF version 3 files in the layout of llama.cpp's own writer: header, metadata, tensor infos, zero padding to
 * the alignment, then each tensor's data padded to the alignment. Metadata and tensor infos are collected first;
 * {@link #write} then streams the tensor data to disk chunk by chunk, so a model of many gigabytes can be written
 * from a {@link FloatSource} without holding it in memory.
 *
 * <p>Integer metadata must be written with the type llama.cpp expects for the key (it rejects {@code context_length}
 * as INT32 where it wants UINT32): use the typed {@code put} methods.
 */
public final class GGUFWriter {
    /** Produces tensor values in order: fills {@code dst[0..count)} with elements {@code firstElement..+count}. */
    @FunctionalInterface
    public interface FloatSource {
        void fill(long firstElement, float[] dst, int count);
    }

    private static final int VERSION = 3;
    private static final int MAX_NAME_BYTES = 63; // ggml's GGML_MAX_NAME is 64 with the terminating zero
    private static final int FLOAT_CHUNK = 1 << 18;
    private static final long COPY_CHUNK = 8L << 20;

    private sealed interface Data {}

    private record Floats(FloatSource source) implements Data {}

    private record Encoded(MemorySegment bytes) implements Data {}

    private record Tensor(String name, GGMLType type, long[] shape, long elements, long bytes, Data data) {}

    private record Entry(GGUFValueType type, Object value) {}

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    public GGUFWriter() {}

    /**
     * Sets a metadata value of any type. Integers (Byte, Short, Integer or Long) are checked against the type's range
     * (UINT64 takes any long, as raw bits); FLOAT32/FLOAT64 take any Number; BOOL a Boolean; STRING a String; ARRAY a
     * {@link GGUFArray} or a raw array typed by {@link GGUFArray#of}.
     */
    public GGUFWriter put(String key, GGUFValueType type, Object value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(type, "type");
        Object v = switch (type) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                if (!(value instanceof Long
                        || value instanceof Integer
                        || value instanceof Short
                        || value instanceof Byte)) {
                    throw new IllegalArgumentException(
                            "metadata " + key + ": " + type + " needs an integer, got " + GGUFMetadata.describe(value));
                }
                long l = ((Number) value).longValue();
                try {
                    GGUFArray.checkRange(type, l);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("metadata " + key + ": " + e.getMessage());
                }
                yield l;
            }
            case FLOAT32, FLOAT64 -> {
                if (!(value instanceof Number n))
                    throw new IllegalArgumentException(
                            "metadata " + key + ": " + type + " needs a number, got " + GGUFMetadata.describe(value));
                yield n.doubleValue();
            }
            case BOOL -> {
                if (!(value instanceof Boolean))
                    throw new IllegalArgumentException(
                            "metadata " + key + ": BOOL needs a Boolean, got " + GGUFMetadata.describe(value));
                yield value;
            }
            case STRING -> {
                if (!(value instanceof String))
                    throw new IllegalArgumentException(
                            "metadata " + key + ": STRING needs a String, got " + GGUFMetadata.describe(value));
                yield value;
            }
            case ARRAY -> GGUFArray.of(value);
        };
        metadata.put(key, new Entry(type, v));
        return this;
    }

    public GGUFWriter putString(String key, String value) {
        return put(key, GGUFValueType.STRING, value);
    }

    public GGUFWriter putUInt32(String key, long value) {
        return put(key, GGUFValueType.UINT32, value);
    }

    public GGUFWriter putInt32(String key, int value) {
        return put(key, GGUFValueType.INT32, value);
    }

    public GGUFWriter putUInt64(String key, long value) {
        return put(key, GGUFValueType.UINT64, value);
    }

    public GGUFWriter putFloat32(String key, float value) {
        return put(key, GGUFValueType.FLOAT32, value);
    }

    public GGUFWriter putBool(String key, boolean value) {
        return put(key, GGUFValueType.BOOL, value);
    }

    public GGUFWriter putArray(String key, GGUFArray value) {
        return put(key, GGUFValueType.ARRAY, value);
    }

    /**
     * Copies every key of {@code source} with the type it had in its file (arrays nested in arrays are retyped as
     * {@link GGUFArray#of} does, since the reader keeps no inner types).
     */
    public GGUFWriter putAll(GGUFMetadata source) {
        for (String key : source.keys()) {
            Object raw = source.get(key);
            GGUFValueType type = source.type(key);
            if (type == GGUFValueType.ARRAY) {
                GGUFValueType et = source.arrayElementType(key);
                put(
                        key,
                        type,
                        raw instanceof GGUFArray a ? a : et == null ? GGUFArray.of(raw) : new GGUFArray(et, raw));
            } else {
                put(key, type, raw);
            }
        }
        return this;
    }

    public GGUFWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** Sets {@code general.alignment} (UINT32); without it the alignment is 32. */
    public GGUFWriter alignment(int alignment) {
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        return putUInt32("general.alignment", alignment);
    }

    /** Adds a tensor from float values, encoded to {@code type} (see {@link Quantize#supports}) when written. The array is read at {@link #write} time. */
    public GGUFWriter addTensor(String name, GGMLType type, long[] shape, float[] values) {
        long elements = elements(name, shape);
        if (values.length != elements) {
            throw new IllegalArgumentException("tensor " + name + " of shape " + Arrays.toString(shape) + " needs "
                    + elements + " values, got " + values.length);
        }
        return addTensor(
                name, type, shape, (first, dst, count) -> System.arraycopy(values, (int) first, dst, 0, count));
    }

    /** Adds a tensor whose values {@code source} produces, in order, while the file is written. */
    public GGUFWriter addTensor(String name, GGMLType type, long[] shape, FloatSource source) {
        if (!Quantize.supports(type))
            throw new IllegalArgumentException("tensor " + name + ": cannot encode float values as " + type);
        return add(name, type, shape, new Floats(Objects.requireNonNull(source, "source")));
    }

    /** Adds a tensor whose data is already encoded in {@code type}; the segment must stay readable until written. */
    public GGUFWriter addTensor(String name, GGMLType type, long[] shape, MemorySegment encoded) {
        return add(name, type, shape, new Encoded(Objects.requireNonNull(encoded, "encoded")));
    }

    /** Adds a copy of a tensor of another file, unchanged. */
    public GGUFWriter addTensor(GGUFTensor tensor) {
        return addTensor(tensor.name(), tensor.type(), tensor.shape(), tensor.data());
    }

    private GGUFWriter add(String name, GGMLType type, long[] shape, Data data) {
        Objects.requireNonNull(type, "type");
        long elements = elements(name, shape);
        if (shape[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor " + name + ": row of " + shape[0] + " is not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        long bytes = type.bytesFor(elements);
        if (data instanceof Encoded(MemorySegment seg) && seg.byteSize() != bytes) {
            throw new IllegalArgumentException("tensor " + name + ": " + type + " " + Arrays.toString(shape) + " takes "
                    + bytes + " bytes, got " + seg.byteSize());
        }
        if (tensors.containsKey(name)) throw new IllegalArgumentException("duplicate tensor name " + name);
        tensors.put(name, new Tensor(name, type, shape.clone(), elements, bytes, data));
        return this;
    }

    private static long elements(String name, long[] shape) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name must be 1 to " + MAX_NAME_BYTES + " bytes: " + name);
        }
        if (shape.length < 1 || shape.length > 4)
            throw new IllegalArgumentException("tensor " + name + " needs 1 to 4 dimensions, got " + shape.length);
        long n = 1;
        for (long d : shape) {
            if (d <= 0) throw new IllegalArgumentException("tensor " + name + " has dimension " + d);
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Writes one file holding all metadata and tensors, replacing {@code file}. A failed write leaves no file behind. */
    public void write(Path file) throws IOException {
        writePart(file, metadata, List.copyOf(tensors.values()));
    }

    /**
     * Writes a split model as llama.cpp's {@code gguf-split} does: parts named {@code PREFIX-00001-of-0000N.gguf} in
     * {@code directory}, at most {@code maxTensorsPerPart} tensors each, the first with all metadata, every part with
     * {@code split.no} (UINT16), {@code split.count} (UINT16) and {@code split.tensors.count} (INT32).
     *
     * @return the parts, first to last
     */
    public List<Path> writeSplit(Path directory, String prefix, int maxTensorsPerPart) throws IOException {
        if (maxTensorsPerPart < 1) throw new IllegalArgumentException("maxTensorsPerPart must be at least 1");
        List<Tensor> all = List.copyOf(tensors.values());
        int count = Math.max(1, (all.size() + maxTensorsPerPart - 1) / maxTensorsPerPart);
        if (count > 9999)
            throw new IllegalArgumentException(count + " parts are more than the 9999 a split name allows");
        List<Path> parts = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Map<String, Entry> kv = new LinkedHashMap<>();
            if (i == 0) kv.putAll(metadata);
            else if (metadata.containsKey("general.alignment"))
                kv.put("general.alignment", metadata.get("general.alignment"));
            kv.put(GGUFFile.SPLIT_NO, new Entry(GGUFValueType.UINT16, (long) i));
            kv.put(GGUFFile.SPLIT_COUNT, new Entry(GGUFValueType.UINT16, (long) count));
            kv.put(GGUFFile.SPLIT_TENSORS_COUNT, new Entry(GGUFValueType.INT32, (long) all.size()));
            Path part = directory.resolve(String.format("%s-%05d-of-%05d.gguf", prefix, i + 1, count));
            writePart(
                    part,
                    kv,
                    all.subList(
                            Math.min(all.size(), i * maxTensorsPerPart),
                            Math.min(all.size(), (i + 1) * maxTensorsPerPart)));
            parts.add(part);
        }
        return parts;
    }

    private static void writePart(Path file, Map<String, Entry> kv, List<Tensor> list) throws IOException {
        int alignment = GGUFFile.DEFAULT_ALIGNMENT;
        Entry a = kv.get("general.alignment");
        if (a != null) {
            if (!(a.value instanceof Long l) || l <= 0 || l > (1 << 20) || (l & (l - 1)) != 0) {
                throw new IllegalArgumentException(
                        "general.alignment " + a.value + " is not a power of two up to 1 MiB");
            }
            alignment = (int) (long) l;
        }
        Bytes h = new Bytes();
        h.i32(GGUFFile.MAGIC);
        h.i32(VERSION);
        h.i64(list.size());
        h.i64(kv.size());
        for (var e : kv.entrySet()) {
            h.string(e.getKey());
            h.i32(e.getValue().type.id());
            h.value(e.getValue().type, e.getValue().value);
        }
        long offset = 0;
        for (Tensor t : list) {
            h.string(t.name);
            h.i32(t.shape.length);
            for (long d : t.shape) h.i64(d);
            h.i32(t.type.id());
            h.i64(offset);
            offset += alignUp(t.bytes, alignment);
        }
        h.padTo(alignment);
        boolean done = false;
        try (FileChannel ch = FileChannel.open(
                file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(h.buf, 0, h.n));
            ByteBuffer zeros = ByteBuffer.allocate(alignment);
            for (Tensor t : list) {
                writeData(ch, t);
                int pad = (int) (alignUp(ch.position(), alignment) - ch.position());
                writeFully(ch, zeros.clear().limit(pad));
            }
            done = true;
        } finally {
            if (!done) Files.deleteIfExists(file);
        }
    }

    private static void writeData(FileChannel ch, Tensor t) throws IOException {
        long start = ch.position();
        switch (t.data) {
            case Encoded(MemorySegment seg) -> {
                for (long off = 0; off < seg.byteSize(); off += COPY_CHUNK) {
                    writeFully(
                            ch,
                            seg.asSlice(off, Math.min(COPY_CHUNK, seg.byteSize() - off))
                                    .asByteBuffer());
                }
            }
            case Floats(FloatSource source) -> {
                // chunks are whole blocks: rows are whole blocks, so no block straddles two chunks
                int bs = t.type.blockSize();
                int chunk = (int) Math.min(t.elements, Math.max(bs, FLOAT_CHUNK / bs * bs));
                float[] values = new float[chunk];
                byte[] out = new byte[(int) t.type.bytesFor(chunk)];
                MemorySegment outSeg = MemorySegment.ofArray(out);
                for (long first = 0; first < t.elements; first += chunk) {
                    int c = (int) Math.min(chunk, t.elements - first);
                    source.fill(first, values, c);
                    Quantize.quantize(t.type, values, 0, c, outSeg, 0);
                    writeFully(ch, ByteBuffer.wrap(out, 0, (int) t.type.bytesFor(c)));
                }
            }
        }
        if (ch.position() - start != t.bytes)
            throw new IllegalStateException(
                    "tensor " + t.name + ": wrote " + (ch.position() - start) + " bytes, expected " + t.bytes);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static long alignUp(long v, int alignment) {
        return (v + alignment - 1) / alignment * alignment;
    }

    /** A growable little-endian buffer for the header. */
    private static final class Bytes {
        byte[] buf = new byte[1 << 16];
        int n;

        private ByteBuffer room(int bytes) {
            if (buf.length - n < bytes) {
                long want = Math.max((long) buf.length * 2, (long) n + bytes);
                if (want > Integer.MAX_VALUE - 8) throw new IllegalStateException("GGUF header larger than 2 GB");
                buf = Arrays.copyOf(buf, (int) want);
            }
            ByteBuffer b = ByteBuffer.wrap(buf, n, bytes).order(ByteOrder.LITTLE_ENDIAN);
            n += bytes;
            return b;
        }

        void i8(long v) {
            room(1).put((byte) v);
        }

        void i16(long v) {
            room(2).putShort((short) v);
        }

        void i32(long v) {
            room(4).putInt((int) v);
        }

        void i64(long v) {
            room(8).putLong(v);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            room(b.length).put(b);
        }

        void padTo(int alignment) {
            int pad = (int) (alignUp(n, alignment) - n);
            room(pad);
        }

        void value(GGUFValueType type, Object v) {
            switch (type) {
                case UINT8, INT8 -> i8((Long) v);
                case UINT16, INT16 -> i16((Long) v);
                case UINT32, INT32 -> i32((Long) v);
                case UINT64, INT64 -> i64((Long) v);
                case FLOAT32 -> i32(Float.floatToRawIntBits((float) (double) (Double) v));
                case FLOAT64 -> i64(Double.doubleToRawLongBits((Double) v));
                case BOOL -> i8((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> array((GGUFArray) v);
            }
        }

        void array(GGUFArray a) {
            GGUFValueType et = a.elementType();
            int len = a.length();
            i32(et.id());
            i64(len);
            Object values = a.values();
            switch (et) {
                case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                    for (int i = 0; i < len; i++) {
                        long v = GGUFArray.integerAt(values, i, et);
                        switch (et) {
                            case UINT8, INT8 -> i8(v);
                            case UINT16, INT16 -> i16(v);
                            case UINT32, INT32 -> i32(v);
                            default -> i64(v);
                        }
                    }
                }
                case FLOAT32 -> {
                    for (int i = 0; i < len; i++) {
                        float f = values instanceof float[] fa ? fa[i] : (float) ((double[]) values)[i];
                        i32(Float.floatToRawIntBits(f));
                    }
                }
                case FLOAT64 -> {
                    for (int i = 0; i < len; i++) {
                        double d = values instanceof double[] da ? da[i] : ((float[]) values)[i];
                        i64(Double.doubleToRawLongBits(d));
                    }
                }
                case BOOL -> {
                    for (boolean b : (boolean[]) values) i8(b ? 1 : 0);
                }
                case STRING -> {
                    for (Object s : (List<?>) values) string((String) s);
                }
                case ARRAY -> {
                    for (Object inner : (List<?>) values) array((GGUFArray) inner);
                }
            }
        }
    }
}
