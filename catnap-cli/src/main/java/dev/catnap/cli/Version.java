package dev.catnap.cli;

import picocli.CommandLine;

final class Version implements CommandLine.IVersionProvider {
    static String current() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-dev" : v;
    }

    @Override
    public String[] getVersion() {
        return new String[] {"catnap " + current(), "Java " + Runtime.version()};
    }
}
