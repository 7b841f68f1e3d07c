#!/usr/bin/env bash
# The LEAF comparison study, one run: one task, one frontend, one seed.
#
#   bash egs/leaf_study/run.sh --task fsdd-digits --frontend leaf --seed 0
#   bash egs/leaf_study/run.sh --task librispeech-speaker --frontend mel --seed 1 --snr clean,20,10,5,0,-5
#   bash egs/leaf_study/run.sh --task fsdd-digits --frontend mel --seed 0 --max-steps 5 --log-every 1   # a smoke run
#   bash egs/leaf_study/run.sh --task fsdd-digits --frontend mel --dev true --num-epochs 20   # choose the budget on dev
#   bash egs/leaf_study/study.sh          # every task x frontend x seed, then the summary (egs/leaf_study/summarize.sh)
#
# Tasks (recipe YAML recipes/leaf_study_<task>.yaml; data prepared once per task into data/):
#   fsdd-digits          FSDD digits, train on 4 speakers, test on theo          (prepare fsdd --split speaker)
#   fsdd-speaker         FSDD speaker identity, the dataset's index split        (prepare fsdd --split index)
#   librispeech-speaker  19 LibriSpeech speakers + their sex, 1 s test windows   (prepare librispeech-speakers)
#   demo-accent          8 eSpeak NG accents, test voices unseen in training      (prepare demo + demo-accents)
#   multitask            all of the above, one shared frontend + encoder, one head per task (LEAF eq. 7)
#
# Stages: 0 prepare, 1 train, 2 evaluate (clean and each --snr), 3 score, 4 plot the training curves.
# A finished stage leaves exp/TASK/FRONTEND/seedN/stageK.NAME.done (data/TASK/ for stage 0) and is skipped
# next time; --force true reruns it. Outputs: egs/leaf_study/{data,exp}.
#
# --dev true: the budget run. Stage 0 also carves a dev split out of the task's training data (data/TASK_dev,
# `audiofront prepare dev-split`, made like the task's test split: unseen voices for fsdd-digits and
# demo-accent, other clips of the same voices for the speaker tasks); stage 1 trains on the rest and validates
# on dev every epoch (exp_dev/TASK/FRONTEND/seedN/train.log); the test set is neither trained on nor looked
# at (stages 2-3 are skipped), and stage 4 draws the dev curve the budget is read from.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=4
force=false
task=fsdd-digits
frontend=mel
frontend_conf=              # e.g. "n_filters=40 compression=spcen"
seed=0
tag=                        # system name in exp/TASK/ (default: the frontend name)
config=                     # default: ../../recipes/leaf_study_${task//-/_}.yaml
shared=../../../shared/data # fsdd/, LibriSpeech/
demo_n_train=1500           # the demo corpus (demo-accent): synthesised once, a function of these and demo_seed
demo_n_test=400
demo_seed=0
ls_test_fraction=0.2        # librispeech-speaker: share of each speaker's utterances held out
ls_split_seed=0             # ... and the seed of that split (the data, not the training seed)
num_epochs=                 # override the recipe's budget (the same for every frontend of a task!)
max_steps=                  # e.g. 5: a smoke run
log_every=                  # override training.log_every (a smoke run of 5 steps needs 1 for curves)
num_threads=2
snr=clean                   # e.g. clean,20,10,5,0,-5: the noise sweep
dev=false                   # true: the budget run (train minus dev, validated on dev; see above)
train_opts=                 # more `audiofront train` options, passed through
recipe_options="stage stop_stage force task frontend frontend_conf seed tag config shared demo_n_train demo_n_test
  demo_seed ls_test_fraction ls_split_seed num_epochs max_steps log_every num_threads snr dev train_opts"
. ../utils/parse_options.sh
. ../utils/stages.sh

case "$task" in
  fsdd-digits|fsdd-speaker|librispeech-speaker|demo-accent|multitask) ;;
  *) echo "$0: unknown --task $task (fsdd-digits | fsdd-speaker | librispeech-speaker | demo-accent | multitask)" >&2; exit 1 ;;
esac
case "$seed" in ''|*[!0-9]*) echo "$0: --seed must be a whole number >= 0, got '$seed'" >&2; exit 1 ;; esac
case "$dev" in
  true) [ "$task" = multitask ] && { echo "$0: --dev true is per task (the multi-task model reuses their budgets)" >&2; exit 1; } ;;
  false) ;;
  *) echo "$0: --dev must be true or false, got '$dev'" >&2; exit 1 ;;
esac

