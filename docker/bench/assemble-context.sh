#!/usr/bin/env bash
# Assembles the build context of the kvbench image in bench/target/docker from what
# `./mvnw -B -pl bench -am package -DskipTests` built: bench's jar, the runtime classpath that the
# bench module writes to bench/target/kvbench.classpath (kvstore's jars into app/, third-party jars
# into lib/: two image layers), docker/bench/Dockerfile and its entry point, and bin/jvm-flags.
#
#   docker/bench/assemble-context.sh && docker build -t kvbench:dev bench/target/docker
#
# compose.yaml's bench service builds from the same folder.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="$root/bench/target"
context="$target/docker"
classpath_file="$target/kvbench.classpath"

fail() {
  echo "assemble-context: $*" >&2
  exit 1
}

[[ -s "$classpath_file" ]] \
  || fail "no $classpath_file: build first with ./mvnw -B -pl bench -am package -DskipTests"
shopt -s nullglob
bench_jars=("$target"/bench-*.jar)
shopt -u nullglob
[[ ${#bench_jars[@]} -eq 1 ]] \
  || fail "expected one bench jar in $target, found ${#bench_jars[@]}: run ./mvnw -B -pl bench -am package -DskipTests"

rm -rf "$context"
mkdir -p "$context/app" "$context/lib"
cp "${bench_jars[0]}" "$context/app/"

# One line without a final newline: read would report end of file, hence the echo.
IFS=':' read -r -a entries < <(cat "$classpath_file"; echo)
for entry in "${entries[@]}"; do
  [[ -n "$entry" ]] || continue
  if [[ ! -f "$entry" || "$entry" != *.jar ]]; then
    # A module's target/classes stands here when the reactor was not packaged.
    fail "classpath entry $entry is not a jar: build with package (not compile or test)"
  fi
  case "$(basename "$entry")" in
    kvstore-*) cp "$entry" "$context/app/" ;;
    *) cp "$entry" "$context/lib/" ;;
  esac
done

cp "$root/docker/bench/Dockerfile" "$root/docker/bench/kvbench-entrypoint" "$root/bin/jvm-flags" "$context/"
echo "assemble-context: $context ($(ls "$context/app" | wc -l) kvstore jars, $(ls "$context/lib" | wc -l) libraries)" >&2
