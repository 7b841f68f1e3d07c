#!/usr/bin/env bash
# LibriSpeech (any parts; Mini LibriSpeech included) with a learnable frontend and Conformer-CTC.
#
#   # the 19 speakers of train-clean-5 kept in ../shared: train on 17 (3 utterances of each held out as the dev
#   # split the LM weight is tuned on), test on 1970 and 2136; 58 minutes of training on any 2-core CPU (the recipe's
#   # time budget plans the epochs), then about 14 minutes of tuning and decoding (egs/librispeech/RESULTS.md)
#   bash egs/librispeech/run.sh
#   # the comparison runs: each gets its own exp/FRONTEND_ENCODER_TOKENIZER/ and each tokenizer its own lang dir
#   bash egs/librispeech/run.sh --frontend leaf          # exp/leaf_tiny_phone
#   bash egs/librispeech/run.sh --tokenizer char         # exp/fbank_tiny_char, data/lang_char
#   audiofront plot asr-study egs/librispeech/exp/{fbank_tiny_phone,leaf_tiny_phone,fbank_tiny_char} --out-dir egs/librispeech/exp/compare
#   # the official protocol: no speaker split (--test-speakers ""), one cut set per part; full download (OpenSLR 12
#   # via lhotse), the official 4-gram LM (OpenSLR 11). The train-* parts train (several: joined into one set, named
#   # e.g. train-clean-100+train-clean-360), every dev-* and test-* part is decoded and scored, the LM weight and word
#   # score are tuned on dev-clean (dev-clean-2 for Mini LibriSpeech; the log says that set's LM rows are then
#   # optimistic), and with several sets RESULTS.md gets one table with a column per set, as icefall's has
#   # (in a work dir of its own: the runs' folders have the same names as the speaker split's)
#   bash egs/librispeech/run.sh --work-dir official --download true --corpus-dir download --test-speakers "" \
#       --parts train-clean-100,dev-clean,dev-other,test-clean,test-other --download-lm 4-gram.arpa.gz
#   # the same for Mini LibriSpeech (train-clean-5, dev-clean-2)
#   bash egs/librispeech/run.sh --work-dir official_mini --download true --corpus-dir download --test-speakers "" \
#       --parts train-clean-5,dev-clean-2
#
# Stages: 0 download (only with --download true), 1 manifests, 2 fixed features with `extract` (only
# with --extract-features true; the models themselves run their frontend on raw audio), 3 lang (tokenizer,
# lexicon, LM), 4 train, 5 decode greedy + LM, 6 score (and exp/TAG/curves.png, the learning curves). Finished
# stages leave .done markers and are skipped; a stage 1 done for other data options (--parts, --test-speakers, the
# dev split) stops the run at its start, with a line that says so.
set -euo pipefail
# Paths given as options are relative to where you run this from; the defaults live beside this script.
here="$(cd "$(dirname "$0")" && pwd)"

stage=0
stop_stage=6
force=false                 # true: run the stages from --stage again though marked done (training: moved aside)
corpus_dir=$here/../../../shared/data/LibriSpeech
download=false
parts=train-clean-5
test_speakers=1970,2136     # empty: one split per part (the official protocol; see the defaults just below)
train_set=train             # with --test-speakers "": default the train-* parts of --parts
test_set=test               # or several, e.g. dev-clean,dev-other,test-clean,test-other: each decoded and scored;
                            # with --test-speakers "": default every dev-* and test-* part of --parts
dev_speakers=""             # e.g. 5789,8629: training speakers held out as a dev split (needs --test-speakers)
dev_per_speaker=3           # N > 0: N utterances of every other training speaker go to the dev split (only
                            # with --test-speakers; 0: no dev split)
valid_set=""                # the cuts validated on while training and the LM weight is tuned on; default: dev when
                            # a dev split is made, else dev-clean (or dev-clean-2) when among --parts, else the first
                            # test set (never tuned on: a set named test or test-* is not for choosing anything)
work_dir=$here
results=$here/RESULTS.md
extract_features=false
extract_frontend=fbank
tokenizer=phone             # phone | char | bpe: phones with the CMUdict lexicon beat characters here by 15
                            # points of WER (egs/librispeech/RESULTS.md)
