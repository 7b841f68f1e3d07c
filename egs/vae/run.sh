#!/usr/bin/env bash
# Convolutional VAE spectrogram compression (arXiv 2410.02560): train the VAEs on LibriSpeech, store their
# latents for FSDD, measure the storage, classify digits with the paper's MLP against MFCC.
#
#   bash egs/vae/run.sh                                   # everything, the recipes' budgets
#   bash egs/vae/run.sh --vae-steps 20 --mlp-epochs 1 --extract-splits test --tag-suffix _tiny   # a smoke run
#   bash egs/vae/run.sh --stage 6 --stop-stage 7 --force true --snr clean,20,10,5,0      # noise sweep again
#   bash egs/vae/run.sh --stage 9 --asr true              # + Conformer-CTC on the demo corpus, vae13 against fbank
#   bash egs/vae/run.sh --stage 9 --asr true --asr-corpora librispeech --force true   # ... on the LibriSpeech subset
#   bash egs/vae/run.sh --vae-train-rate 8000 --tag-suffix _bl8k   # VAEs of band-limited LibriSpeech (FSDD's band)
#
# Stages: 0 prepare LibriSpeech (17 training speakers; 1970 and 2136 held out), 1 prepare FSDD (train 4 speakers,
# test theo), 2 train VAE-13 (25 ms), VAE-13 on mel bands (vae13mel), VAE-13 on 0-4 kHz mel bands, level-free
# (vae13nb) and VAE-40 (300 ms), 3 extract FSDD features (each feature in each storage of --storages), 4 storage
# report (exp/storage.md, from the files written), 5 train the MLPs (every feature of --features), 6 evaluate
# (whole clips, --snr), 7 score (95% CI; paired bootstrap against mfcc), 8 reconstruction of held-out LibriSpeech
# speakers (inspect-vae: log-spectral distance, figure), 9 optional ASR comparison
# (--asr true: Conformer-CTC with fbank and with vae13, egs/demo and/or egs/librispeech at their budgets).
# Finished stages leave .done markers and are skipped (--force true reruns them).
#
# Speech Commands (the paper's own corpus): when it can be downloaded, `--classify-corpus speechcommands`
# prepares it with `audiofront prepare speechcommands --download` and runs the same stages on it.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=9
force=false
librispeech_dir=../../../shared/data/LibriSpeech
fsdd_dir=../../../shared/data/fsdd
classify_corpus=fsdd              # fsdd | speechcommands
speechcommands_dir=download/speechcommands
test_speakers=theo
ls_test_speakers=1970,2136
# vae13 and vae40: the paper's VAEs; vae13mel: VAE-13 on 32 mel bands with a KL weight of 0.01; vae13nb: on 32 mel
# bands of 0-4 kHz (FSDD's band), each fragment's level removed, KL weight 0.1 (RESULTS.md)
vae_configs="vae13:../../recipes/vae_librispeech_25ms.yaml vae13mel:../../recipes/vae_librispeech_25ms_mel.yaml vae13nb:../../recipes/vae_librispeech_25ms_mel4k.yaml vae40:../../recipes/vae_librispeech_300ms.yaml"
mlp_config=                       # default: ../../recipes/vae_${classify_corpus}_mlp.yaml
features="vae13 vae13mel vae13nb vae40 mfcc"  # the MLP runs (stage 5-7); mfcc is the baseline
seeds="0 1"                       # an MLP per feature and seed (training seed and initialisation): 2 fit the CPU budget
storages="float32 float16 lilcom" # stage 3, for every feature; fbank (80) is added as today's reference
extract_splits="train test"
vae_steps=                        # override the VAE recipes' max_steps (e.g. 20 for a smoke run)
vae_train_rate=                   # e.g. 8000: the VAEs learn from LibriSpeech resampled to this rate and back
                                  # (band-limited like FSDD's 8 kHz recordings; local/band_limit.py)
mlp_epochs=                       # override the MLP recipe's num_epochs
tag_suffix=                       # appended to every exp name (keeps a smoke run apart)
snr=clean,20,10,5,0          # stage 6: clean and these SNRs in dB (white noise; the paper's denoising claim)
asr=false
asr_corpora=demo                  # stage 9 (with --asr true): demo and/or librispeech
num_threads=2
device=cpu
train_opts=
recipe_options="stage stop_stage force librispeech_dir fsdd_dir classify_corpus speechcommands_dir test_speakers ls_test_speakers vae_configs mlp_config features seeds storages extract_splits vae_steps vae_train_rate mlp_epochs tag_suffix snr asr asr_corpora num_threads device train_opts"
. ../utils/parse_options.sh
. ../utils/stages.sh

