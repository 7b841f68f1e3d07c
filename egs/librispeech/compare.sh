#!/usr/bin/env bash
# The comparison of the 2D-conv front-end paper (arXiv 2509.10031), small: frontends and token units on the
# LibriSpeech subset, each row the default recipe (run.sh: its 58-minute training budget, tuning on dev, the
# test speakers 1970/2136), then one table against the first row (`audiofront plot asr-study`).
#
#   bash egs/librispeech/compare.sh                                   # every row, one after another (~72 min each)
#   bash egs/librispeech/compare.sh --rows "fbank:phone leaf:phone"   # some rows; rows already run are skipped
#   bash egs/librispeech/compare.sh --run-opts "--num-threads 1"      # more run.sh options for every row
#   # the official protocol (run.sh's --test-speakers "" --parts ...): a paired study per dev/test set, and one table of
#   # every row on every set (exp/compare/SET/asr_study.md, exp/compare/sets.md)
#   bash egs/librispeech/compare.sh --test-speakers "" --parts train-clean-100,dev-clean,dev-other,test-clean,test-other \
#       --run-opts "--download true --corpus-dir download"
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
parts=train-clean-5         # run.sh's --parts and --test-speakers, passed on as they are ("" included, which
test_speakers=1970,2136     # --run-opts cannot carry)
run_opts=""                 # e.g. "--num-threads 1" or "--max-minutes 30" (then give every row the same)
recipe_options="rows encoder work_dir parts test_speakers run_opts"
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
    --tag "$tag" --parts "$parts" --test-speakers "$test_speakers" $run_opts
  # decoded: one test set (decode_lm), or several (decode_SET_lm, the official protocol)
  if compgen -G "$work_dir/exp/$tag/decode*_lm/hyp" > /dev/null; then dirs+=("$work_dir/exp/$tag"); fi
done
if [ ${#dirs[@]} -eq 0 ]; then
  echo "$0: no row has been decoded (exp/TAG/decode_lm/hyp or decode_SET_lm/hyp): nothing to compare" >&2; exit 1
fi
out=$work_dir/exp/compare
if [ -f "${dirs[0]}/decode_lm/hyp" ]; then
  rows_decoded=()
  for d in "${dirs[@]}"; do if [ -f "$d/decode_lm/hyp" ]; then rows_decoded+=("$d"); fi; done
  audiofront plot asr-study "${rows_decoded[@]}" --out-dir "$out"
  log "the table: $out/asr_study.md"
  exit 0
fi
# several sets: the first decoded row names them; a paired study per set of the rows that decoded it
sets=()
for d in "${dirs[0]}"/decode_*_lm; do s=${d##*/decode_}; sets+=("${s%_lm}"); done
for s in "${sets[@]}"; do
  rows_decoded=()
  for d in "${dirs[@]}"; do if [ -f "$d/decode_${s}_lm/hyp" ]; then rows_decoded+=("$d"); fi; done
  audiofront plot asr-study "${rows_decoded[@]}" --test-set "$s" --out-dir "$out/$s"
  log "$s: $out/$s/asr_study.md"
done
# and one table, icefall's layout: a row per run and decoding, a column per set (what `score` wrote in each run)
scores=()
for d in "${dirs[@]}"; do
  for name in greedy lm greedy_cer lm_cer greedy_ter greedy_per; do
    for s in "${sets[@]}"; do
      if [ -f "$d/score_${s}_$name/wer.json" ]; then scores+=("$d/score_${s}_$name"); fi
    done
  done
done
if [ ${#scores[@]} -gt 0 ]; then
  mkdir -p "$out"
  audiofront score-table "${scores[@]}" --strip-prefix librispeech- > "$out/sets.md.tmp"
  mv "$out/sets.md.tmp" "$out/sets.md"
  log "every row on every set: $out/sets.md"
fi