vocab_size=256
lm_order=3
download_lm=""              # e.g. 4-gram.arpa.gz: the official LM instead of one estimated from the transcripts
config=$here/../../recipes/librispeech_fbank_tiny.yaml
frontend=""
frontend_conf=""
encoder=""
num_epochs=""               # the recipe's: at most 60 epochs ...
max_minutes=""              # ... in at most 58 minutes of training (the recipe's time budget; 0: none, so that
                            # --num-epochs alone sets the length)
max_duration=""
device=cpu
num_threads=2
train_opts=""
tag=""                      # the experiment's name, exp/<tag>/; default FRONTEND_ENCODER_TOKENIZER (fbank_tiny_phone),
                            # so that runs of another frontend, encoder or tokenizer never land in (or skip as
                            # done) another run's folder
beam_size=500               # the lexicon beam of decoding: 200 over 50 took dev WER from 32.6% to 31.4% (the 39-epoch
                            # run), 500 over 200 from 30.5% to 29.5% and 29.4% to 29.1% (the two 55-minute runs on the
                            # Xeon; egs/librispeech/RESULTS.md); 500 decodes at about 2x the time of 200
tune_beam_size=200          # the beam of tune-lm's grid of dev decodes (25 of them): narrower, for time
lm_weight=1.0
word_score=0.0
tune_lm=auto                # auto: unless the valid set is a test set, choose --lm-weight/--word-score on it (stage
                            # 5); true | false
lm_weights=0.5,1,1.5,2,2.5  # the grid tune-lm tries
word_scores=-3,-2,-1,0,1
lang_dir=""                 # default data/lang_<tokenizer> (lang_bpe<vocab-size>): one per tokenizer, so a char run
                            # after a phone run builds its own; name another to keep two of one tokenizer apart
lang_opts="--vocab cmudict"  # more options of `prepare lang`: the decoding vocabulary is all of CMUdict (the
                            # training words miss 11% of the test speakers' words); e.g. add --lm-text FILE
decode_opts=""
recipe_options="stage stop_stage force corpus_dir download parts test_speakers train_set test_set dev_speakers
  dev_per_speaker valid_set work_dir results
  extract_features extract_frontend tokenizer vocab_size lm_order download_lm config frontend frontend_conf encoder
  num_epochs max_minutes max_duration device num_threads train_opts tag beam_size lang_dir tune_beam_size lm_weight word_score tune_lm lm_weights
  word_scores lang_opts decode_opts"

. "$here/../utils/parse_options.sh"
. "$here/../utils/stages.sh"

