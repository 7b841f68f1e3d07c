#!/usr/bin/env bash
# The comparison of the 2D-conv front-end paper (arXiv 2509.10031), small: frontends and token units on the
# LibriSpeech subset, each row the default recipe (run.sh: its 58-minute training budget, tuning on dev, the
# test speakers 1970/2136), then one table against the first row (`audiofront plot asr-study`).
#
#   bash egs/librispeech/compare.sh                                   # every row, one after another (~72 min each)
#   bash egs/librispeech/compare.sh --rows "fbank:phone leaf:phone"   # some rows; rows already run are skipped
#   bash egs/librispeech/compare.sh --run-opts "--num-threads 1"      # more run.sh options for every row
#   # the official protocol (run.sh's): no speaker split, every dev/test part decoded, the official 4-gram; in a work
#   # dir of its own, since the rows' folders have the same names as the speaker split's
#   bash egs/librispeech/compare.sh --work-dir official --test-speakers "" \
#       --parts train-clean-100,dev-clean,dev-other,test-clean,test-other \
#       --run-opts "--download true --corpus-dir download --download-lm 4-gram.arpa.gz"
#
# A row is FRONTEND:TOKENIZER; its run goes to exp/FRONTEND_ENCODER_TOKENIZER (run.sh's own default, so the
# plain `bash egs/librispeech/run.sh` is the fbank:phone row). Run the rows one at a time on a quiet machine:
# the budget is wall-clock time, so a row sharing the cores gets fewer steps. The tables are made again on every
# call from the rows decoded so far: exp/compare/asr_study.md for one test set; with several (the official
# protocol) exp/compare/SET/asr_study.md for each set and exp/compare/sets.md, every row on every set.
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
  if [ -z "$test_speakers" ] && [ -d "$work_dir/exp/$tag/decode_lm" ]; then
    echo "$0: $work_dir/exp/$tag was decoded under the speaker split (decode_lm/); run the official protocol in a" \
      "work dir of its own (--work-dir DIR)" >&2; exit 1
  fi
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
# the sets the rows decoded: none named (decode_lm: the one test set of a speaker split), or several (decode_SET_lm)
single=() sets=()
for d in "${dirs[@]}"; do
  if [ -f "$d/decode_lm/hyp" ]; then single+=("$d"); fi
  for h in "$d"/decode_*_lm/hyp; do
    if [ ! -f "$h" ]; then continue; fi
    s=${h%_lm/hyp}; s=${s##*/decode_}
    case " ${sets[*]} " in *" $s "*) ;; *) sets+=("$s") ;; esac
  done
done
if [ ${#sets[@]} -eq 0 ]; then
  audiofront plot asr-study "${single[@]}" --out-dir "$out"
  log "the table: $out/asr_study.md"
  exit 0
fi
if [ ${#single[@]} -gt 0 ]; then log "note: not in the tables by set (decoded on one test set): ${single[*]}"; fi
# a paired study per set, of the rows that decoded it, against the first of them
for s in "${sets[@]}"; do
  rows_decoded=()
  for d in "${dirs[@]}"; do if [ -f "$d/decode_${s}_lm/hyp" ]; then rows_decoded+=("$d"); fi; done
  if [ "${rows_decoded[0]}" != "${dirs[0]}" ]; then log "note: ${dirs[0]} did not decode $s: its baseline is ${rows_decoded[0]}"; fi
  audiofront plot asr-study "${rows_decoded[@]}" --test-set "$s" --out-dir "$out/$s"
  log "$s: $out/$s/asr_study.md"
done
# and one table, icefall's layout: a row per run and decoding (run.sh's stage 6 names), a column per set
scores=()
for d in "${dirs[@]}"; do
  for name in greedy lm greedy_cer lm_cer greedy_ter greedy_per; do
    for s in "${sets[@]}"; do
      if [ -f "$d/score_${s}_$name/wer.json" ]; then scores+=("$d/score_${s}_$name"); fi
    done
  done
done
mkdir -p "$out"
if [ ${#scores[@]} -eq 0 ]; then
  rm -f "$out/sets.md"
  log "no row has been scored on its sets (exp/TAG/score_SET_*; run.sh stage 6): no $out/sets.md"
  exit 0
fi
{
  echo "# error rates (%) by set, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  for d in "${dirs[@]}"; do
    if [ -f "$d/decode_lm_params" ]; then echo "- ${d##*/}: $(cat "$d/decode_lm_params")"; fi
  done
  if grep -qs "tuned on" "${dirs[@]/%//decode_lm_params}"; then echo; echo "The LM rows of a set tuned on are optimistic."; fi
  echo
  audiofront score-table "${scores[@]}" --strip-prefix librispeech-
} > "$out/sets.md.tmp" || { rm -f "$out/sets.md.tmp"; exit 1; }
mv "$out/sets.md.tmp" "$out/sets.md"
log "every row on every set: $out/sets.md"
