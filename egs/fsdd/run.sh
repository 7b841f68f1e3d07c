#!/usr/bin/env bash
# Free Spoken Digit Dataset: digit recognition (or digit + speaker multi-task) with any frontend.
#
#   bash egs/fsdd/run.sh --frontend leaf                       # train on 4 speakers, test on theo
#   bash egs/fsdd/run.sh --frontend leaf --compare-with mel    # + paired bootstrap against the mel run
#   bash egs/fsdd/run.sh --config ../../recipes/fsdd_multitask.yaml --split index --test-speakers "" --tag multitask
#
# Stages: 0 prepare manifests, 1 train, 2 evaluate (whole clips, optional noise sweep), 3 score,
#         4 inspect the learned filters against mel (frontends with filters only).
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=4
force=false
corpus_dir=../../../shared/data/fsdd
test_speakers=theo          # split by speaker: train on the other four
split=speaker               # speaker | index (recordings 0-4 of everyone = test; for the speaker head)
data_dir=                   # default: data/<split>
config=../../recipes/fsdd_small_cnn.yaml
frontend=mel
frontend_conf=              # e.g. "n_filters=40 compression=spcen"
tag=                        # experiment name (default: the frontend name)
num_epochs=                 # override the recipe's
num_threads=2
snr=clean                   # e.g. clean,20,10,5,0,-5 for the noise sweep
compare_with=               # tag of another run to bootstrap against (stage 3)
train_opts=                 # more `audiofront train` options, passed through
recipe_options="stage stop_stage force corpus_dir test_speakers split data_dir config frontend frontend_conf tag num_epochs num_threads snr compare_with train_opts"
. ../utils/parse_options.sh
. ../utils/stages.sh

tag=${tag:-$frontend}
data_dir=${data_dir:-data/$split}
exp=exp/$tag
mkdir -p "$exp"

prepare() {
  local opts=(--corpus-dir "$corpus_dir" --out-dir "$data_dir" --split "$split")
  [ "$split" = speaker ] && opts+=(--test-speakers "$test_speakers")
  audiofront prepare fsdd "${opts[@]}"
}

train() {
  local opts=(--task classify --config "$config" --frontend "$frontend" --train-cuts "$data_dir/fsdd_cuts_train.jsonl.gz"
              --exp-dir "$exp" --num-threads "$num_threads" --no-progress)
  for kv in $frontend_conf; do opts+=(--frontend-conf "$kv"); done
  [ -n "$num_epochs" ] && opts+=(--num-epochs "$num_epochs")
  # shellcheck disable=SC2086
  audiofront train "${opts[@]}" $(train_restart_opts "$exp") $train_opts
}

evaluate() {
  audiofront evaluate --checkpoint "$exp/avg.pt" --cuts "$data_dir/fsdd_cuts_test.jsonl.gz" --out-dir "$exp/eval" --snr "$snr"
}

. ../utils/classify_stages.sh

run_stage 0 prepare "$data_dir" prepare
run_stage 1 train "$exp" train
run_stage 2 evaluate "$exp" evaluate
run_stage 3 score "$exp" score
run_stage 4 inspect "$exp" inspect
