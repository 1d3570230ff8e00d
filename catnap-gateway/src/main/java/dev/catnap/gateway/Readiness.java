package dev.catnap.gateway;

/** How the gateway decides a worker is ready: a TCP connect to its port (as the seed does) or an HTTP 2xx on a path. */
public sealed interface Readiness {
    record Tcp() implements Readiness {
        @Override
        public String toString() {
            return "tcp";
        }
    }

    record Http(String path) implements Readiness {
        public Http {
            if (!path.startsWith("/")) throw new IllegalArgumentException("readiness path must start with /: " + path);
        }

        @Override
        public String toString() {
            return "http:" + path;
        }
    }

    /** Parses {@code tcp} or {@code http:/path}. */
    static Readiness parse(String spec) {
        if (spec.equals("tcp")) return new Tcp();
        if (spec.startsWith("http:")) return new Http(spec.substring(5));
        throw new IllegalArgumentException("readiness must be tcp or http:PATH, got " + spec);
    }
}
