#!/usr/bin/env bash
# Speech Commands v2, the LEAF paper's 35-class protocol (test = testing_list.txt; background noise left out).
#
#   bash egs/speechcommands/run.sh --corpus-dir /data/speech_commands --download true --frontend leaf
#   bash egs/speechcommands/run.sh --frontend mel --snr clean,20,10,5,0,-5   # + noise-robustness sweep
#
# Stages: 0 prepare (download through lhotse with --download true), 1 train, 2 evaluate on whole clips,
#         3 score (accuracy + 95% CI, per class, confusion; bootstrap with --compare-with TAG),
#         4 inspect the learned filters against mel.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=4
force=false
corpus_dir=download         # holds speech_commands_v0.02/ (or receives it with --download true)
download=false
data_dir=data
config=../../recipes/speechcommands_b0.yaml
frontend=leaf
frontend_conf=              # e.g. "n_filters=40 compression=spcen"
tag=
num_epochs=
device=auto
num_threads=0
snr=clean
compare_with=
train_opts=                 # more `audiofront train` options, passed through (e.g. "--set encoder=small-cnn")
recipe_options="stage stop_stage force corpus_dir download data_dir config frontend frontend_conf tag num_epochs device num_threads snr compare_with train_opts"
. ../utils/parse_options.sh
. ../utils/stages.sh

tag=${tag:-$frontend}
exp=exp/$tag
mkdir -p "$exp"

prepare() {
  local opts=(--corpus-dir "$corpus_dir" --out-dir "$data_dir")
  [ "$download" = true ] && opts+=(--download)
  audiofront prepare speechcommands "${opts[@]}"
}

train() {
  local opts=(--task classify --config "$config" --frontend "$frontend" --train-cuts "$data_dir/speechcommands_cuts_train.jsonl.gz"
              --valid-cuts "$data_dir/speechcommands_cuts_valid.jsonl.gz" --exp-dir "$exp" --device "$device"
              --num-threads "$num_threads" --no-progress)
  for kv in $frontend_conf; do opts+=(--frontend-conf "$kv"); done
  [ -n "$num_epochs" ] && opts+=(--num-epochs "$num_epochs")
  # shellcheck disable=SC2086
  audiofront train "${opts[@]}" $(train_restart_opts "$exp") $train_opts
}

evaluate() {
  local dev=$device
  [ "$dev" = auto ] && dev=$(python3 -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
  audiofront evaluate --checkpoint "$exp/avg.pt" --cuts "$data_dir/speechcommands_cuts_test.jsonl.gz" \
    --out-dir "$exp/eval" --snr "$snr" --device "$dev" --batch-size 64
}

. ../utils/classify_stages.sh

run_stage 0 prepare "$data_dir" prepare
run_stage 1 train "$exp" train
run_stage 2 evaluate "$exp" evaluate
run_stage 3 score "$exp" score
run_stage 4 inspect "$exp" inspect