tag=${tag:-$frontend}
config=${config:-../../recipes/leaf_study_${task//-/_}.yaml}
exp=exp/$task/$tag/seed$seed
[ "$dev" = true ] && exp=exp_dev/$task/$tag/seed$seed
mkdir -p "$exp"

# ---- stage 0: the data of each task (shared by every frontend and seed) ------------------------------
prepare_fsdd_speaker_split() { audiofront prepare fsdd --corpus-dir "$shared/fsdd" --out-dir data/fsdd_theo --split speaker --test-speakers theo; }
prepare_fsdd_index_split() { audiofront prepare fsdd --corpus-dir "$shared/fsdd" --out-dir data/fsdd_index --split index; }
prepare_librispeech() {
  audiofront prepare librispeech-speakers --corpus-dir "$shared/LibriSpeech" --out-dir data/librispeech_speakers \
    --test-fraction "$ls_test_fraction" --seed "$ls_split_seed" --window-seconds 1
}
prepare_demo() {
  audiofront prepare demo --out-dir data/demo --n-train "$demo_n_train" --n-dev 0 --n-test "$demo_n_test" --seed "$demo_seed"
  audiofront prepare demo-accents --manifest-dir data/demo --out-dir data/demo_accents
}
# multitask: one test manifest holding every task's test clips (each head scores the clips with its label)
combine_tests() {
  mkdir -p data/multitask
  lhotse combine data/fsdd_index/fsdd_cuts_test.jsonl.gz data/librispeech_speakers/librispeech_speakers_cuts_test.jsonl.gz \
    data/demo_accents/demo_accents_cuts_test.jsonl.gz data/multitask/.cuts_test.tmp.jsonl.gz
  mv data/multitask/.cuts_test.tmp.jsonl.gz data/multitask/multitask_cuts_test.jsonl.gz
}

case "$task" in
  fsdd-digits) data=data/fsdd_theo; train_cuts=$data/fsdd_cuts_train.jsonl.gz; test_cuts=$data/fsdd_cuts_test.jsonl.gz
    run_stage 0 prepare "$data" prepare_fsdd_speaker_split ;;
  fsdd-speaker) data=data/fsdd_index; train_cuts=$data/fsdd_cuts_train.jsonl.gz; test_cuts=$data/fsdd_cuts_test.jsonl.gz
    run_stage 0 prepare "$data" prepare_fsdd_index_split ;;
  librispeech-speaker) data=data/librispeech_speakers
    train_cuts=$data/librispeech_speakers_cuts_train.jsonl.gz; test_cuts=$data/librispeech_speakers_cuts_test.jsonl.gz
    run_stage 0 prepare "$data" prepare_librispeech ;;
  demo-accent) data=data/demo_accents
    train_cuts=$data/demo_accents_cuts_train.jsonl.gz; test_cuts=$data/demo_accents_cuts_test.jsonl.gz
    run_stage 0 prepare "$data" prepare_demo ;;
  multitask) train_cuts=; test_cuts=data/multitask/multitask_cuts_test.jsonl.gz
    run_stage 0 prepare data/fsdd_index prepare_fsdd_index_split
    run_stage 0 prepare data/librispeech_speakers prepare_librispeech
    run_stage 0 prepare data/demo_accents prepare_demo
    run_stage 0 combine data/multitask combine_tests ;;
esac

# --dev true: the dev split, made like the task's test split (see the header); seeded by the data seed 0
if [ "$dev" = true ]; then
  case "$task" in
    fsdd-digits) split_opts="--by speaker --fraction 0.25" ;;                     # one of the 4 training voices
    fsdd-speaker) split_opts="--by cut --fraction 0.1 --stratify speaker" ;;
    librispeech-speaker) split_opts="--by cut --fraction 0.1 --stratify speaker --window-seconds 1" ;;  # 1 s items, as test
    demo-accent) split_opts="--by speaker --fraction 0.25 --stratify accent" ;;    # voices unseen, every accent kept
  esac
  dev_data=data/${task//-/_}_dev
  make_dev() {
    # shellcheck disable=SC2086
    audiofront prepare dev-split --cuts "$train_cuts" --out-dir "$dev_data" --seed 0 $split_opts
  }
  run_stage 0 dev-split "$dev_data" make_dev
  corpus=$(basename "$train_cuts"); corpus=${corpus%%_cuts_*}
  train_cuts=$dev_data/${corpus}_cuts_train.jsonl.gz
  valid_cuts=$dev_data/${corpus}_cuts_dev.jsonl.gz
fi

# ---- stages 1-4: one run --------------------------------------------------------------------------
train() {
  local opts=(--task classify --config "$config" --frontend "$frontend" --exp-dir "$exp" --seed "$seed" --set "seed=$seed"
              --num-threads "$num_threads" --no-progress)
  [ -n "$train_cuts" ] && opts+=(--train-cuts "$train_cuts")
  [ "$dev" = true ] && opts+=(--valid-cuts "$valid_cuts")
  for kv in $frontend_conf; do opts+=(--frontend-conf "$kv"); done
  [ -n "$num_epochs" ] && opts+=(--num-epochs "$num_epochs")
  [ -n "$max_steps" ] && opts+=(--max-steps "$max_steps")
  [ -n "$log_every" ] && opts+=(--set "training.log_every=$log_every")
  # shellcheck disable=SC2086
  audiofront train "${opts[@]}" $(train_restart_opts "$exp") $train_opts
}

evaluate() {
  audiofront evaluate --checkpoint "$exp/avg.pt" --cuts "$test_cuts" --out-dir "$exp/eval" --snr "$snr" --num-threads "$num_threads"
}

score() {
  local dir
  for dir in "$exp"/eval/*/; do
    dir=${dir%/}
    audiofront score --task classify --hyp "$dir/predictions.jsonl" --out-dir "$exp/score/$(basename "$dir")" \
      --dataset "$task/$tag/seed$seed"
  done
}

curves() {
  audiofront plot curves "$exp" --png "$exp/curves.png"
}

run_stage 1 train "$exp" train
if [ "$dev" = false ]; then
  run_stage 2 evaluate "$exp" evaluate
  run_stage 3 score "$exp" score
fi
run_stage 4 curves "$exp" curves
