#!/usr/bin/env bash
# Self-supervised learnable frontends (Yadav & Zeghidour, Interspeech 2022): COLA pretraining of
# mel / LEAF / SincNet (mel or random initialisation) on unlabelled audio, then linear probes.
#
#   bash egs/ssl/run.sh                                   # the study (LibriSpeech train-clean-5 as unlabelled audio)
#   bash egs/ssl/run.sh --unlabelled-dir /my/audio         # pretrain on any folder of audio (any rate, any channels)
#   bash egs/ssl/run.sh --pretrain-steps 3 --probe-epochs 1 --probe-max-steps 3 --probe-tasks fsdd-digits \
#        --configs "mel leaf_random" --tag tiny            # a smoke run of every stage (a few minutes)
#   bash egs/ssl/run.sh --seeds "0 1 2"                   # three replicates of the whole study, pooled in stage 6
#
# Seeds: each seed N of --seeds is a replicate of everything that is trained: COLA pretraining with trainer
# seed 42+N and batch-sampler seed N (N=0: the recipe's own seeds), then the probes and baselines with seed
# N; stage 6 averages over every seed folder there is. Seeds can run as separate invocations at once (e.g. one
# per core with --num-threads 1) once stages 0-1 are done: --stage 2 --stop-stage 5 --seeds 1, and so on.
#
# Stages:
#   0  prepare the unlabelled set (`prepare folder`) -> data/unlabelled/
#   1  prepare the probe tasks' data                  -> data/<task>/
#   2  COLA pretraining of each configuration         -> exp/<tag>/cola/<config>/seed<N>/
#   3  linear probe of each configuration on each task (--freeze $probe_freeze) -> exp/<tag>/probe/<task>/<config>/seed<N>/
#   4  supervised baselines: the same encoder from scratch on each task  -> exp/<tag>/probe/<task>/supervised-<frontend>/seed<N>/
#   5  evaluate every probe and baseline on its task's test set (whole clips)
#   6  score: accuracy with 95% CI and the paired bootstrap against the mel probe, per run; then the table
#      (`audiofront plot study`: every task x system, mean ± std over seeds, bootstrap against mel pooled over
#      tasks) -> exp/<tag>/summary/ (made again on every run of stage 6: it summarises whatever seeds exist)
#   7  draw the learned filters of each pretrained frontend against mel (and its supervised counterpart), and
#      their numbers over seeds next to each untrained frontend (egs/utils/filter_table.py) -> exp/<tag>/summary/filters.md,
#      and the histogram of centre frequencies of each (egs/utils/filter_figure.py) -> exp/<tag>/summary/centres.png
# A finished stage leaves a stageN.NAME.done marker in its output folder and is skipped next time;
# --force true reruns it (a training stage then starts afresh; the old run is moved to EXP.bakN).
#
# Configurations (--configs): mel, leaf_mel, leaf_random, sincnet_mel, sincnet_random.
# Probe tasks (--probe-tasks): fsdd-digits and fsdd-speaker work from ../shared/data/fsdd;
# librispeech-speaker and demo-accent use the preparers of the classification study (egs/leaf_study):
# their data stage is below (prepare_task), written against those commands.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
tag=study                    # experiment name: exp/<tag>/
shared=../../../shared/data
unlabelled_dir=             # default: $shared/LibriSpeech/train-clean-5
configs="mel leaf_mel leaf_random sincnet_mel sincnet_random"
probe_tasks="fsdd-digits fsdd-speaker librispeech-speaker demo-accent"
probe_freeze=frontend,encoder   # the linear probe; "frontend" fine-tunes the encoder, "none" everything
seeds="0"                    # replicates of pretraining + probes (see Seeds above); e.g. "0 1 2"
supervised_frontends="mel"   # the supervised-from-scratch baselines (any frontends)
cola_config=../../recipes/ssl_cola.yaml
probe_config=../../recipes/ssl_probe.yaml
pretrain_steps=              # override the recipe's max_steps (the same for every configuration)
batch_size=                  # override the pretraining batch size
probe_epochs=                # override the probe recipe's num_epochs
probe_max_steps=             # e.g. 3: a smoke run of the probes and baselines
num_threads=2
train_opts=                  # more `audiofront train` options for every training stage
recipe_options="stage stop_stage force tag shared unlabelled_dir configs probe_tasks probe_freeze seeds
  supervised_frontends cola_config probe_config pretrain_steps batch_size probe_epochs probe_max_steps num_threads train_opts"
