# Stages shared by the classification recipes (egs/fsdd, egs/speechcommands). Sourced after the recipe has set
# exp, tag, frontend and compare_with, and after egs/utils/stages.sh (for `log`).

# score every evaluation condition (clean, each SNR); paired bootstrap against --compare-with when it has run
score() {
  local dir opts
  for dir in "$exp"/eval/*/; do
    dir=${dir%/}
    opts=(--task classify --hyp "$dir/predictions.jsonl" --out-dir "$exp/score/$(basename "$dir")" --dataset "$tag")
    if [ -n "$compare_with" ] && [ "$compare_with" != "$tag" ] && [ -f "exp/$compare_with/eval/$(basename "$dir")/predictions.jsonl" ]; then
      opts+=(--compare "exp/$compare_with/eval/$(basename "$dir")/predictions.jsonl")
    fi
    audiofront score "${opts[@]}"
  done
}

# the learned filters against mel (frontends without filters are skipped with a message)
inspect() {
  if audiofront inspect-filters "$exp/avg.pt" --json > "$exp/filters.json" 2>/dev/null; then
    audiofront inspect-filters "$exp/avg.pt" --compare mel --png "$exp/filters.png"
  else
    log "stage 4: frontend $frontend has no filters to inspect"
    rm -f "$exp/filters.json"
  fi
}
