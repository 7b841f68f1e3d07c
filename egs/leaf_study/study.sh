#!/usr/bin/env bash
# The whole LEAF study: every task x frontend x seed through run.sh (finished stages are skipped, so an
# interrupted study resumes), the multi-task model, the LEAF paper's Table 2 grid of filters x compression,
# then summarize.sh and filters.sh. Hours of CPU at the recipes' budgets.
#
#   bash egs/leaf_study/study.sh
#   bash egs/leaf_study/study.sh --tasks "fsdd-digits" --frontends "mel leaf" --seeds "0" --max-steps 5 --log-every 1
#
# The Table 2 grid (filters x compression) as systems of the study; the other cells are study frontends:
#   mel + log = mel, mel + sPCEN = mel-pcen, Gabor + sPCEN = leaf (the defaults of those frontends), and
#   mel+pcen     mel-pcen --frontend-conf compression=pcen   (PCEN with s fixed, alpha/delta/r learned)
#   gabor+log    leaf --frontend-conf compression=log       (LEAF's filters and pooling, log compression)
#   gabor+pcen   leaf --frontend-conf compression=pcen
set -euo pipefail
cd "$(dirname "$0")"

tasks="fsdd-digits fsdd-speaker librispeech-speaker demo-accent"
frontends="mel leaf mel-pcen sincnet sincnet+ tdfbanks"
multitask_frontends="mel leaf"   # the multi-task model (LEAF eq. 7); empty: none
grid_systems="mel+pcen gabor+log gabor+pcen"   # empty: no grid
grid_tasks="fsdd-digits librispeech-speaker"   # fsdd-speaker is at 98-100% for every frontend
seeds="0 1 2"
snr=clean,20,10,5,0,-5
max_steps=
log_every=
recipe_options="tasks frontends multitask_frontends grid_systems grid_tasks seeds snr max_steps log_every"
. ../utils/parse_options.sh

grid_opts() {  # the run.sh options of a grid system
  case "$1" in
    mel+pcen) echo "--frontend mel-pcen --frontend-conf compression=pcen --tag mel+pcen" ;;
    gabor+log) echo "--frontend leaf --frontend-conf compression=log --tag gabor+log" ;;
    gabor+pcen) echo "--frontend leaf --frontend-conf compression=pcen --tag gabor+pcen" ;;
    *) echo "$0: unknown grid system '$1' (mel+pcen | gabor+log | gabor+pcen)" >&2; return 1 ;;
  esac
}
for system in $grid_systems; do grid_opts "$system" > /dev/null; done  # refuse a bad name before hours of runs

opts=(--snr "$snr")
[ -n "$max_steps" ] && opts+=(--max-steps "$max_steps")
[ -n "$log_every" ] && opts+=(--log-every "$log_every")
for seed in $seeds; do
  for task in $tasks; do
    for frontend in $frontends; do
      bash run.sh --task "$task" --frontend "$frontend" --seed "$seed" "${opts[@]}"
    done
  done
  for frontend in $multitask_frontends; do
    bash run.sh --task multitask --frontend "$frontend" --seed "$seed" "${opts[@]}"
  done
  for task in $grid_tasks; do
    for system in $grid_systems; do
      # shellcheck disable=SC2046
      bash run.sh --task "$task" $(grid_opts "$system") --seed "$seed" "${opts[@]}"
    done
  done
done
bash summarize.sh
bash filters.sh