data=$work_dir/data
manifests=$data/manifests
lang_name=lang_$tokenizer
if [ "$tokenizer" = bpe ]; then lang_name=lang_bpe$vocab_size; fi
lang=${lang_dir:-$data/$lang_name}
config_value() { [ -f "$config" ] && sed -n "s/^$1: *\([A-Za-z0-9_.-]*\).*/\1/p" "$config" | head -n 1 || true; }  # a top-level key
tag=${tag:-${frontend:-$(config_value frontend)}_${encoder:-$(config_value encoder)}_$tokenizer}
exp=$work_dir/exp/$tag
split_opts=()
if [ -n "$test_speakers" ]; then split_opts=(--test-speakers "$test_speakers"); fi
if [ -z "$test_speakers" ]; then dev_speakers=""; dev_per_speaker=0; fi  # a dev split needs a speaker split
if [ -n "$dev_speakers" ]; then split_opts+=(--dev-speakers "$dev_speakers"); fi
if [ "$dev_per_speaker" != 0 ]; then split_opts+=(--dev-per-speaker "$dev_per_speaker"); fi
split_desc="parts=$parts test_speakers=$test_speakers dev_speakers=$dev_speakers dev_per_speaker=$dev_per_speaker"
read -r -a part_list <<< "${parts//,/ }"
train_parts=()
joined_set=""
if [ -z "$test_speakers" ]; then
  # the official protocol: the sets are the parts themselves
  for p in "${part_list[@]}"; do case $p in train-*) train_parts+=("$p") ;; esac; done
  if [ "$train_set" = train ] && [ ${#train_parts[@]} -eq 0 ]; then
    echo "$0: --test-speakers \"\" and no train-* part in --parts $parts: add one, or name the training set with --train-set" >&2
    exit 1
  fi
  # several train-* parts: stage 1 joins them into one set named after them (never "train", the speaker split's
  # name: a work dir that holds both must not mistake one for the other)
  joined_set=$(IFS=+; echo "${train_parts[*]}")
  if [ "$train_set" = train ]; then train_set=$joined_set; fi
  if [ "$test_set" = test ]; then
    test_set=""
    for p in "${part_list[@]}"; do case $p in dev-*|test-*) test_set+="${test_set:+,}$p" ;; esac; done
    if [ -z "$test_set" ]; then
      echo "$0: --test-speakers \"\" and no dev-* or test-* part in --parts $parts to decode: add one, or name them with --test-set" >&2
      exit 1
    fi
  fi
fi
read -r -a test_sets <<< "${test_set//,/ }"
if [ -z "$valid_set" ]; then
  if [ -n "$dev_speakers" ] || [ "$dev_per_speaker" != 0 ]; then valid_set=dev; fi
  if [ -z "$test_speakers" ]; then  # only then are the parts sets of their own
    for p in dev-clean dev-clean-2; do
      for q in "${part_list[@]}"; do [ -z "$valid_set" ] && [ "$q" = "$p" ] && valid_set=$p; done
    done
  fi
  valid_set=${valid_set:-${test_sets[0]}}
fi
# decode/score folders: decode_greedy, decode_lm for one test set; decode_SET_greedy, ... for several
set_dir() { if [ ${#test_sets[@]} -eq 1 ]; then echo "$exp/$1_$3"; else echo "$exp/$1_$2_$3"; fi; }

stage_download() {
  if [ "$download" != true ]; then
    log "no --download true: using the corpus in $corpus_dir"
    return 0
  fi
  audiofront prepare librispeech --download --corpus-dir "$corpus_dir" --parts "$parts" --out-dir "$manifests" \
    "${split_opts[@]}"
}

stage_manifests() {
  audiofront prepare librispeech --corpus-dir "$corpus_dir" --parts "$parts" --out-dir "$manifests" "${split_opts[@]}"
  mkdir -p "$manifests"
  echo "$split_desc" > "$manifests/split_options"  # what a later call with stage 1 done checks its options against
  if [ ${#train_parts[@]} -gt 1 ] && [ "$train_set" = "$joined_set" ]; then
    # several train-* parts train as one set: gzip members in a row are one gzip file, so the manifests join as
    # they are (written aside and moved, so that an interrupted join leaves no half file)
    local p files=() joined="$manifests/librispeech_cuts_$train_set.jsonl.gz"
    for p in "${train_parts[@]}"; do files+=("$manifests/librispeech_cuts_$p.jsonl.gz"); done
    cat "${files[@]}" > "$joined.tmp"
    mv "$joined.tmp" "$joined"
    log "training set: ${train_parts[*]} ($joined)"
  fi
}

stage_features() {
  if [ "$extract_features" != true ]; then
    log "no --extract-features true: the frontend runs inside the model on raw audio"
    return 0
  fi
  for s in "$train_set" "${test_sets[@]}"; do
    # shellcheck disable=SC2046
    audiofront extract --frontend "$extract_frontend" --cuts "$manifests/librispeech_cuts_$s.jsonl.gz" \
      --out-dir "$data/${extract_frontend}_$s" $(extract_restart_opts)
  done
}

stage_lang() {
  local opts=()
  if [ -n "$download_lm" ]; then opts+=(--download-lm "$download_lm" --lm-dir "$data/lm"); fi
  # shellcheck disable=SC2086
  audiofront prepare lang --cuts "$manifests/librispeech_cuts_$train_set.jsonl.gz" --tokenizer "$tokenizer" \
    --vocab-size "$vocab_size" --lm-order "$lm_order" --out-dir "$lang" "${opts[@]}" $lang_opts
}

stage_train() {
  local opts=()
  if [ -n "$frontend" ]; then opts+=(--frontend "$frontend"); fi
  for kv in $frontend_conf; do opts+=(--frontend-conf "$kv"); done
  if [ -n "$encoder" ]; then opts+=(--encoder "$encoder"); fi
  if [ -n "$num_epochs" ]; then opts+=(--num-epochs "$num_epochs"); fi
  if [ -n "$max_minutes" ]; then opts+=(--max-minutes "$max_minutes"); fi
  if [ -n "$max_duration" ]; then opts+=(--max-duration "$max_duration"); fi
  # shellcheck disable=SC2086
  audiofront train --task asr --config "$config" "${opts[@]}" \
    --train-cuts "$manifests/librispeech_cuts_$train_set.jsonl.gz" --valid-cuts "$manifests/librispeech_cuts_$valid_set.jsonl.gz" \
    --lang-dir "$lang" --exp-dir "$exp" --device "$device" --num-threads "$num_threads" $(train_restart_opts "$exp") $train_opts
}

stage_decode() {
  local weight=$lm_weight score=$word_score
  local s is_test=false
  case $valid_set in test|test-*) is_test=true ;; esac
  if [ "$tune_lm" = true ] || { [ "$tune_lm" = auto ] && [ "$is_test" = false ]; }; then
    if [ "$is_test" = true ]; then
      echo "$0: --tune-lm true needs a dev split (--dev-per-speaker or --dev-speakers) or a dev-* part as --valid-set, not the test set $valid_set" >&2; exit 1
    fi
    # the LM weight and word score are chosen on the dev split (or dev-clean), never on the test speakers or sets
    audiofront tune-lm --checkpoint "$exp/avg.pt" --cuts "$manifests/librispeech_cuts_$valid_set.jsonl.gz" \
      --lang-dir "$lang" --lm-weights "$lm_weights" --word-scores "$word_scores" --beam-size "$tune_beam_size" \
      --device "$device" --num-threads "$num_threads" --out-dir "$exp/tune_lm"
    read -r weight score < <(python -c 'import json, sys; b = json.load(open(sys.argv[1]))["best"]; print(b["lm_weight"], b["word_score"])' "$exp/tune_lm/tune.json")
    log "tuned on $valid_set: --lm-weight $weight --word-score $score ($exp/tune_lm/tune.md)"
    for s in "${test_sets[@]}"; do
      if [ "$s" = "$valid_set" ]; then log "note: $valid_set is tuned on and also decoded: its LM rows are optimistic"; fi
    done
    echo "LM weight $weight, word score $score, tuned on $valid_set" > "$exp/decode_lm_params"
  else
    echo "LM weight $weight, word score $score, as given (not tuned)" > "$exp/decode_lm_params"
  fi
  for s in "${test_sets[@]}"; do
    for method in greedy lm; do
      # shellcheck disable=SC2086
      audiofront decode --checkpoint "$exp/avg.pt" --cuts "$manifests/librispeech_cuts_$s.jsonl.gz" \
        --lang-dir "$lang" --method "$method" --beam-size "$beam_size" --lm-weight "$weight" \
        --word-score "$score" --device "$device" --num-threads "$num_threads" --out-dir "$(set_dir decode "$s" "$method")" \
        $decode_opts
    done
  done
}

stage_score() {
  # one RESULTS.md row per test set and method (dataset column: librispeech-SET)
  local s method methods greedy unit name units=(token:greedy_ter)
  if [ "$tokenizer" = phone ]; then units+=(phone:greedy_per); fi
  # the learning curves (loss, learning rate, dev token error by step) beside the scores; first, so that a failure
  # here stops the stage before it has added any RESULTS.md row (a rerun would add them twice)
  if [ -f "$exp/train.log" ]; then audiofront plot curves "$exp" --png "$exp/curves.png"; fi
  for s in "${test_sets[@]}"; do
    for method in greedy lm; do
      audiofront score --ref "$(set_dir decode "$s" "$method")/ref" --hyp "$(set_dir decode "$s" "$method")/hyp" \
        --out-dir "$(set_dir score "$s" "$method")" --dataset "librispeech-$s" --results "$results" --tag "${tag}_$method"
    done
    # the greedy token error rate (the columns then count the model's units: phones, characters or BPE pieces), the
    # acoustic model alone; for characters it is the greedy CER below (decodes made before audiofront wrote
    # the token files have none); for phones also the error over the 39 phones, the word-end marks left out
    # (TIMIT's phone error rate)
    greedy=$(set_dir decode "$s" greedy)
    if [ -f "$greedy/hyp_tokens" ]; then
      for unit in "${units[@]}"; do
        name=${unit#*:}; unit=${unit%%:*}
        audiofront score --ref "$greedy/ref_tokens" --hyp "$greedy/hyp_tokens" --unit "$unit" \
          --out-dir "$(set_dir score "$s" "$name")" --dataset "librispeech-$s" --results "$results" --tag "${tag}_$name"
      done
    fi
    # and character error rates (the columns then count characters): of the lexicon + LM output for every
    # tokenizer, of greedy decoding except for phone tokens, whose greedy output spells the words it cannot look
    # up as phones (their greedy error rate is the token error rate above)
    methods=(lm)
    if [ "$tokenizer" != phone ]; then methods=(greedy lm); fi
    for method in "${methods[@]}"; do
      audiofront score --ref "$(set_dir decode "$s" "$method")/ref" --hyp "$(set_dir decode "$s" "$method")/hyp" --unit char \
        --out-dir "$(set_dir score "$s" "${method}_cer")" --dataset "librispeech-$s" --results "$results" --tag "${tag}_${method}_cer"
    done
  done
  # several sets: also one table with a column per set (icefall's layout), rows in this order
  if [ ${#test_sets[@]} -gt 1 ]; then
    local dirs=() title
    for name in greedy lm greedy_cer lm_cer greedy_ter greedy_per; do
      for s in "${test_sets[@]}"; do
        if [ -f "$(set_dir score "$s" "$name")/wer.json" ]; then dirs+=("$(set_dir score "$s" "$name")"); fi
      done
    done
    title="exp/$tag: error rates (%) by set, $(date -u '+%Y-%m-%d %H:%M UTC')"
    if [ -f "$exp/decode_lm_params" ]; then title+="; $(cat "$exp/decode_lm_params")"; fi
    audiofront score-table "${dirs[@]}" --strip-prefix librispeech- --results "$results" --title "$title"
  fi
}

check_manifests() {
  # stage 1 is marked done in this work dir, so it will not run again: its manifests must be the ones these options
  # ask for (a work dir of the speaker split, then the official protocol, would otherwise fail mid-run on a missing
  # file, or quietly reuse the old split)
  local s had
  had=$(cat "$manifests/split_options" 2>/dev/null || true)  # absent in work dirs made before it was written
  if [ -n "$had" ] && [ "$had" != "$split_desc" ]; then
    echo "$0: stage 1 is marked done in $data/.done for other data options ($had), not these ($split_desc): use" \
      "another --work-dir" >&2
    exit 1
  fi
  for s in "$train_set" "$valid_set" "${test_sets[@]}"; do
    if [ ! -f "$manifests/librispeech_cuts_$s.jsonl.gz" ]; then
      echo "$0: $manifests/librispeech_cuts_$s.jsonl.gz is missing, though stage 1 is marked done in $data/.done" \
        "(made for other --parts, --test-speakers or dev-split options, or $s is not a set stage 1 makes): use" \
        "another --work-dir" >&2
      exit 1
    fi
  done
}

# stage 1 done and not forced to run again in this call, and a later stage that reads its manifests
if [ -f "$(stage_marker 1 manifests "$data/.done")" ] && ! { [ "$force" = true ] && [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; } &&
  { [ "$stop_stage" -ge 3 ] || { [ "$extract_features" = true ] && [ "$stop_stage" -ge 2 ]; }; }; then
  check_manifests
fi
run_stage 0 download "$data/.done" stage_download
run_stage 1 manifests "$data/.done" stage_manifests
run_stage 2 features "$data/.done" stage_features
run_stage 3 lang "$lang" stage_lang
run_stage 4 train "$exp/.done" stage_train
run_stage 5 decode "$exp/.done" stage_decode
run_stage 6 score "$exp/.done" stage_score
