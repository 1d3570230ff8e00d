# Sourced by ./catnap and ./test: finds a JDK 25 or newer and exports JAVA_HOME.
# Order: $JAVA_HOME, the java on PATH, then the usual install folders (or $CATNAP_JDK_DIRS).
catnap_java_major() { # prints the major version of the java binary $1
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

catnap_find_jdk() {
  local candidates=() c
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    candidates+=("$c")
  fi
  # CATNAP_JDK_DIRS replaces the usual install folders (space-separated globs)
  local dirs=${CATNAP_JDK_DIRS:-'/usr/lib/jvm/* /opt/java/* /opt/jdk* $HOME/.sdkman/candidates/java/* $HOME/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home'}
  for c in $(eval echo "$dirs"); do
    [ -d "$c" ] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" -o "${1:-}" = "runtime" ] || continue
    local major
    major=$(catnap_java_major "$c/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      export JAVA_HOME="$c"
      return 0
    fi
  done
  return 1
}

# The JVM flags every launcher of the engine passes (./catnap adds its own on top). MaxInlineLevel=30: a Vector API
# operation is ten calls deep before it reaches its intrinsic, and a kernel inlined into the forward pass passed C2's
# default depth of 15; the operation then ran as boxed Java code, in some runs and not others (PrintInlining:
# "inlining too deep" on VectorSupport::binaryOp, ::fromBitsCoerced, ::convert).
# shellcheck disable=SC2034 # used by the scripts that source this file
CATNAP_JVM_FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:MaxInlineLevel=30)
