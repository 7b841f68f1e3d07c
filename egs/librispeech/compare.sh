#!/usr/bin/env bash
# The comparison of the 2D-conv front-end paper (arXiv 2509.10031), small: frontends and token units on the
# LibriSpeech subset, each row the default recipe (run.sh: its 58-minute training budget, tuning on dev, the
# test speakers 1970/2136), then one table against the first row (`audiofront plot asr-study`).
#
#   bash egs/librispeech/compare.sh                                   # every row, one after another (~72 min each)
#   bash egs/librispeech/compare.sh --rows "fbank:phone leaf:phone"   # some rows; rows already run are skipped
#   bash egs/librispeech/compare.sh --run-opts "--num-threads 1"      # more run.sh options for every row
#
# A row is FRONTEND:TOKENIZER; its run goes to exp/FRONTEND_ENCODER_TOKENIZER (run.sh's own default, so the
# plain `bash egs/librispeech/run.sh` is the fbank:phone row). Run the rows one at a time on a quiet machine:
# the budget is wall-clock time, so a row sharing the cores gets fewer steps. The table
# (exp/compare/asr_study.md) is made again on every call from the rows decoded so far.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

rows="fbank:phone fbank:char fbank:bpe 2dconv:phone leaf:phone scf:phone"
encoder=tiny
work_dir=$here
run_opts=""                 # e.g. "--num-threads 1" or "--max-minutes 30" (then give every row the same)
recipe_options="rows encoder work_dir run_opts"
. "$here/../utils/parse_options.sh"
. "$here/../utils/stages.sh"

dirs=()
for row in $rows; do
  case "$row" in
    *:phone|*:char|*:bpe) ;;
    *) echo "$0: --rows takes FRONTEND:TOKENIZER (tokenizer phone, char or bpe), got '$row'" >&2; exit 1 ;;
  esac
done
for row in $rows; do
  frontend=${row%%:*} tokenizer=${row#*:}
  tag=${frontend}_${encoder}_${tokenizer}
  log "row $row: exp/$tag"
  # shellcheck disable=SC2086
  bash "$here/run.sh" --work-dir "$work_dir" --frontend "$frontend" --tokenizer "$tokenizer" --encoder "$encoder" \
    --tag "$tag" $run_opts
  if [ -f "$work_dir/exp/$tag/decode_lm/hyp" ]; then dirs+=("$work_dir/exp/$tag"); fi
done
if [ ${#dirs[@]} -eq 0 ]; then
  echo "$0: no row has been decoded (exp/TAG/decode_lm/hyp): nothing to compare" >&2; exit 1
fi
audiofront plot asr-study "${dirs[@]}" --out-dir "$work_dir/exp/compare"
log "the table: $work_dir/exp/compare/asr_study.md"
