#!/usr/bin/env bash
# Make a local Docker engine available for dbox and its tests.
#
#   scripts/engine.sh up      install (apt-get) and start dockerd if no engine answers,
#                             then build the fixture images and demo containers that are missing
#   scripts/engine.sh down    stop the dockerd this script started (by its pid file)
#   scripts/engine.sh status  say whether an engine answers
#
# Safety: dockerd runs with --bridge=none --iptables=false --ip-masq=false and every
# container is created with --network none. Images come from `docker import`, never a registry.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${DBOX_ENGINE_STATE:-/var/lib/dbox-engine}
pidfile=$state/dockerd.pid
log=$state/dockerd.log

say() { printf 'dbox-engine: %s\n' "$*" >&2; }

engine_answers() { timeout 5 docker info >/dev/null 2>&1; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v fusermount3 >/dev/null || missing+=(fuse3)
  dpkg -s libfuse2 >/dev/null 2>&1 || missing+=(libfuse2)   # the library fuse-native's prebuild links to
  dpkg -s libfuse3-dev >/dev/null 2>&1 || missing+=(libfuse3-dev)   # dbox-fuse, the mount's fast path
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
  command -v tmux >/dev/null || missing+=(tmux)
  command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
  command -v podman >/dev/null || missing+=(podman)           # the tests run dbox against its Docker API too
  command -v openssl >/dev/null || missing+=(openssl)         # certificates for the TLS engine test
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)          # an ssh:// endpoint on loopback, for the tests
  command -v ssh-agent >/dev/null || missing+=(openssh-client)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    say "missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}"; exit 1
  fi
  say "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

start_dockerd() {
  mkdir -p "$state"
  # A dockerd of ours still shutting down: let it finish (its pid file would stop the new one).
  if [ -f "$pidfile" ]; then
    local old; old=$(cat "$pidfile")
    for _ in $(seq 1 160); do kill -0 "$old" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$old" 2>/dev/null || rm -f "$pidfile"
  fi
  say "starting dockerd (log: $log)"
  setsid dockerd --bridge=none --iptables=false --ip-masq=false --pidfile "$pidfile" >"$log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    engine_answers && { say "engine ready"; return 0; }
    sleep 0.5
  done
  say "dockerd did not answer within 30 s; last lines of $log:"; tail -20 "$log" >&2; exit 1
}

up() {
  if ! engine_answers; then
    install_packages
    start_dockerd
  else
    install_packages
  fi
  # What is missing only: a setup run again leaves images and containers (and whoever uses them) alone.
  "$here/fixtures.sh" ensure
}

down() {
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then say "stopping dockerd $pid"; kill "$pid"; fi
    # It stops its containers first (10 s for those that ignore SIGTERM): wait until it is gone.
    for _ in $(seq 1 160); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  else
    say "no dockerd started by this script"
  fi
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) engine_answers && say "engine answers" || { say "no engine"; exit 1; } ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
