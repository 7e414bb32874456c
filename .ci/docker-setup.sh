#!/usr/bin/env bash
# Gives the image integration tests (kvstore-server's *IT, run by failsafe) a Docker engine and a
# JRE base image on a fresh Debian machine that can reach the Debian mirror but no image registry.
#
#   eval "$(.ci/docker-setup.sh up)"    # engine up, base image built; prints the exports to eval
#   .ci/docker-setup.sh down            # stops the dockerd that `up` started (none otherwise)
#
# `up`, step by step (each step prints how long it took on stderr):
#   1. installs docker.io and debootstrap from Debian when dockerd or debootstrap is missing;
#   2. starts a dockerd of its own in the background unless an engine already answers on
#      $DOCKER_HOST (default unix:///var/run/docker.sock), and waits until it does;
#   3. builds the base image kvstore-base:bookworm-jre17 without any registry, unless it exists
#      already, with docker/build-base-image.sh (debootstrap + Debian's JRE, then docker import).
# On stdout it prints only `export NAME=value` lines, for the caller to eval:
#   DOCKER_HOST                  the engine the tests talk to
#   KVSTORE_REQUIRE_DOCKER=1     the ITs fail, instead of being skipped, if no engine answers
#   KVSTORE_BASE_IMAGE           the base image the ITs build the daemon's image on
#   TESTCONTAINERS_RYUK_DISABLED Testcontainers' reaper is an image from Docker Hub, which cannot be
#                                pulled here; the ITs remove their own containers and volumes
#   TESTCONTAINERS_HOST_OVERRIDE this machine has a /.dockerenv, so Testcontainers would look for
#                                published ports on the bridge gateway instead of on localhost
#
# Environment: KVSTORE_DOCKERD_OPTS (extra dockerd options), KVSTORE_CI_STATE (where the dockerd
# pid and log go; default /tmp/kvstore-ci-docker).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly BASE_IMAGE="kvstore-base:bookworm-jre17"
readonly STATE_DIR="${KVSTORE_CI_STATE:-/tmp/kvstore-ci-docker}"
readonly PID_FILE="$STATE_DIR/dockerd.pid"
readonly DOCKERD_LOG="$STATE_DIR/dockerd.log"
export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"

log() { echo "[docker-setup] $*" >&2; }

# Runs a step and reports its duration, so a slow step shows in the CI log.
timed() {
  local name="$1" start=$SECONDS
  shift
  "$@"
  log "$name took $((SECONDS - start)) s"
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "docker.io and debootstrap already installed"
    return
  fi
  log "installing ${missing[*]} from Debian"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

engine_answers() {
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Waits up to $1 seconds for the engine; false if it did not answer or the dockerd died.
await_engine() {
  local deadline=$((SECONDS + $1)) pid="$2"
  until engine_answers; do
    if ! as_root kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 1
  done
}

start_dockerd_with() {
  local socket="${DOCKER_HOST#unix://}" extra=()
  read -r -a extra <<<"${KVSTORE_DOCKERD_OPTS:-}"
  local cmd=(dockerd --host="$DOCKER_HOST" "$@" "${extra[@]}")
  # Started directly (or through sudo, which passes signals on), so that $! is what `down` stops.
  [[ "$(id -u)" == 0 ]] || cmd=(sudo "${cmd[@]}")
  "${cmd[@]}" >"$DOCKERD_LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  if await_engine 60 "$pid"; then
    # The tests run as this user: let them use the socket when that is not root.
    [[ "$(id -u)" == 0 ]] || as_root chmod 0666 "$socket"
    return 0
  fi
  log "dockerd $* did not come up; the end of its log:"
  tail -n 15 "$DOCKERD_LOG" >&2 || true
  stop_dockerd
  return 1
}

start_engine() {
  if engine_answers; then
    log "an engine already answers on $DOCKER_HOST: using it (and leaving it running)"
    return
  fi
  if [[ "$DOCKER_HOST" != unix://* ]]; then
    log "no engine answers on $DOCKER_HOST, and only a local unix socket can be started here"
    return 1
  fi
  mkdir -p "$STATE_DIR"
  # overlay2 is dockerd's default; some sandboxes (overlay on overlay) refuse it, vfs always works.
  start_dockerd_with || start_dockerd_with --storage-driver=vfs || {
    log "could not start dockerd; its log is $DOCKERD_LOG"
    return 1
  }
  log "dockerd $(docker version --format '{{.Server.Version}}') up (pid $(cat "$PID_FILE"), log $DOCKERD_LOG)"
}

stop_dockerd() {
  [[ -f "$PID_FILE" ]] || return 0
  local pid
  pid="$(cat "$PID_FILE")"
  rm -f "$PID_FILE"
  as_root kill -0 "$pid" 2>/dev/null || return 0
  as_root kill -TERM "$pid"
  # dockerd stops its containers and its containerd first; give it time, then insist.
  for _ in $(seq 1 30); do
    as_root kill -0 "$pid" 2>/dev/null || return 0
    sleep 1
  done
  log "dockerd (pid $pid) ignored SIGTERM for 30 s: killing it"
  as_root kill -KILL "$pid" 2>/dev/null || true
}

up() {
  local start=$SECONDS
  timed "install docker.io, debootstrap" install_packages
  timed "start the Docker engine" start_engine
  timed "base image $BASE_IMAGE" docker/build-base-image.sh --tag "$BASE_IMAGE"
  log "ready in $((SECONDS - start)) s"
  echo "export DOCKER_HOST=$DOCKER_HOST"
  echo "export KVSTORE_REQUIRE_DOCKER=1"
  echo "export KVSTORE_BASE_IMAGE=$BASE_IMAGE"
  echo "export TESTCONTAINERS_RYUK_DISABLED=true"
  echo "export TESTCONTAINERS_HOST_OVERRIDE=localhost"
}

down() {
  # Each run tags a fresh daemon image kvstore:it; the one it replaced is left dangling. Drop those
  # so repeated runs on one machine do not fill its disk (the cached base image stays).
  if engine_answers; then
    docker image prune -f >/dev/null 2>&1 || log "could not prune dangling images"
  fi
  if [[ -f "$PID_FILE" ]]; then
    timed "stop dockerd" stop_dockerd
  else
    log "no dockerd of ours to stop"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *)
    echo "usage: $0 up|down   (eval \"\$($0 up)\" to get the exports)" >&2
    exit 2
    ;;
esac
