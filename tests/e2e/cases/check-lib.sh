# Helpers for the cases' check.sh scripts, which source this file as
# . "$CASEDIR/../check-lib.sh". RUNDIR is the run folder ('' when none).
set -u

fail() {
  printf '%s\n' "$*"
  exit 1
}

need_rundir() {
  if [ -z "$RUNDIR" ] || [ ! -d "$RUNDIR" ]; then
    fail "no run folder was made"
  fi
}

# has_content FILE TEXT: FILE (under RUNDIR) holds TEXT and a newline.
has_content() {
  [ -f "$RUNDIR/$1" ] || fail "$1 is missing"
  printf '%s\n' "$2" | cmp -s - "$RUNDIR/$1" ||
    fail "$1 holds '$(cat "$RUNDIR/$1")', not '$2'"
}

# has_size FILE BYTES
has_size() {
  [ -f "$RUNDIR/$1" ] || fail "$1 is missing"
  size=$(wc -c <"$RUNDIR/$1" | tr -d ' ')
  [ "$size" = "$2" ] || fail "$1 has $size bytes, not $2"
}

# is_empty FILE: FILE exists and is empty.
is_empty() {
  [ -f "$RUNDIR/$1" ] || fail "$1 is missing"
  [ ! -s "$RUNDIR/$1" ] || fail "$1 is not empty: $(head -c 200 "$RUNDIR/$1")"
}

# is_absent FILE
is_absent() {
  [ ! -e "$RUNDIR/$1" ] || fail "$1 exists, and should not"
}

# no_rundir: the run did not start, and made no folder.
no_rundir() {
  [ -z "$RUNDIR" ] || fail "a run folder was made: $RUNDIR"
}
