#!/usr/bin/env bash
# The learned filters of the LEAF study, after training: the numbers of every trained checkpoint
# (`audiofront inspect-filters CKPT --json` into exp/filters/TASK/SYSTEM/seedN.json, plus the untrained
# frontends as exp/filters/init/NAME.json), their table over seeds (exp/filters/filters.md, by
# ../utils/filter_table.py) and, for seed 0 of each task, the figure of the learned bank against mel
# (exp/filters/TASK/SYSTEM.png: centres, bandwidths, responses, pooling widths, PCEN parameters).
#
#   bash egs/leaf_study/filters.sh [--systems "leaf gabor+log"] [--tasks "fsdd-digits multitask"]
set -euo pipefail
cd "$(dirname "$0")"

systems="leaf gabor+log gabor+pcen mel-pcen mel+pcen sincnet sincnet+"
tasks="fsdd-digits fsdd-speaker librispeech-speaker demo-accent multitask"
out=exp/filters
recipe_options="systems tasks out"
. ../utils/parse_options.sh
. ../utils/stages.sh

inspect_json() {  # inspect_json SPEC DEST.json: the numbers, written atomically
  local tmp
  tmp="$(dirname "$2")/.$(basename "$2").tmp"
  audiofront inspect-filters "$1" --json > "$tmp" && mv "$tmp" "$2"
}

mkdir -p "$out/init"
for name in leaf mel-pcen sincnet; do inspect_json "$name" "$out/init/$name.json"; done
found=0
for task in $tasks; do
  for system in $systems; do
    for ckpt in exp/"$task"/"$system"/seed*/avg.pt; do
      [ -f "$ckpt" ] || continue
      seed_dir=$(basename "$(dirname "$ckpt")")
      dest=$out/$task/$system
      mkdir -p "$dest"
      inspect_json "$ckpt" "$dest/$seed_dir.json"
      [ "$seed_dir" = seed0 ] && audiofront inspect-filters "$ckpt" --compare mel --png "$dest.png" > /dev/null
      found=$((found + 1))
    done
  done
done
[ "$found" -gt 0 ] || { echo "$0: no exp/TASK/SYSTEM/seedN/avg.pt for systems '$systems' (train them with run.sh first)" >&2; exit 1; }
python3 ../utils/filter_table.py "$out" > "$out/.filters.md.tmp" && mv "$out/.filters.md.tmp" "$out/filters.md"
log "$found checkpoints: $out/filters.md and the seed-0 figures $out/TASK/SYSTEM.png"
