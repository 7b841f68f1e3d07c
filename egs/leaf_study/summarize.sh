#!/usr/bin/env bash
# Summarise the LEAF study from exp/TASK/SYSTEM/seedN/eval: accuracy mean ± std over seeds per task and
# frontend, the paired bootstrap of each frontend against mel pooled over tasks (exp/study/study.{json,md}),
# the bar chart with 95% whiskers (exp/study/bars.png) and, when runs were evaluated in noise, the
# accuracy-vs-SNR figure (exp/study/snr.png).
#
#   bash egs/leaf_study/summarize.sh [--baseline mel] [--n-boot 10000]
set -euo pipefail
cd "$(dirname "$0")"

baseline=mel
n_boot=10000
out=exp/study
recipe_options="baseline n_boot out"
. ../utils/parse_options.sh
. ../utils/stages.sh

audiofront plot study exp --out-dir "$out" --baseline "$baseline" --n-boot "$n_boot"
audiofront plot bars "$out/study.json" --png "$out/bars.png"
if ! grep -q '"snr": {}' "$out/study.json"; then
  audiofront plot snr "$out/study.json" --png "$out/snr.png"
else
  log "no run was evaluated at more than one SNR: no snr.png (run.sh --snr clean,20,10,5,0,-5)"
fi
