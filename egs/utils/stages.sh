#!/usr/bin/env bash
# Stage helpers for egs/*/run.sh. Needs the variables `stage` and `stop_stage` (set by the recipe).
#
#   run_stage N NAME MARKER_DIR FUNCTION [ARGS...]
#
# runs FUNCTION when stage <= N <= stop_stage, unless MARKER_DIR/stageN.NAME.done exists (a finished
# stage is skipped; delete the marker, or pass --force true, to run it again). The marker is written
# only when FUNCTION succeeds, so a failed or interrupted stage runs again next time.

log() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') [$(basename "${here:-$(pwd)}")] $*" >&2; }

# stage_marker N NAME MARKER_DIR: the file that marks stage N done (for a recipe that must know before it runs)
stage_marker() { echo "$3/stage$1.$2.done"; }

run_stage() {
  local n="$1" name="$2" marker_dir="$3"
  shift 3
  if [ "$n" -lt "$stage" ] || [ "$n" -gt "$stop_stage" ]; then
    return 0
  fi
  local marker
  marker=$(stage_marker "$n" "$name" "$marker_dir")
  if [ -f "$marker" ] && [ "${force:-false}" != true ]; then
    log "stage $n ($name): already done ($marker), skipping"
    return 0
  fi
  log "stage $n ($name): start"
  local t0
  t0=$(date +%s)
  "$@"
  mkdir -p "$marker_dir"
  date -u '+%Y-%m-%dT%H:%M:%SZ' > "$marker"
  log "stage $n ($name): done in $(( $(date +%s) - t0 )) s"
}

# train_restart_opts EXP_DIR: how a train stage starts again in EXP_DIR. `audiofront train` refuses an
# exp dir that already holds checkpoints; a recipe re-running its train stage either continues the run a
# crash or Ctrl-C interrupted (--resume from EXP_DIR/last.pt), or, with --force true, starts afresh
# (--overwrite: the old run is moved to EXP_DIR.bakN, never deleted).
train_restart_opts() {
  local exp_dir="$1"
  if [ "${force:-false}" = true ]; then
    echo "--overwrite"
  elif [ -f "$exp_dir/last.pt" ]; then
    log "train: $exp_dir/last.pt exists, resuming the interrupted run (--force true starts afresh)"
    echo "--resume"
  fi
}

# extract_restart_opts: `audiofront extract` keeps features made from the same request and refuses to replace
# others; with --force true a recipe's extract stage replaces them (--overwrite).
extract_restart_opts() {
  if [ "${force:-false}" = true ]; then echo "--overwrite"; fi
}
