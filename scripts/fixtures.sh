#!/usr/bin/env bash
# Fixture images and demo containers, built without any registry.
#
#   scripts/fixtures.sh images   build dbox-test/busybox (busybox + applets + sample files)
#                                 and dbox-test/noshell (one static binary and data, no shell)
#   scripts/fixtures.sh demo     (re)create the demo containers web, db (running) and old (stopped)
#   scripts/fixtures.sh ensure   build the images and create the demo containers that are missing
#                                (and start web and db again when they are stopped),
#                                leaving existing ones otherwise as they are (what a repeated setup runs)
#   scripts/fixtures.sh clean    remove the demo containers
set -euo pipefail
BUSYBOX=${BUSYBOX:-/bin/busybox}
say() { printf 'dbox-fixtures: %s\n' "$*" >&2; }

build_busybox_root() {
  local root=$1
  mkdir -p "$root"/{bin,etc,tmp,root,var/log,data/dir\ with\ space,proc,sys,dev}
  cp "$BUSYBOX" "$root/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'Welcome to a dbox fixture container\n' >"$root/etc/motd"
  printf 'hello from the container\n' >"$root/data/hello.txt"
  printf 'spaced\n' >"$root/data/dir with space/file one.txt"
  chmod 1777 "$root/tmp"
}

# Imports a root directory as TAG, removing the image it replaces (unless a container uses it).
import_as() {
  local root=$1 tag=$2; shift 2
  local old; old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  tar -C "$root" -c . | docker import "$@" - "$tag" >/dev/null
  local new; new=$(docker image inspect -f '{{.Id}}' "$tag")
  if [ -n "$old" ] && [ "$old" != "$new" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
}

images() {
  local tmp; tmp=$(mktemp -d)
  # A RETURN trap outlives the function in bash: it removes itself, or it would fire again
  # (with $tmp unset) when the caller returns.
  trap 'rm -rf "$tmp"; trap - RETURN' RETURN
  build_busybox_root "$tmp/busybox"
  import_as "$tmp/busybox" dbox-test/busybox -c 'ENV PATH=/bin' -c 'CMD ["sh"]'
  say "image dbox-test/busybox"
  # No shell, no tools: only a static program and its data.
  mkdir -p "$tmp/noshell/app" "$tmp/noshell/etc" "$tmp/noshell/tmp"
  # The one program: a static binary that only sleeps (busybox named `sleep`, which it runs as
  # that applet). No shell or tool can be started by name.
  cp "$BUSYBOX" "$tmp/noshell/app/sleep"
  printf 'data only\n' >"$tmp/noshell/app/data.txt"
  import_as "$tmp/noshell" dbox-test/noshell -c 'ENTRYPOINT ["/app/sleep"]' -c 'CMD ["2147483647"]'
  say "image dbox-test/noshell"
}

make_demo() {
  case $1 in
    web)
      docker run -d -q --network none --name web --hostname web dbox-test/busybox sleep 2147483647 >/dev/null
      docker exec web sh -c 'mkdir -p /srv/www && echo "<h1>dbox demo</h1>" > /srv/www/index.html' ;;
    db) docker run -d -q --network none --name db --hostname db dbox-test/busybox sleep 2147483647 >/dev/null ;;
    old)
      docker create -q --network none --name old --hostname old dbox-test/busybox sleep 1 >/dev/null
      # A file big enough for cp's progress bar (the README's tour copies it out).
      local t; t=$(mktemp -d)
      head -c 200000000 /dev/zero > "$t/big"
      tar -C "$t" -cf - big | docker cp - old:/
      rm -rf "$t" ;;
  esac
}

demo() {
  for name in web db old; do docker rm -f "$name" >/dev/null 2>&1 || true; done
  for name in web db old; do make_demo "$name"; done
  say "demo containers: web, db (running), old (stopped)"
}

ensure() {
  if ! docker image inspect dbox-test/busybox >/dev/null 2>&1 || ! docker image inspect dbox-test/noshell >/dev/null 2>&1; then
    images
  fi
  local made=()
  for name in web db old; do
    docker container inspect "$name" >/dev/null 2>&1 || { make_demo "$name"; made+=("$name"); }
  done
  # web and db are the running ones of the tour: after an engine restart (no restart policy) they
  # are there but stopped, and are started again; anything else of the user's is left alone.
  local started=()
  for name in web db; do
    if [ "$(docker container inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = false ]; then
      docker start "$name" >/dev/null && started+=("$name")
    fi
  done
  if [ ${#made[@]} -gt 0 ]; then say "demo containers created: ${made[*]}"; else say "demo containers: web, db, old (already there)"; fi
  if [ ${#started[@]} -gt 0 ]; then say "demo containers started again: ${started[*]}"; fi
}

clean() { for name in web db old; do docker rm -f "$name" >/dev/null 2>&1 || true; done; }

case "${1:-}" in
  images) images ;;
  demo) demo ;;
  ensure) ensure ;;
  clean) clean ;;
  *) echo "usage: $0 images|demo|ensure|clean" >&2; exit 2 ;;
esac
