#!/usr/bin/env bash
# The Kaldi yes/no corpus (60 recordings, one speaker, "ken"/"lo" as YES/NO): manifests, lang
# (characters, bigram LM), a small Conformer-CTC, greedy and LM decoding, WER.
#
#   bash egs/yesno/run.sh --corpus-dir ../shared/data/yesno/waves_yesno
#
# Stages: 0 manifests, 1 lang, 2 train, 3 decode greedy + LM, 4 score. Finished stages leave .done
# markers and are skipped (--force true reruns them).
set -euo pipefail
# Paths given as options are relative to where you run this from; the defaults live beside this script.
here="$(cd "$(dirname "$0")" && pwd)"

stage=0
stop_stage=4
force=false
corpus_dir=$here/../../../shared/data/yesno/waves_yesno
work_dir=$here
results=$here/RESULTS.md
lm_order=2
config=$here/../../recipes/yesno_fbank_tiny.yaml
frontend=""
frontend_conf=""
num_epochs=""
device=cpu
num_threads=2
train_opts=""
tag=fbank_tiny
lm_weight=0.5
word_score=-2.0         # a word penalty: without it the character model's LM decoding inserts extra words
decode_opts=""
recipe_options="stage stop_stage force corpus_dir work_dir results lm_order config frontend frontend_conf num_epochs
  device num_threads train_opts tag lm_weight word_score decode_opts"

. "$here/../utils/parse_options.sh"
. "$here/../utils/stages.sh"

data=$work_dir/data
manifests=$data/manifests
lang=$data/lang
exp=$work_dir/exp/$tag

stage_manifests() {
  audiofront prepare yesno --corpus-dir "$corpus_dir" --out-dir "$manifests"
}

stage_lang() {
  audiofront prepare lang --cuts "$manifests/yesno_cuts_train.jsonl.gz" --tokenizer char --lm-order "$lm_order" \
    --out-dir "$lang"
}

stage_train() {
  local opts=()
  if [ -n "$frontend" ]; then opts+=(--frontend "$frontend"); fi
  for kv in $frontend_conf; do opts+=(--frontend-conf "$kv"); done
  if [ -n "$num_epochs" ]; then opts+=(--num-epochs "$num_epochs"); fi
  # shellcheck disable=SC2086
  audiofront train --task asr --config "$config" "${opts[@]}" --train-cuts "$manifests/yesno_cuts_train.jsonl.gz" \
    --lang-dir "$lang" --exp-dir "$exp" --device "$device" --num-threads "$num_threads" $(train_restart_opts "$exp") $train_opts
}

stage_decode() {
  for method in greedy lm; do
    # shellcheck disable=SC2086
    audiofront decode --checkpoint "$exp/avg.pt" --cuts "$manifests/yesno_cuts_test.jsonl.gz" --lang-dir "$lang" \
      --method "$method" --lm-weight "$lm_weight" --word-score "$word_score" --device "$device" --num-threads "$num_threads" \
      --out-dir "$exp/decode_$method" $decode_opts
  done
}

stage_score() {
  for method in greedy lm; do
    audiofront score --ref "$exp/decode_$method/ref" --hyp "$exp/decode_$method/hyp" --out-dir "$exp/score_$method" \
      --dataset yesno-test --results "$results" --tag "${tag}_$method"
  done
}

run_stage 0 manifests "$data/.done" stage_manifests
run_stage 1 lang "$data/.done" stage_lang
run_stage 2 train "$exp/.done" stage_train
run_stage 3 decode "$exp/.done" stage_decode
run_stage 4 score "$exp/.done" stage_score
