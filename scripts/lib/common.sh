# shellcheck shell=bash
# Helpers shared by the project's bash scripts (bootstrap, env.sh, install-packages,
# services, images). Sourced, never run; callers set `set -euo pipefail` themselves.

# The repository root, found from this file so scripts work from any cwd.
REWIND_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The Pulumi toolchain built by scripts/bootstrap (git-ignored).
REWIND_TOOLS="${REWIND_TOOLS:-$REWIND_ROOT/.tools}"
# All local service state (engine data, registry blobs, the database cluster, logs)
# lives here, so `scripts/services stop && rm -rf .rewind` is a complete reset.
REWIND_HOME="${REWIND_HOME:-$REWIND_ROOT/.rewind}"

# Milliseconds since the epoch (GNU date, which every Debian has).
now_ms() { date +%s%3N; }

# "1.234": seconds elapsed since a now_ms value.
elapsed_since() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# Prefixed with the script's name: scripts call each other (bootstrap runs
# install-packages), and the prefix keeps nested output attributable.
log() { printf '[%s] %s\n' "${0##*/}" "$*"; }
warn() { printf '[%s] warning: %s\n' "${0##*/}" "$*" >&2; }

# die <what failed> [<how to fix it>]
die() {
  printf '[%s] error: %s\n' "${0##*/}" "$1" >&2
  if [ -n "${2:-}" ]; then printf '[%s]   fix: %s\n' "${0##*/}" "$2" >&2; fi
  exit 1
}

# step <name> <fix> <command...>: run a command as a named, timed step.
# The command runs in the caller's errexit context on purpose: wrapping it in
# `cmd || ...` would make bash ignore `set -e` inside shell functions, so a failing
# line in the middle of a step would be skipped silently. A failure is reported by
# the EXIT trap below instead, which names the step and its fix.
# Call it at top level (not inside `if` or `||`) for the same reason.
_STEP_NAME='' _STEP_FIX='' _STEP_START=0
step() {
  _rewind_trap
  _STEP_NAME=$1 _STEP_FIX=$2 _STEP_START=$(now_ms)
  shift 2
  log "==> $_STEP_NAME"
  "$@"
  log "    done in $(elapsed_since "$_STEP_START")s"
  _STEP_NAME='' _STEP_FIX=''
}

# Cleanup actions (temporary directories) run on any exit.
_CLEANUP_PATHS=()
cleanup_add() {
  _rewind_trap
  _CLEANUP_PATHS+=("$1")
}

# Commands (function names) run on any exit, after the paths above are removed.
_CLEANUP_CMDS=()
on_exit() {
  _rewind_trap
  _CLEANUP_CMDS+=("$1")
}

_rewind_exit() {
  local rc=$1 p
  if [ "$rc" -ne 0 ] && [ -n "$_STEP_NAME" ]; then
    printf '[%s] error: step "%s" failed (exit %d) after %ss\n' \
      "${0##*/}" "$_STEP_NAME" "$rc" "$(elapsed_since "$_STEP_START")" >&2
    if [ -n "$_STEP_FIX" ]; then printf '[%s]   fix: %s\n' "${0##*/}" "$_STEP_FIX" >&2; fi
  fi
  for p in "${_CLEANUP_PATHS[@]}"; do rm -rf -- "$p"; done
  for p in "${_CLEANUP_CMDS[@]}"; do "$p" || true; done
  return "$rc"
}
# Installed on first use, not when sourced: env.sh sources this file into
# interactive shells, whose own EXIT trap must not be replaced.
_rewind_trap() { trap '_rewind_exit $?' EXIT; }

# Single-quote a value for a POSIX shell file (services.env is sourced by sh and bash).
shell_quote() {
  local q="'\\''"
  printf "'%s'" "${1//\'/$q}"
}

# pid_alive <pidfile> <executable basename>: true if the pidfile names a live
# process running that executable. Guards against a stale pidfile whose pid was
# reused by an unrelated process after a crash or reboot.
pid_alive() {
  local pidfile=$1 exe=$2 pid target
  [ -s "$pidfile" ] || return 1
  pid=$(head -n 1 "$pidfile")
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  target=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "${target##*/}" = "$exe" ]
}

# TCP ports something listens on, one decimal per line, read from /proc so no
# extra package (ss, netstat, lsof) is needed.
listening_ports() {
  local f local_addr state
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    # Column 2 is the local "ADDR:PORT" in hex, column 4 the state; 0A is LISTEN.
    while read -r _ local_addr _ state _; do
      [ "$state" = "0A" ] || continue
      printf '%d\n' "0x${local_addr##*:}"
    done < <(tail -n +2 "$f")
  done
}

# free_port [<port to avoid>...]: a port in 20000-39999 that nothing listens on.
# Random rather than sequential so two checkouts on one machine rarely collide.
free_port() {
  local taken port tries=0
  taken=$(listening_ports | sort -u)
  while [ "$tries" -lt 200 ]; do
    port=$((20000 + RANDOM % 20000))
    tries=$((tries + 1))
    if printf '%s\n' "$taken" "$@" | grep -qx -- "$port"; then continue; fi
    printf '%d\n' "$port"
    return 0
  done
  die "no free loopback port found in 20000-39999" "free some ports, then rerun"
}

# wait_until <seconds> <command...>: poll every 0.2 s until the command succeeds.
wait_until() {
  local deadline
  deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