. ../utils/parse_options.sh
. ../utils/stages.sh

unlabelled_dir=${unlabelled_dir:-$shared/LibriSpeech/train-clean-5}
exp=exp/$tag
mkdir -p "$exp"

# ---- configurations: frontend name and options (the probe uses the same ones) ------------------------
frontend_of() {
  case "$1" in
    mel) echo mel ;;
    leaf_mel|leaf_random) echo leaf ;;
    sincnet_mel|sincnet_random) echo sincnet ;;
    *) echo "$0: unknown configuration $1 (mel leaf_mel leaf_random sincnet_mel sincnet_random)" >&2; exit 1 ;;
  esac
}
frontend_conf_of() {
  case "$1" in
    *_random) echo "init=random" ;;
    leaf_mel|sincnet_mel) echo "init=mel" ;;
    *) echo "" ;;
  esac
}
for c in $configs; do frontend_of "$c" >/dev/null; done

# ---- probe tasks: data folder, train/test cuts, label --------------------------------------------------
# (one place to add a task: a case here and one in prepare_task)
task_info() {  # sets data, train_cuts, test_cuts, label
  case "$1" in
    fsdd-digits) data=data/fsdd_theo; train_cuts=$data/fsdd_cuts_train.jsonl.gz; test_cuts=$data/fsdd_cuts_test.jsonl.gz; label=digit ;;
    fsdd-speaker) data=data/fsdd_index; train_cuts=$data/fsdd_cuts_train.jsonl.gz; test_cuts=$data/fsdd_cuts_test.jsonl.gz; label=speaker ;;
    librispeech-speaker) data=data/librispeech_speakers; train_cuts=$data/librispeech_speakers_cuts_train.jsonl.gz
      test_cuts=$data/librispeech_speakers_cuts_test.jsonl.gz; label=speaker ;;
    demo-accent) data=data/demo_accents; train_cuts=$data/demo_accents_cuts_train.jsonl.gz
      test_cuts=$data/demo_accents_cuts_test.jsonl.gz; label=accent ;;
    *) echo "$0: unknown probe task $1 (fsdd-digits fsdd-speaker librispeech-speaker demo-accent)" >&2; exit 1 ;;
  esac
}
for t in $probe_tasks; do task_info "$t"; done

prepare_task() {
  case "$1" in
    fsdd-digits) audiofront prepare fsdd --corpus-dir "$shared/fsdd" --out-dir "$data" --split speaker --test-speakers theo ;;
    fsdd-speaker) audiofront prepare fsdd --corpus-dir "$shared/fsdd" --out-dir "$data" --split index ;;
    # the classification study's preparers (egs/leaf_study/run.sh prepares them the same way)
    librispeech-speaker) audiofront prepare librispeech-speakers --corpus-dir "$shared/LibriSpeech" --out-dir "$data" \
      --test-fraction 0.2 --seed 0 --window-seconds 1 ;;
    demo-accent) audiofront prepare demo --out-dir data/demo --n-train 1500 --n-dev 0 --n-test 400 --seed 0
      audiofront prepare demo-accents --manifest-dir data/demo --out-dir "$data" ;;
  esac
}

# ---- stage functions ---------------------------------------------------------------------------------
prepare_unlabelled() {
  audiofront prepare folder --corpus-dir "$unlabelled_dir" --out-dir data/unlabelled --name unlabelled
}

pretrain() {  # pretrain CONFIG (seed $seed)
  local c="$1" dir="$exp/cola/$1/seed$seed" opts
  opts=(--task cola --config "$cola_config" --frontend "$(frontend_of "$c")" --train-cuts data/unlabelled/unlabelled_cuts_all.jsonl.gz
        --exp-dir "$dir" --num-threads "$num_threads" --no-progress)
  for kv in $(frontend_conf_of "$c"); do opts+=(--frontend-conf "$kv"); done
  [ -n "$pretrain_steps" ] && opts+=(--max-steps "$pretrain_steps")
  [ -n "$batch_size" ] && opts+=(--set "batch_size=$batch_size")
  # initialisation, crops and noise (trainer) and batch order (the task's sampler); seed 0 = the recipe's 42 and 0
  opts+=(--seed "$((42 + seed))" --set "seed=$seed")
  # shellcheck disable=SC2086
  audiofront train "${opts[@]}" $(train_restart_opts "$dir") $train_opts
}