ls_data=data/librispeech
mlp_config=${mlp_config:-../../recipes/vae_${classify_corpus}_mlp.yaml}
cls_data=data/$classify_corpus
exp=exp
mkdir -p "$exp"
cls_prefix=${classify_corpus}_cuts

vae_ckpt() { echo "$exp/$1$tag_suffix/avg.pt"; }
# the MLP runs in the layout of audiofront/scoring/study.py: exp/mlp/CORPUS/FEATURE/seedN
mlp_dir() { echo "$exp/mlp$tag_suffix/$classify_corpus/$1/seed$2"; }

# frontend and options of a feature name: vaeN -> the vae frontend on exp/vaeN/avg.pt, else a registry name
feature_frontend() {
  case "$1" in
    vae*) echo "vae --frontend-conf checkpoint=$(pwd)/$(vae_ckpt "$1")" ;;
    *) echo "$1" ;;
  esac
}

prepare_librispeech() {
  audiofront prepare librispeech --corpus-dir "$librispeech_dir" --parts train-clean-5 --out-dir "$ls_data" \
    --test-speakers "$ls_test_speakers"
}

prepare_classify() {
  if [ "$classify_corpus" = fsdd ]; then
    audiofront prepare fsdd --corpus-dir "$fsdd_dir" --out-dir "$cls_data" --split speaker --test-speakers "$test_speakers"
  else
    audiofront prepare speechcommands --download --corpus-dir "$speechcommands_dir" --out-dir "$cls_data"
  fi
}

