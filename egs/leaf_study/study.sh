#!/usr/bin/env bash
# The whole LEAF study: every task x frontend x seed through run.sh (finished stages are skipped, so an
# interrupted study resumes), then summarize.sh. Hours of CPU at the recipes' budgets.
#
#   bash egs/leaf_study/study.sh
#   bash egs/leaf_study/study.sh --tasks "fsdd-digits" --frontends "mel leaf" --seeds "0" --max-steps 5 --log-every 1
set -euo pipefail
cd "$(dirname "$0")"

tasks="fsdd-digits fsdd-speaker librispeech-speaker demo-accent"
frontends="mel leaf mel-pcen sincnet sincnet+ tdfbanks"
multitask_frontends="mel leaf"   # the multi-task model (LEAF eq. 7); empty: none
seeds="0 1 2"
snr=clean,20,10,5,0,-5
max_steps=
log_every=
recipe_options="tasks frontends multitask_frontends seeds snr max_steps log_every"
. ../utils/parse_options.sh

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
done
bash summarize.sh