classify_opts() {  # classify_opts FRONTEND FRONTEND_CONF EXP_DIR: the options every probe/baseline shares
  local kv
  opts=(--task classify --config "$probe_config" --frontend "$1" --train-cuts "$train_cuts" --set "label=$label"
        --exp-dir "$3" --num-threads "$num_threads" --no-progress --seed "$seed")
  for kv in $2; do opts+=(--frontend-conf "$kv"); done
  [ -n "$probe_epochs" ] && opts+=(--num-epochs "$probe_epochs")
  [ -n "$probe_max_steps" ] && opts+=(--max-steps "$probe_max_steps")
  return 0
}

probe() {  # probe TASK CONFIG
  local c="$2" dir="$exp/probe/$1/$2/seed$seed"
  task_info "$1"
  classify_opts "$(frontend_of "$c")" "$(frontend_conf_of "$c")" "$dir"
  opts+=(--init-from "$exp/cola/$c/seed$seed/avg.pt")
  [ "$probe_freeze" != none ] && opts+=(--freeze "$probe_freeze")
  # shellcheck disable=SC2086
  audiofront train "${opts[@]}" $(train_restart_opts "$dir") $train_opts
}

supervised() {  # supervised TASK FRONTEND
  local dir="$exp/probe/$1/supervised-$2/seed$seed"
  task_info "$1"
  classify_opts "$2" "" "$dir"
  # shellcheck disable=SC2086
  audiofront train "${opts[@]}" $(train_restart_opts "$dir") $train_opts
}

evaluate() {  # evaluate TASK EXP_DIR
  task_info "$1"
  audiofront evaluate --checkpoint "$2/avg.pt" --cuts "$test_cuts" --out-dir "$2/eval" --num-threads "$num_threads"
}

score() {  # score TASK EXP_DIR [BASELINE_EXP_DIR]
  local opts=(--task classify --hyp "$2/eval/clean/predictions.jsonl" --out-dir "$2/score" --dataset "$1")
  if [ -n "${3:-}" ] && [ "$3" != "$2" ] && [ -f "$3/eval/clean/predictions.jsonl" ]; then
    opts+=(--compare "$3/eval/clean/predictions.jsonl")
  fi
  audiofront score "${opts[@]}"
}

draw_filters() {  # draw_filters CONFIG (seed $seed): the numbers into $exp/filters/cola/CONFIG/seedN.json, figures
  local dir="$exp/cola/$1/seed$seed" json="$exp/filters/cola/$1/seed$seed.json"
  if [ "$(frontend_of "$1")" = mel ]; then log "stage 7: $1 has no learnable filters"; return 0; fi
  mkdir -p "$(dirname "$json")"
  if ! audiofront inspect-filters "$dir/avg.pt" --json > "$json.tmp" 2>/dev/null; then
    log "stage 7: $1 has no filters to draw"; rm -f "$json.tmp"; return 0
  fi
  mv "$json.tmp" "$json"
  audiofront inspect-filters "$dir/avg.pt" --compare mel --png "$dir/filters_vs_mel.png"
  # against the same frontend trained supervised, when that baseline was run
  local t sup
  for t in $probe_tasks; do
    sup="$exp/probe/$t/supervised-$(frontend_of "$1")/seed$seed/avg.pt"
    if [ -f "$sup" ]; then
      audiofront inspect-filters "$dir/avg.pt" --compare "$sup" --png "$dir/filters_vs_supervised_$t.png" || true
    fi
  done
}