train_vaes() {
  local item name config opts split cuts=$ls_data/librispeech_cuts suffix=""
  if [ -n "$vae_train_rate" ]; then
    # the held-out speakers too, so that the valid loss is measured in the band the VAE learns (stage 8 reads the
    # original files)
    suffix=_${vae_train_rate}hz
    for split in train test; do
      python local/band_limit.py --rate "$vae_train_rate" "${cuts}_$split.jsonl.gz" "${cuts}_$split$suffix.jsonl.gz"
    done
  fi
  for item in $vae_configs; do
    name=${item%%:*}; config=${item#*:}
    opts=(--task vae --config "$config" --train-cuts "${cuts}_train$suffix.jsonl.gz"
          --valid-cuts "${cuts}_test$suffix.jsonl.gz" --exp-dir "$exp/$name$tag_suffix"
          --num-threads "$num_threads" --device "$device" --no-progress)
    [ -n "$vae_steps" ] && opts+=(--max-steps "$vae_steps" --set training.save_every_steps=0)
    # shellcheck disable=SC2046,SC2086
    audiofront train "${opts[@]}" $(train_restart_opts "$exp/$name$tag_suffix") $train_opts
  done
}

extract() {
  local feat storage split
  for split in $extract_splits; do
    for feat in $features fbank; do
      for storage in $storages; do
        # shellcheck disable=SC2046
        audiofront extract --frontend $(feature_frontend "$feat") --cuts "$cls_data/${cls_prefix}_$split.jsonl.gz" \
          --out-dir "$exp/features$tag_suffix/$feat/$storage" --storage "$storage" --num-threads "$num_threads" --device "$device" \
          $(extract_restart_opts)
      done
    done
  done
}

storage() {
  # one row per feature and storage: every split extracted into that folder, i.e. the corpus
  local feat storage dirs=()
  for feat in $features fbank; do
    for storage in $storages; do
      dirs+=("$exp/features$tag_suffix/$feat/$storage")
    done
  done
  audiofront storage-report "${dirs[@]}" --markdown "$exp/storage$tag_suffix.md"
}

train_mlps() {
  local feat seed dir opts
  for feat in $features; do
    for seed in $seeds; do
      dir=$(mlp_dir "$feat" "$seed")
      # shellcheck disable=SC2046
      opts=(--task classify --config "$mlp_config" --frontend $(feature_frontend "$feat")
            --train-cuts "$cls_data/${cls_prefix}_train.jsonl.gz" --exp-dir "$dir" --seed "$seed" --set "seed=$seed"
            --num-threads "$num_threads" --device "$device" --no-progress)
      [ -n "$mlp_epochs" ] && opts+=(--num-epochs "$mlp_epochs")
      # shellcheck disable=SC2046,SC2086
      audiofront train "${opts[@]}" $(train_restart_opts "$dir") $train_opts
    done
  done
}

evaluate() {
  local feat seed
  for feat in $features; do
    for seed in $seeds; do
      audiofront evaluate --checkpoint "$(mlp_dir "$feat" "$seed")/avg.pt" --cuts "$cls_data/${cls_prefix}_test.jsonl.gz" \
        --out-dir "$(mlp_dir "$feat" "$seed")/eval" --snr "$snr" --device "$device" --num-threads "$num_threads"
    done
  done
}

score() {
  # per run: accuracy, 95% CI, paired bootstrap against mfcc of the same seed; over the seeds: mean ± std, the
  # pooled paired bootstrap against mfcc (exp/mlp/study/study.{json,md}), the bar chart and, with --snr, the
  # accuracy-vs-SNR figure
  local feat seed dir cond base opts root
  for feat in $features; do
    for seed in $seeds; do
      for dir in "$(mlp_dir "$feat" "$seed")"/eval/*/; do
        dir=${dir%/}; cond=$(basename "$dir")
        opts=(--task classify --hyp "$dir/predictions.jsonl" --out-dir "$(mlp_dir "$feat" "$seed")/score/$cond"
              --dataset "$classify_corpus $feat seed$seed")
        base="$(mlp_dir mfcc "$seed")/eval/$cond/predictions.jsonl"
        if [ "$feat" != mfcc ] && [ -f "$base" ]; then opts+=(--compare "$base"); fi
        audiofront score "${opts[@]}"
      done
    done
  done
  root=$exp/mlp$tag_suffix
  audiofront plot study "$root" --out-dir "$root/study" --baseline mfcc
  audiofront plot bars "$root/study/study.json" --png "$root/study/bars.png"
  if ! grep -q '"snr": {}' "$root/study/study.json"; then
    audiofront plot snr "$root/study/study.json" --png "$root/study/snr.png"
  fi
}

reconstruction() {
  # held-out speakers (not in the VAE's training cuts): the first utterance of each test speaker
  local item name audio spk
  for item in $vae_configs; do
    name=${item%%:*}
    for spk in ${ls_test_speakers//,/ }; do
      audio=$(find "$librispeech_dir/train-clean-5/$spk" -name '*.flac' | sort | head -n 1)
      audiofront inspect-vae "$(vae_ckpt "$name")" "$audio" --json > "$exp/$name$tag_suffix/lsd_$spk.json"
      audiofront inspect-vae "$(vae_ckpt "$name")" "$audio" --seconds 3 --png "$exp/$name$tag_suffix/reconstruction_$spk.png"
    done
  done
}

asr_comparison() {
  # Conformer-CTC with fbank against the vae13 latents, each corpus at its own recipe's budget and split:
  # the demo corpus (egs/demo, unseen test voices) and/or the LibriSpeech subset (egs/librispeech)
  local corpus feat conf ls
  for corpus in $asr_corpora; do
    for feat in fbank vae13; do
      conf=()
      [ "$feat" = vae13 ] && conf=(--frontend vae --frontend-conf "checkpoint=$(pwd)/$(vae_ckpt vae13)")
      [ "$feat" = fbank ] && conf=(--frontend fbank)
      if [ "$corpus" = demo ]; then
        bash ../demo/run.sh --work-dir "$(pwd)/asr/demo" --results "$(pwd)/asr/demo/RESULTS.md" --tag "$feat$tag_suffix" \
          --stop-stage 4 --device "$device" --num-threads "$num_threads" "${conf[@]}"
      else
        ls=$(cd "$librispeech_dir" && pwd)
        bash ../librispeech/run.sh --corpus-dir "$ls" --test-speakers "$ls_test_speakers" --work-dir "$(pwd)/asr/librispeech" \
          --tag "$feat$tag_suffix" --device "$device" --num-threads "$num_threads" "${conf[@]}"
      fi
    done
  done
}

run_stage 0 prepare_librispeech "$ls_data" prepare_librispeech
run_stage 1 prepare_"$classify_corpus" "$cls_data" prepare_classify
run_stage 2 train_vaes$tag_suffix "$exp" train_vaes
run_stage 3 extract$tag_suffix "$exp" extract
run_stage 4 storage$tag_suffix "$exp" storage
run_stage 5 train_mlps$tag_suffix "$exp" train_mlps
run_stage 6 evaluate$tag_suffix "$exp" evaluate
run_stage 7 score$tag_suffix "$exp" score
run_stage 8 reconstruction$tag_suffix "$exp" reconstruction
if [ "$asr" = true ]; then
  run_stage 9 asr$tag_suffix "$exp" asr_comparison
elif [ "$stop_stage" -ge 9 ]; then
  log "stage 9: the ASR comparison runs with --asr true"
fi
