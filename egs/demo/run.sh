#!/usr/bin/env bash
# The built-in demo, end to end on a laptop CPU: synthesise the demo corpus (eSpeak NG voices; the test
# voices never occur in training), build the tokenizer/lexicon/LM, train the 2dconv frontend with a tiny
# Conformer-CTC, decode greedy and with the n-gram LM, print the WER table and draw the learned filters.
#
#   bash egs/demo/run.sh                      # everything
#   bash egs/demo/run.sh --stage 3            # from decoding on (finished stages are skipped anyway)
#   bash egs/demo/run.sh --frontend fbank --tag fbank     # another frontend, its own exp dir
#   bash egs/demo/run.sh --help               # all options
#
# Stages: 0 demo corpus, 1 lang (tokenizer + lexicon + LM), 2 train, 3 decode greedy + LM, 4 score,
# 5 inspect-filters. A stage that finished leaves a .done marker and is skipped next time (--force true
# reruns it). Outputs go to egs/demo/{data,exp} (--work-dir); the WER rows are appended to egs/demo/RESULTS.md.
set -euo pipefail
# Paths given as options are relative to where you run this from; the defaults live beside this script.
here="$(cd "$(dirname "$0")" && pwd)"

stage=0
stop_stage=5
force=false
# data
n_train=1500
n_dev=0
n_test=200
seed=0
num_jobs=2
# lang
tokenizer=char          # char tokens left the CTC blank plateau far sooner than BPE-128 in our runs
vocab_size=128
lm_order=3
# model and training
config=$here/../../recipes/demo_2dconv_tiny.yaml
frontend=""              # empty: the config's (2dconv)
frontend_conf=""         # e.g. "n_filters=16"
num_epochs=""            # empty: the config's
max_duration=""
lr=""
device=cpu
num_threads=2
train_opts=""            # passed through to `audiofront train`, e.g. "--set encoder_conf.num_layers=2"
tag=2dconv_tiny
# decoding
beam_size=50             # not the toolkit's 500: the demo's lexicon has 124 words, and the quick start is timed
lm_weight=1.0
word_score=0.0
decode_opts=""           # passed through to `audiofront decode`
work_dir=$here          # data/ and exp/ go here
results=$here/RESULTS.md # the WER rows are appended here
recipe_options="stage stop_stage force work_dir results n_train n_dev n_test seed num_jobs tokenizer vocab_size lm_order config
  frontend frontend_conf num_epochs max_duration lr device num_threads train_opts tag beam_size lm_weight
  word_score decode_opts"

. "$here/../utils/parse_options.sh"
. "$here/../utils/stages.sh"

data=$work_dir/data
manifests=$data/manifests
lang=$data/lang
exp=$work_dir/exp/$tag

stage_corpus() {
  audiofront prepare demo --out-dir "$manifests" --audio-dir "$data/audio" \
    --n-train "$n_train" --n-dev "$n_dev" --n-test "$n_test" --seed "$seed" --num-jobs "$num_jobs"
}

stage_lang() {
  audiofront prepare lang --cuts "$manifests/demo_cuts_train.jsonl.gz" --tokenizer "$tokenizer" \
    --vocab-size "$vocab_size" --lm-order "$lm_order" --out-dir "$lang"
}

stage_train() {
  local opts=()
  if [ -n "$frontend" ]; then opts+=(--frontend "$frontend"); fi
  for kv in $frontend_conf; do opts+=(--frontend-conf "$kv"); done
  if [ -n "$num_epochs" ]; then opts+=(--num-epochs "$num_epochs"); fi
  if [ -n "$max_duration" ]; then opts+=(--max-duration "$max_duration"); fi
  if [ -n "$lr" ]; then opts+=(--lr "$lr"); fi
  # shellcheck disable=SC2086  # train_opts is a list of options on purpose
  audiofront train --task asr --config "$config" "${opts[@]}" \
    --train-cuts "$manifests/demo_cuts_train.jsonl.gz" --lang-dir "$lang" --exp-dir "$exp" \
    --device "$device" --num-threads "$num_threads" $(train_restart_opts "$exp") $train_opts
}

stage_decode() {
  for method in greedy lm; do
    # shellcheck disable=SC2086
    audiofront decode --checkpoint "$exp/avg.pt" --cuts "$manifests/demo_cuts_test.jsonl.gz" --lang-dir "$lang" \
      --method "$method" --beam-size "$beam_size" --lm-weight "$lm_weight" --word-score "$word_score" \
      --device "$device" --num-threads "$num_threads" --out-dir "$exp/decode_$method" $decode_opts
  done
}

stage_score() {
  for method in greedy lm; do
    audiofront score --ref "$exp/decode_$method/ref" --hyp "$exp/decode_$method/hyp" \
      --out-dir "$exp/score_$method" --dataset demo-test --results "$results" --tag "${tag}_$method"
  done
}

stage_filters() {
  # the learned first-layer filters against mel: in the terminal, then as a PNG
  audiofront inspect-filters "$exp/avg.pt" --compare mel --filters 0,2,4,6
  audiofront inspect-filters "$exp/avg.pt" --compare mel --filters 0,2,4,6 --png "$exp/filters.png"
  log "learned filters also drawn in $exp/filters.png"
}

run_stage 0 corpus "$data/.done" stage_corpus
run_stage 1 lang "$data/.done" stage_lang
run_stage 2 train "$exp/.done" stage_train
run_stage 3 decode "$exp/.done" stage_decode
run_stage 4 score "$exp/.done" stage_score
run_stage 5 filters "$exp/.done" stage_filters

if [ "$stop_stage" -ge 4 ] && [ -f "$exp/score_lm/wer_summary.md" ]; then
  echo
  echo "demo WER on unseen test voices ($exp):"
  for method in greedy lm; do
    echo "  $method: $(head -3 "$exp/score_$method/wer_summary.md" | tail -1)"
  done
fi
