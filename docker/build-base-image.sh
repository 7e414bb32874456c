#!/usr/bin/env bash
# Builds a Java 17 base image for the daemon's image without any image registry: only a Debian
# mirror is needed. For machines that cannot pull eclipse-temurin (air-gapped hosts, CI here).
#
#   docker/build-base-image.sh                 # builds kvstore-base:bookworm-jre17 unless it exists
#   docker build --build-arg BASE_IMAGE=kvstore-base:bookworm-jre17 -t kvstore:dev kvstore-server/target/docker
#
# How: debootstrap --variant=minbase bookworm into a temporary directory, openjdk-17-jre-headless
# installed inside it with apt (no docs, man pages or locales; apt's caches emptied), then the
# directory is imported as an image with `docker import`. Needs root (or sudo), debootstrap and a
# Docker engine. Prints how long each step took on stderr.
#
# Options: --tag NAME (default kvstore-base:bookworm-jre17), --mirror URL (default: the first
# Debian mirror in this machine's apt sources, else http://deb.debian.org/debian), --force
# (rebuild even if the image exists). A log of the noisy steps goes to $TMPDIR/kvstore-base-image.log.
set -euo pipefail

readonly SUITE="bookworm"
readonly JRE_PACKAGE="openjdk-17-jre-headless"
readonly BUILD_LOG="${TMPDIR:-/tmp}/kvstore-base-image.log"
tag="kvstore-base:bookworm-jre17"
mirror=""
force=0

log() { echo "[build-base-image] $*" >&2; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --mirror) mirror="${2:?--mirror needs a value}"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done

# Runs a step and reports its duration, so a slow step shows in the CI log.
timed() {
  local name="$1" start=$SECONDS
  shift
  "$@"
  log "$name took $((SECONDS - start)) s"
}

# Runs a noisy command with its output in $BUILD_LOG; shows the end of it if the command fails.
quietly() {
  if ! "$@" >>"$BUILD_LOG" 2>&1; then
    log "failed: $*; the end of $BUILD_LOG:"
    tail -n 30 "$BUILD_LOG" >&2
    return 1
  fi
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi
}

# The first Debian (not security) mirror this machine's apt uses: one known to be reachable.
default_mirror() {
  local uri
  uri="$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}';
            grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'; } \
          | grep -E '/debian/?$' | head -n 1 || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

write_rootfs_config() {
  local rootfs="$1"
  # Nothing under /usr/share/{doc,man,info,locale} is installed into the image (licences stay).
  as_root tee "$rootfs/etc/dpkg/dpkg.cfg.d/01-kvstore-nodoc" >/dev/null <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
EOF
  # The JRE's post-install links its man page with update-alternatives, which fails without the
  # directory (the excluded page itself is never written).
  as_root mkdir -p "$rootfs/usr/share/man/man1"
  # Point releases reach bookworm-updates first; security fixes come from their own archive.
  {
    echo "deb $mirror $SUITE main"
    echo "deb $mirror $SUITE-updates main"
    if [[ "${mirror%/}" == */debian ]]; then
      echo "deb ${mirror%/}-security $SUITE-security main"
    fi
  } | as_root tee "$rootfs/etc/apt/sources.list" >/dev/null
  # No service may start inside the chroot while packages are installed.
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$rootfs/usr/sbin/policy-rc.d" >/dev/null
  as_root chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  # apt would drop to the _apt user to download, which may not write the chroot's cache.
  echo 'APT::Sandbox::User "root";' \
    | as_root tee "$rootfs/etc/apt/apt.conf.d/01-kvstore-sandbox" >/dev/null
}

install_jre() {
  local rootfs="$1"
  # The JRE's post-install runs java (CA certificates), which finds itself through /proc.
  as_root mount -t proc proc "$rootfs/proc"
  quietly as_root chroot "$rootfs" /bin/sh -c "apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $JRE_PACKAGE"
  log "$(as_root chroot "$rootfs" java -version 2>&1 | sed -n 2p)"
  as_root umount "$rootfs/proc"
}

slim_rootfs() {
  local rootfs="$1"
  as_root chroot "$rootfs" apt-get clean
  as_root rm -f "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/apt/apt.conf.d/01-kvstore-sandbox"
  # What debootstrap installed before the dpkg excludes existed goes the same way (licences stay).
  as_root rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/* \
    "$rootfs"/tmp/* "$rootfs"/usr/share/man "$rootfs"/usr/share/info "$rootfs"/usr/share/locale
  as_root find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  as_root find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
}

import_rootfs() {
  local rootfs="$1"
  as_root tar --numeric-owner -C "$rootfs" -c . \
    | docker import \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/bash"]' \
        --message "debootstrap --variant=minbase $SUITE + $JRE_PACKAGE" \
        - "$tag" >/dev/null
}

main() {
  if [[ "$force" == 0 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    log "$tag exists: kept (--force rebuilds it)"
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || { log "needs debootstrap (apt-get install debootstrap)"; exit 1; }
  [[ -n "$mirror" ]] || mirror="$(default_mirror)"
  : >"$BUILD_LOG"
  local rootfs start=$SECONDS
  rootfs="$(mktemp -d "${TMPDIR:-/var/tmp}/kvstore-base.XXXXXX")"
  # shellcheck disable=SC2064 # expanded now: the trap cleans this very directory
  trap "as_root umount '$rootfs/proc' 2>/dev/null || true; as_root rm -rf --one-file-system '$rootfs'" EXIT

  timed "debootstrap $SUITE from $mirror" \
    quietly as_root debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror"
  write_rootfs_config "$rootfs"
  timed "apt-get install $JRE_PACKAGE (in the root file system)" install_jre "$rootfs"
  slim_rootfs "$rootfs"
  timed "docker import $tag ($(as_root du -sh "$rootfs" | cut -f1))" import_rootfs "$rootfs"
  log "built $tag in $((SECONDS - start)) s"
}

main