# the filter table over configurations and seeds, with each configuration's untrained frontend (a random
# initialisation is one draw: its spread, not the draw each seed started from) and the learnable frontends
# trained supervised (--supervised-frontends "mel leaf sincnet"), the paper's third comparison
filter_table() {
  local c kv opts t f ckpt json
  mkdir -p "$exp/filters/init" "$exp/summary"
  for t in $probe_tasks; do for f in $supervised_frontends; do
    [ "$f" = mel ] && continue  # fixed filters
    for ckpt in "$exp/probe/$t/supervised-$f"/seed*/avg.pt; do
      [ -f "$ckpt" ] || continue
      json="$exp/filters/$t/supervised-$f/$(basename "$(dirname "$ckpt")").json"
      [ -f "$json" ] && continue
      mkdir -p "$(dirname "$json")"
      if audiofront inspect-filters "$ckpt" --json > "$json.tmp" 2>/dev/null; then mv "$json.tmp" "$json"; else rm -f "$json.tmp"; fi
    done
  done; done
  for c in $configs; do
    [ -d "$exp/filters/cola/$c" ] || continue
    opts=()
    for kv in $(frontend_conf_of "$c"); do opts+=(--conf "$kv"); done
    audiofront inspect-filters "$(frontend_of "$c")" "${opts[@]}" --json > "$exp/filters/init/$c.json.tmp" &&
      mv "$exp/filters/init/$c.json.tmp" "$exp/filters/init/$c.json"
  done
  python3 ../utils/filter_table.py "$exp/filters" > "$exp/summary/.filters.md.tmp" &&
    mv "$exp/summary/.filters.md.tmp" "$exp/summary/filters.md"
  python3 ../utils/filter_figure.py "$exp/filters" "$exp/summary/centres.png"
}

# the table of the study: every task x system (probes and baselines), bootstrap of each against mel
summarize() {
  audiofront plot study "$exp/probe" --out-dir "$exp/summary" --baseline mel
}

# ---- the stages ----------------------------------------------------------------------------------------
for seed in $seeds; do
  case "$seed" in ''|*[!0-9]*) echo "$0: --seeds takes whole numbers >= 0, got '$seed'" >&2; exit 1 ;; esac
done
run_stage 0 prepare_unlabelled data/unlabelled prepare_unlabelled
for t in $probe_tasks; do task_info "$t"; run_stage 1 "prepare_$t" "$data" prepare_task "$t"; done
for seed in $seeds; do
  for c in $configs; do run_stage 2 pretrain "$exp/cola/$c/seed$seed" pretrain "$c"; done
  runs=()  # "task exp_dir" of every probe and baseline of this seed
  for t in $probe_tasks; do
    for c in $configs; do runs+=("$t $exp/probe/$t/$c/seed$seed"); done
    for f in $supervised_frontends; do runs+=("$t $exp/probe/$t/supervised-$f/seed$seed"); done
  done
  for t in $probe_tasks; do for c in $configs; do run_stage 3 probe "$exp/probe/$t/$c/seed$seed" probe "$t" "$c"; done; done
  for t in $probe_tasks; do for f in $supervised_frontends; do
    run_stage 4 supervised "$exp/probe/$t/supervised-$f/seed$seed" supervised "$t" "$f"
  done; done
  for r in "${runs[@]}"; do set -- $r; run_stage 5 evaluate "$2" evaluate "$1" "$2"; done
  for r in "${runs[@]}"; do set -- $r; run_stage 6 score "$2" score "$1" "$2" "$exp/probe/$1/mel/seed$seed"; done
done
if [ "$stage" -le 6 ] && [ 6 -le "$stop_stage" ]; then
  # no done marker: the table is cheap, and it must take in seeds that other invocations have added
  log "stage 6 (summarize): the table over every seed in $exp/probe"
  summarize
fi
for seed in $seeds; do
  for c in $configs; do run_stage 7 draw_filters "$exp/cola/$c/seed$seed" draw_filters "$c"; done
done
if [ "$stage" -le 7 ] && [ 7 -le "$stop_stage" ] && [ -d "$exp/filters/cola" ]; then
  # no done marker, like stage 6: it takes in every seed drawn so far
  log "stage 7 (filter table): $exp/summary/filters.md"
  filter_table
fi
log "done: the table in $exp/summary/study.md, filters in $exp/summary/{filters.md,centres.png} and $exp/cola/*/seed*/filters*.png"
