package dev.catnap.engine.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A GGUF model, memory-mapped read-only. Metadata and tensor infos are parsed at open; tensor data stays in the
 * mapping and is read in place. Closing unmaps the file: tensors must not be used afterwards.
 *
 * <p>A split model ({@code NAME-00001-of-00003.gguf}, as written by llama.cpp's {@code gguf-split}) is opened whole by
 * naming any of its parts: every part is mapped, {@link #tensors()} holds the tensors of all parts in part order, and
 * {@link #metadata()} is the first part's (which carries the model's keys). {@link #path()}, {@link #version()},
 * {@link #dataOffset()} and {@link #alignment()} describe the first part; {@link #parts()} lists all.
 */
public final class GGUFFile implements AutoCloseable {
    static final int MAGIC = 0x46554747; // "GGUF" little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    static final String SPLIT_NO = "split.no";
    static final String SPLIT_COUNT = "split.count";
    static final String SPLIT_TENSORS_COUNT = "split.tensors.count";
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MAX_DIMS = 4;
    private static final long MAX_STRING = 1L << 24;
    private static final int MAX_SPLITS = 9999;
    private static final Pattern SPLIT_NAME = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    private final List<Path> parts;
    private final Arena arena;
    private final int version;
    private final GGUFMetadata metadata;
    private final Map<String, GGUFTensor> tensors;
    private final Map<String, Long> offsets;
    private final long dataOffset;
    private final int alignment;

    private GGUFFile(
            List<Path> parts,
            Arena arena,
            int version,
            GGUFMetadata metadata,
            Map<String, GGUFTensor> tensors,
            Map<String, Long> offsets,
            long dataOffset,
            int alignment) {
        this.parts = List.copyOf(parts);
        this.arena = arena;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.offsets = offsets;
        this.dataOffset = dataOffset;
        this.alignment = alignment;
    }

    /**
     * Opens and maps {@code path}, and the other parts too when it is part of a split model. Any structural problem is
     * a {@link GGUFFormatException} naming the file; a missing file is a {@link java.nio.file.NoSuchFileException}.
     */
    public static GGUFFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            Part first = Part.read(path, arena);
            int count = first.splitCount();
            if (count <= 1) {
                return new GGUFFile(
                        List.of(path),
                        arena,
                        first.version,
                        first.metadata,
                        first.tensors,
                        first.offsets,
                        first.dataOffset,
                        first.alignment);
            }
            return openSplit(path, first, count, arena);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static GGUFFile openSplit(Path path, Part given, int count, Arena arena) throws IOException {
        if (count > MAX_SPLITS) throw new GGUFFormatException(path, SPLIT_COUNT + " " + count + " is absurd");
        Matcher m = SPLIT_NAME.matcher(path.getFileName().toString());
        int no = given.splitNo();
        if (!m.matches() || Integer.parseInt(m.group(2)) != no + 1 || Integer.parseInt(m.group(3)) != count) {
            throw new GGUFFormatException(
                    path,
                    "is part " + (no + 1) + " of a split model of " + count + " but is not named PREFIX-"
                            + String.format("%05d-of-%05d.gguf", no + 1, count));
        }
        List<Path> paths = new ArrayList<>(count);
        List<Part> parts = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Path p = path.resolveSibling(String.format("%s-%05d-of-%05d.gguf", m.group(1), i + 1, count));
            if (i != no && !Files.exists(p)) {
                throw new GGUFFormatException(path, "part " + (i + 1) + " of this split model is missing: " + p);
            }
            Part part = i == no ? given : Part.read(p, arena);
            if (part.splitNo() != i || part.splitCount() != count) {
                throw new GGUFFormatException(
                        p,
                        "expected part " + (i + 1) + " of " + count + " but its " + SPLIT_NO + "/" + SPLIT_COUNT
                                + " say part " + (part.splitNo() + 1) + " of " + part.splitCount());
            }
            paths.add(p);
            parts.add(part);
        }
        Part first = parts.getFirst();
        Map<String, GGUFTensor> tensors = new LinkedHashMap<>();
        Map<String, Long> offsets = new HashMap<>();
        for (int i = 0; i < count; i++) {
            for (GGUFTensor t : parts.get(i).tensors.values()) {
                if (tensors.put(t.name(), t) != null)
                    throw new GGUFFormatException(paths.get(i), "tensor " + t.name() + " is also in an earlier part");
                offsets.put(t.name(), parts.get(i).offsets.get(t.name()));
            }
        }
        long expected = first.metadata.getLong(SPLIT_TENSORS_COUNT, tensors.size());
        if (expected != tensors.size()) {
            throw new GGUFFormatException(
                    paths.getFirst(),
                    SPLIT_TENSORS_COUNT + " is " + expected + " but the " + count + " parts hold " + tensors.size()
                            + " tensors");
        }
        return new GGUFFile(
                paths,
                arena,
                first.version,
                first.metadata,
                Collections.unmodifiableMap(tensors),
                offsets,
                first.dataOffset,
                first.alignment);
    }

    /** The first (or only) part's path. */
    public Path path() {
        return parts.getFirst();
    }

    /** Every file of the model: one for a plain GGUF, all parts in order for a split model. */
    public List<Path> parts() {
        return parts;
    }

    public int version() {
        return version;
    }

    public GGUFMetadata metadata() {
        return metadata;
    }

    /** Tensors by name, in file order. */
    public Map<String, GGUFTensor> tensors() {
        return tensors;
    }

    public GGUFTensor tensor(String name) {
        GGUFTensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException(path() + ": no tensor named " + name);
        return t;
    }

    /** Where a tensor's data starts in its file (its part, for a split model). */
    long fileOffset(String tensorName) {
        tensor(tensorName);
        return offsets.get(tensorName);
    }

    /** File offset where tensor data starts (in the first part). */
    public long dataOffset() {
        return dataOffset;
    }

    public int alignment() {
        return alignment;
    }

    @Override
    public void close() {
        arena.close();
    }

    /** One parsed file. */
    private record Part(
            Path path,
            int version,
            GGUFMetadata metadata,
            Map<String, GGUFTensor> tensors,
            Map<String, Long> offsets,
            long dataOffset,
            int alignment) {
        static Part read(Path path, Arena arena) throws IOException {
            if (!Files.isRegularFile(path)) {
                if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
                throw new GGUFFormatException(path, "not a regular file");
            }
            MemorySegment file;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            return new Parser(path, file).parse();
        }

        int splitCount() throws GGUFFormatException {
            return splitKey(SPLIT_COUNT, 0);
        }

        int splitNo() throws GGUFFormatException {
            return splitKey(SPLIT_NO, 0);
        }

        private int splitKey(String key, int fallback) throws GGUFFormatException {
            if (!metadata.has(key)) return fallback;
            try {
                long v = metadata.getLong(key);
                if (v < 0 || v > MAX_SPLITS) throw new GGUFFormatException(path, key + " " + v + " is out of range");
                return (int) v;
            } catch (IllegalArgumentException e) {
                throw new GGUFFormatException(path, e.getMessage());
            }
        }
    }

    /** Reads the header, metadata and tensor infos with bounds checks on every count and offset. */
    private static final class Parser {
        private final Path path;
        private final MemorySegment seg;
        private final long size;
        private long pos;

        Parser(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        private GGUFFormatException error(String problem) {
            return new GGUFFormatException(path, problem);
        }

        private void need(long bytes, String what) throws GGUFFormatException {
            if (bytes < 0 || bytes > size - pos) {
                throw error("truncated: " + what + " needs " + bytes + " bytes at offset " + pos + " but the file has "
                        + size);
            }
        }

        private int u8(String what) throws GGUFFormatException {
            need(1, what);
            return seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
        }

        private short i16(String what) throws GGUFFormatException {
            need(2, what);
            short v = seg.get(I16, pos);
            pos += 2;
            return v;
        }

        private int i32(String what) throws GGUFFormatException {
            need(4, what);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        private long i64(String what) throws GGUFFormatException {
            need(8, what);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        private float f32(String what) throws GGUFFormatException {
            need(4, what);
            float v = seg.get(F32, pos);
            pos += 4;
            return v;
        }

        private double f64(String what) throws GGUFFormatException {
            need(8, what);
            double v = seg.get(F64, pos);
            pos += 8;
            return v;
        }

        /** A count that must fit the remaining bytes when every item takes at least {@code minItemBytes}. */
        private long count(String what, long minItemBytes) throws GGUFFormatException {
            need(8, what);
            long n = i64(what);
            if (n < 0 || (minItemBytes > 0 && n > (size - pos) / minItemBytes)) {
                throw error("absurd " + what + " " + Long.toUnsignedString(n) + " at offset " + (pos - 8)
                        + ": more than the " + (size - pos) + " bytes left could hold");
            }
            return n;
        }

        private String string(String what) throws GGUFFormatException {
            long len = i64(what + " length");
            if (len < 0 || len > MAX_STRING || len > size - pos) {
                throw error("absurd " + what + " length " + Long.toUnsignedString(len) + " at offset " + (pos - 8));
            }
            if (len == 0) return "";
            byte[] b = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            return new String(b, StandardCharsets.UTF_8);
        }

        Part parse() throws GGUFFormatException {
            if (size < 8) throw error("not a GGUF file: only " + size + " bytes");
            int magic = i32("magic");
            if (magic != MAGIC) {
                throw error(String.format("not a GGUF file: bad magic 0x%08x (expected \"GGUF\")", magic));
            }
            int version = i32("version");
            if (version != 2 && version != 3) {
                if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
                    throw error("big-endian GGUF files are not supported");
                }
                throw error("unsupported GGUF version " + Integer.toUnsignedString(version) + " (supported: 2, 3)");
            }
            long tensorCount = count("tensor count", 8 + 4 + 8 + 4 + 8);
            long kvCount = count("metadata count", 8 + 4 + 1);
            Map<String, Object> kv = new LinkedHashMap<>();
            Map<String, GGUFValueType> types = new HashMap<>();
            Map<String, GGUFValueType> elementTypes = new HashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = string("metadata key");
                if (kv.containsKey(key)) throw error("duplicate metadata key " + key);
                int typeId = i32("type of " + key);
                GGUFValueType type = GGUFValueType.byId(typeId);
                if (type == null) throw error("metadata key " + key + " has unknown value type " + typeId);
                if (type == GGUFValueType.ARRAY) {
                    int elementTypeId = seg.byteSize() - pos >= 4 ? seg.get(I32, pos) : -1;
                    GGUFValueType et = GGUFValueType.byId(elementTypeId);
                    if (et != null) elementTypes.put(key, et);
                }
                kv.put(key, value(type, key, 0));
                types.put(key, type);
            }
            GGUFMetadata metadata = new GGUFMetadata(kv, types, elementTypes);
            int alignment = DEFAULT_ALIGNMENT;
            if (metadata.has("general.alignment")) {
                long a = metadata.get("general.alignment") instanceof Number n
                                && !(n instanceof Float || n instanceof Double)
                        ? n.longValue()
                        : -1;
                if (a <= 0 || a > (1 << 20) || (a & (a - 1)) != 0) {
                    throw error("general.alignment " + metadata.get("general.alignment")
                            + " is not a power of two up to 1 MiB");
                }
                alignment = (int) a;
            }

            record Info(String name, GGMLType type, long[] shape, long offset, long bytes) {}
            List<Info> infos = new ArrayList<>();
            Map<String, Boolean> seen = new HashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = string("tensor name");
                if (seen.put(name, true) != null) throw error("duplicate tensor name " + name);
                int dims = i32("dimension count of " + name);
                if (dims < 1 || dims > MAX_DIMS)
                    throw error("tensor " + name + " has " + dims + " dimensions (1 to 4 allowed)");
                long[] shape = new long[dims];
                long elements = 1;
                for (int d = 0; d < dims; d++) {
                    shape[d] = i64("shape of " + name);
                    if (shape[d] <= 0 || shape[d] > (1L << 40))
                        throw error("tensor " + name + " has absurd dimension " + shape[d]);
                    elements = Math.multiplyHigh(elements, shape[d]) != 0 ? -1 : elements * shape[d];
                    if (elements < 0 || elements > (1L << 42))
                        throw error("tensor " + name + " has absurd element count");
                }
                int typeId = i32("type of " + name);
                GGMLType type = GGMLType.byId(typeId);
                if (type == null) throw error("tensor " + name + " has unknown type " + typeId);
                if (shape[0] % type.blockSize() != 0) {
                    throw error("tensor " + name + " row of " + shape[0] + " is not a multiple of the " + type
                            + " block size " + type.blockSize());
                }
                long offset = i64("offset of " + name);
                infos.add(new Info(name, type, shape, offset, type.bytesFor(elements)));
            }
            long dataOffset = alignUp(pos, alignment);
            // vocabulary-only files end right after the header, without padding
            if (!infos.isEmpty() && dataOffset > size)
                throw error("truncated: tensor data would start at " + dataOffset + " past the end " + size);
            for (Info in : infos) {
                if (in.offset < 0 || in.offset % alignment != 0) {
                    throw error("tensor " + in.name + " has misaligned or negative offset "
                            + Long.toUnsignedString(in.offset));
                }
                if (in.offset > size - dataOffset || in.bytes > size - dataOffset - in.offset) {
                    throw error("truncated: tensor " + in.name + " needs bytes " + (dataOffset + in.offset) + ".."
                            + (dataOffset + in.offset + in.bytes) + " but the file has " + size);
                }
            }
            List<Info> byOffset = new ArrayList<>(infos);
            byOffset.sort(Comparator.comparingLong(Info::offset));
            for (int i = 1; i < byOffset.size(); i++) {
                Info a = byOffset.get(i - 1), b = byOffset.get(i);
                if (a.offset + a.bytes > b.offset) throw error("tensors " + a.name + " and " + b.name + " overlap");
            }
            Map<String, GGUFTensor> tensors = new LinkedHashMap<>();
            Map<String, Long> offsets = new HashMap<>();
            for (Info in : infos) {
                tensors.put(
                        in.name,
                        new GGUFTensor(in.name, in.type, in.shape, seg.asSlice(dataOffset + in.offset, in.bytes)));
                offsets.put(in.name, dataOffset + in.offset);
            }
            return new Part(
                    path, version, metadata, Collections.unmodifiableMap(tensors), offsets, dataOffset, alignment);
        }

        private Object value(GGUFValueType type, String key, int depth) throws GGUFFormatException {
            return switch (type) {
                case UINT8 -> u8(key);
                case INT8 -> (byte) u8(key);
                case UINT16 -> i16(key) & 0xffff;
                case INT16 -> i16(key);
                case UINT32 -> i32(key) & 0xffffffffL;
                case INT32 -> i32(key);
                case FLOAT32 -> f32(key);
                case BOOL -> {
                    int b = u8(key);
                    if (b > 1) throw error("metadata key " + key + " has bool value " + b);
                    yield b == 1;
                }
                case STRING -> string(key);
                case UINT64, INT64 -> i64(key);
                case FLOAT64 -> f64(key);
                case ARRAY -> array(key, depth);
            };
        }

        private Object array(String key, int depth) throws GGUFFormatException {
            if (depth > 8) throw error("metadata key " + key + " nests arrays more than 8 deep");
            int typeId = i32("array type of " + key);
            GGUFValueType type = GGUFValueType.byId(typeId);
            if (type == null) throw error("metadata key " + key + " is an array of unknown type " + typeId);
            long count = count("array length of " + key, type.minBytes);
            if (count > Integer.MAX_VALUE - 8)
                throw error(
                        "metadata key " + key + " has an array of " + count + " values, more than this reader handles");
            int n = (int) count;
            long bytes = (long) n * type.minBytes;
            switch (type) {
                case UINT8, INT8 -> {
                    byte[] a = seg.asSlice(pos, bytes).toArray(ValueLayout.JAVA_BYTE);
                    pos += bytes;
                    return a;
                }
                case UINT16, INT16 -> {
                    short[] a = new short[n];
                    for (int i = 0; i < n; i++) a[i] = seg.get(I16, pos + 2L * i);
                    pos += bytes;
                    return a;
                }
                case INT32 -> {
                    int[] a = new int[n];
                    for (int i = 0; i < n; i++) a[i] = seg.get(I32, pos + 4L * i);
                    pos += bytes;
                    return a;
                }
                case UINT32 -> {
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++) a[i] = seg.get(I32, pos + 4L * i) & 0xffffffffL;
                    pos += bytes;
                    return a;
                }
                case UINT64, INT64 -> {
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++) a[i] = seg.get(I64, pos + 8L * i);
                    pos += bytes;
                    return a;
                }
                case FLOAT32 -> {
                    float[] a = new float[n];
                    for (int i = 0; i < n; i++) a[i] = seg.get(F32, pos + 4L * i);
                    pos += bytes;
                    return a;
                }
                case FLOAT64 -> {
                    double[] a = new double[n];
                    for (int i = 0; i < n; i++) a[i] = seg.get(F64, pos + 8L * i);
                    pos += bytes;
                    return a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[n];
                    for (int i = 0; i < n; i++) a[i] = seg.get(ValueLayout.JAVA_BYTE, pos + i) != 0;
                    pos += bytes;
                    return a;
                }
                case STRING -> {
                    String[] a = new String[n];
                    for (int i = 0; i < n; i++) a[i] = string(key + "[" + i + "]");
                    return Collections.unmodifiableList(Arrays.asList(a));
                }
                case ARRAY -> {
                    Object[] a = new Object[n];
                    for (int i = 0; i < n; i++) a[i] = array(key + "[" + i + "]", depth + 1);
                    return Collections.unmodifiableList(Arrays.asList(a));
                }
            }
            throw new AssertionError(type);
        }

        private static long alignUp(long v, int alignment) {
            return (v + alignment - 1) / alignment * alignment;
        }
    }
}
