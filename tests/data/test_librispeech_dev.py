"""`prepare librispeech --dev-speakers/--dev-per-speaker`: a dev split carved from the training speakers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet
from typer.testing import CliRunner

from fake_cli import fake_audiofront

from audiofront.data.librispeech import prepare_librispeech
from audiofront.errors import UserError

# speaker -> chapters -> utterances per chapter
LAYOUT = {"11": {"100": 3, "101": 3}, "22": {"200": 4}, "33": {"300": 2, "301": 2}, "44": {"400": 3}}


def _corpus(root: Path) -> Path:
    part = root / "LibriSpeech" / "train-clean-5"
    rng = np.random.default_rng(0)
    for spk, chapters in LAYOUT.items():
        for ch, n in chapters.items():
            d = part / spk / ch
            d.mkdir(parents=True)
            lines = []
            for u in range(n):
                utt = f"{spk}-{ch}-{u:04d}"
                sf.write(d / f"{utt}.flac", (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
                lines.append(f"{utt} HELLO WORLD {u}")
            (d / f"{spk}-{ch}.trans.txt").write_text("\n".join(lines) + "\n")
    return root / "LibriSpeech"


def _ids(out: Path, split: str) -> set[str]:
    return {c.supervisions[0].id for c in CutSet.from_file(out / f"librispeech_cuts_{split}.jsonl.gz")}


def test_dev_per_speaker_and_dev_speakers(tmp_path):
    root = _corpus(tmp_path / "c")
    out = tmp_path / "m"
    counts = prepare_librispeech(root, out, test_speakers=["44"], dev_speakers=["33"], dev_per_speaker=2, num_workers=1)
    train, dev, test = _ids(out, "train"), _ids(out, "dev"), _ids(out, "test")
    assert counts == {"train": len(train), "dev": len(dev), "test": len(test)}
    assert not (train & dev) and not (train & test) and not (dev & test)
    assert {u.split("-")[0] for u in test} == {"44"}
    # every utterance of the held-out speaker, two of each other training speaker, none of the test speaker
    by_spk = {s: {u for u in dev if u.startswith(s + "-")} for s in LAYOUT}
    assert len(by_spk["33"]) == 4 and len(by_spk["11"]) == 2 and len(by_spk["22"]) == 2 and not by_spk["44"]
    # evenly spaced over the sorted ids: speaker 11's two picks come from both chapters
    assert {u.split("-")[1] for u in by_spk["11"]} == {"100", "101"}
    assert len(train) == 6 + 4 - 4 and {u.split("-")[0] for u in train} == {"11", "22"}
    # the same call again gives the same split
    prepare_librispeech(root, tmp_path / "m2", test_speakers=["44"], dev_speakers=["33"], dev_per_speaker=2, num_workers=1)
    assert _ids(tmp_path / "m2", "dev") == dev


def test_without_dev_options_there_is_no_dev_split(tmp_path):
    root = _corpus(tmp_path / "c")
    counts = prepare_librispeech(root, tmp_path / "m", test_speakers=["44"], num_workers=1)
    assert set(counts) == {"train", "test"} and counts["train"] == 6 + 4 + 4


@pytest.mark.parametrize("kwargs,match", [
    (dict(dev_per_speaker=1), "give --test-speakers"),
    (dict(test_speakers=["44"], dev_speakers=["44"]), "both --dev-speakers and --test-speakers"),
    (dict(test_speakers=["44"], dev_speakers=["99"]), "dev speaker"),
    (dict(test_speakers=["44"], dev_per_speaker=4), "nothing to train on"),
    (dict(test_speakers=["44"], dev_per_speaker=-1), "whole number"),
])
def test_bad_dev_options_are_refused(tmp_path, kwargs, match):
    root = _corpus(tmp_path / "c")
    with pytest.raises(UserError, match=match):
        prepare_librispeech(root, tmp_path / "m", num_workers=1, **kwargs)


def test_cli_passes_the_dev_options(tmp_path):
    from audiofront.cli.prepare import app

    root = _corpus(tmp_path / "c")
    res = CliRunner().invoke(app, ["librispeech", "--corpus-dir", str(root), "--out-dir", str(tmp_path / "m"),
                                   "--test-speakers", "44", "--dev-speakers", "33", "--dev-per-speaker", "1",
                                   "--num-workers", "1"])
    assert res.exit_code == 0, res.output
    assert len(_ids(tmp_path / "m", "dev")) == 4 + 1 + 1


REPO = Path(__file__).resolve().parents[2]


def _fake_cli(tmp_path: Path) -> tuple[dict, Path]:
    """An `audiofront` on PATH that records its arguments (the recipe's plumbing, not the tools, is tested);
    tune-lm also leaves the tune.json the recipe reads its best pair from."""
    return fake_audiofront(
        tmp_path,
        'if [ "$1" = tune-lm ]; then while [ $# -gt 0 ]; do [ "$1" = --out-dir ] && out=$2; shift; done',
        '  mkdir -p "$out"; echo \'{"best": {"lm_weight": 1.5, "word_score": -1.0, "wer": 50.0}}\' > "$out/tune.json"; fi')


@pytest.mark.parametrize("extra,valid", [
    ([], "dev"),  # the default: 3 utterances of every training speaker are the dev split
    (["--max-minutes", "0", "--num-epochs", "12"], "dev"),  # a fixed length instead of the recipe's time budget
    (["--dev-per-speaker", "0"], "test"),
    (["--dev-per-speaker", "3", "--dev-speakers", "5789"], "dev"),
    (["--dev-per-speaker", "3", "--valid-set", "test"], "test"),
    (["--test-speakers", "", "--test-set", "test-clean"], "test-clean"),  # no speaker split: no dev split
    # a speaker split over parts that include a dev-* part: the parts are not sets of their own then
    (["--dev-per-speaker", "0", "--parts", "train-clean-5,dev-clean-2"], "test"),
])
def test_run_sh_passes_dev_and_config_options(tmp_path, extra, valid):
    import subprocess

    env, calls = _fake_cli(tmp_path)
    args = ["bash", str(REPO / "egs" / "librispeech" / "run.sh"), "--work-dir", str(tmp_path / "w"),
            "--corpus-dir", str(tmp_path), "--config", str(tmp_path / "my.yaml"), "--stage", "1", "--stop-stage", "4",
            *extra]
    res = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    prep = next(ln for ln in lines if ln.startswith("prepare librispeech"))
    train = next(ln for ln in lines if ln.startswith("train "))
    if valid == "dev" or "--valid-set" in extra:
        assert "--dev-per-speaker 3" in prep
    else:
        assert "--dev-" not in prep
    assert ("--dev-speakers 5789" in prep) == ("--dev-speakers" in extra)
    assert f"--config {tmp_path / 'my.yaml'}" in train
    lang = next(ln for ln in lines if ln.startswith("prepare lang"))
    assert "--tokenizer phone" in lang and "--vocab cmudict" in lang  # the defaults: phones, all of CMUdict
    assert f"--valid-cuts {tmp_path / 'w'}/data/manifests/librispeech_cuts_{valid}.jsonl.gz" in train
    # the length: the recipe's time budget unless the options say otherwise
    assert ("--max-minutes 0" in train) == ("--max-minutes" in extra)
    assert ("--num-epochs 12" in train) == ("--num-epochs" in extra)


def test_run_sh_tunes_on_dev_and_decodes_every_test_set_with_the_best_pair(tmp_path):
    import subprocess

    env, calls = _fake_cli(tmp_path)
    m = f"{tmp_path / 'w'}/data/manifests"
    base = ["bash", str(REPO / "egs" / "librispeech" / "run.sh"), "--work-dir", str(tmp_path / "w"),
            "--corpus-dir", str(tmp_path), "--stage", "5", "--stop-stage", "6", "--tag", "x"]
    res = subprocess.run(base + ["--test-set", "test,other", "--tokenizer", "char"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    tune = [ln for ln in lines if ln.startswith("tune-lm ")]
    assert len(tune) == 1 and f"--cuts {m}/librispeech_cuts_dev.jsonl.gz" in tune[0]
    assert "--beam-size 200" in tune[0]  # the grid at the narrower beam, the test sets at the wide one
    decodes = [ln for ln in lines if ln.startswith("decode ")]
    assert len(decodes) == 4  # 2 test sets x (greedy, lm)
    for s_ in ("test", "other"):
        assert sum(f"--cuts {m}/librispeech_cuts_{s_}.jsonl.gz" in d for d in decodes) == 2
    assert all("--lm-weight 1.5 --word-score -1.0" in d for d in decodes)
    assert all("--beam-size 500" in d for d in decodes)
    scores = [ln for ln in lines if ln.startswith("score ")]
    cers = [ln for ln in scores if "--unit char" in ln]
    assert len(scores) == 8 and len(cers) == 4  # greedy and LM CER per test set
    assert sum("decode_other_lm/hyp" in ln and "--tag x_lm_cer" in ln for ln in cers) == 1
    assert any("--dataset librispeech-other" in ln and "decode_other_lm" in ln for ln in scores)
    # phone tokens (the default): no greedy CER (the greedy output spells unknown words as phones), the LM CER stays
    calls.unlink()
    res = subprocess.run(base + ["--tag", "p"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    cers = [ln for ln in calls.read_text().splitlines() if ln.startswith("score ") and "--unit char" in ln]
    assert len(cers) == 1 and "--tag p_lm_cer" in cers[0]
    # tuning on a set that is also reported is refused
    calls.unlink()
    bad = subprocess.run(base + ["--tag", "y", "--dev-per-speaker", "0", "--tune-lm", "true"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "needs a dev split" in bad.stderr


def test_run_sh_keeps_runs_of_other_frontends_and_tokenizers_apart(tmp_path):
    """Without --tag, a run of another frontend, encoder or tokenizer gets its own exp dir, and each tokenizer its
    own lang dir: a char run after a phone run in the same work dir must build a char lang, not skip stage 3 as
    done and train on the phones."""
    import subprocess

    env, calls = _fake_cli(tmp_path)
    w = tmp_path / "w"
    base = ["bash", str(REPO / "egs" / "librispeech" / "run.sh"), "--work-dir", str(w), "--corpus-dir", str(tmp_path),
            "--stage", "3", "--stop-stage", "4"]

    def run(*extra: str) -> tuple[list[str], str]:
        if calls.exists():
            calls.unlink()
        res = subprocess.run(base + list(extra), env=env, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr[-2000:]
        lines = calls.read_text().splitlines()
        train = next(ln for ln in lines if ln.startswith("train "))
        return [ln for ln in lines if ln.startswith("prepare lang")], train

    langs, train = run()
    assert len(langs) == 1 and f"--out-dir {w}/data/lang_phone" in langs[0]
    assert f"--lang-dir {w}/data/lang_phone " in train and f"--exp-dir {w}/exp/fbank_tiny_phone " in train
    langs, train = run("--tokenizer", "char")
    assert len(langs) == 1 and "--tokenizer char" in langs[0] and f"--out-dir {w}/data/lang_char" in langs[0]
    assert f"--lang-dir {w}/data/lang_char " in train and f"--exp-dir {w}/exp/fbank_tiny_char " in train
    langs, train = run("--frontend", "leaf", "--encoder", "small")  # the phone lang is done: not built again
    assert langs == [] and f"--lang-dir {w}/data/lang_phone " in train and f"--exp-dir {w}/exp/leaf_small_phone " in train
    langs, train = run("--tokenizer", "bpe", "--vocab-size", "128", "--tag", "mine")
    assert f"--out-dir {w}/data/lang_bpe128" in langs[0] and f"--exp-dir {w}/exp/mine " in train
    langs, train = run("--lang-dir", str(tmp_path / "L"), "--tag", "other")
    assert f"--out-dir {tmp_path / 'L'}" in langs[0] and f"--lang-dir {tmp_path / 'L'} " in train


def test_compare_sh_runs_each_row_in_its_own_exp_and_tables_the_decoded_ones(tmp_path):
    import subprocess

    env, calls = _fake_cli(tmp_path)
    w = tmp_path / "w"
    decoded = w / "exp" / "fbank_tiny_phone" / "decode_lm"
    decoded.mkdir(parents=True)
    (decoded / "hyp").write_text("u1 A\n")  # the fake decodes nothing: this row counts as decoded, the other not
    base = ["bash", str(REPO / "egs" / "librispeech" / "compare.sh"), "--work-dir", str(w),
            "--run-opts", f"--corpus-dir {tmp_path} --stage 3"]
    res = subprocess.run(base + ["--rows", "fbank:phone leaf:char"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    trains = [ln for ln in lines if ln.startswith("train ")]
    assert len(trains) == 2
    assert "--frontend fbank" in trains[0] and f"--exp-dir {w}/exp/fbank_tiny_phone " in trains[0]
    assert "--frontend leaf" in trains[1] and f"--exp-dir {w}/exp/leaf_tiny_char " in trains[1]
    assert f"--lang-dir {w}/data/lang_char " in trains[1]
    study = [ln for ln in lines if ln.startswith("plot asr-study")]
    assert study == [f"plot asr-study {w}/exp/fbank_tiny_phone --out-dir {w}/exp/compare"]
    bad = subprocess.run(base + ["--rows", "leaf"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "FRONTEND:TOKENIZER" in bad.stderr


def _protocol_cli(tmp_path: Path) -> tuple[dict, Path]:
    """The fake `audiofront` of :func:`_fake_cli`, which also leaves what the recipe reads back: a manifest per part
    (one gzip member naming the part) from `prepare librispeech`, a train.log from `train`, token files from `decode`
    and a wer.json from `score`."""
    return fake_audiofront(
        tmp_path,
        'out=""; parts=""; args=("$@"); for ((i = 0; i < $#; i++)); do',
        '  case ${args[i]} in --out-dir) out=${args[i+1]} ;; --parts) parts=${args[i+1]} ;; --exp-dir) exp=${args[i+1]} ;; esac',
        'done',
        'if [ "$1" = train ]; then mkdir -p "$exp"; touch "$exp/train.log"; fi',
        'if [ "$1" = prepare ] && [ "$2" = librispeech ]; then mkdir -p "$out"',
        '  for p in ${parts//,/ }; do echo "$p" | gzip > "$out/librispeech_cuts_$p.jsonl.gz"; done; fi',
        'if [ "$1" = tune-lm ]; then mkdir -p "$out"',
        '  echo \'{"best": {"lm_weight": 2.0, "word_score": 0.0, "wer": 20.0}}\' > "$out/tune.json"; fi',
        'if [ "$1" = decode ]; then mkdir -p "$out"; touch "$out/hyp_tokens" "$out/hyp"; fi',
        'if [ "$1" = score ]; then mkdir -p "$out"; echo "{}" > "$out/wer.json"; fi',
        'if [ "$1" = score-table ] && [ -f "$(dirname "$0")/score-table-out" ]; then cat "$(dirname "$0")/score-table-out"; fi')


def test_compare_sh_official_protocol_studies_each_set_and_tables_every_row(tmp_path):
    """compare.sh passes --test-speakers "" and --parts on to run.sh (an empty value --run-opts cannot carry); with
    several sets decoded, a paired study per set of the rows that decoded it and one table of every row on every set;
    a work dir decoded under the speaker split is refused."""
    import subprocess

    env, calls = _protocol_cli(tmp_path)
    w = tmp_path / "w"
    sets = ["dev-clean", "test-clean"]
    rows = [f"{w}/exp/fbank_tiny_phone", f"{w}/exp/leaf_tiny_char"]
    # the first row decoded dev-other once, without finishing (no hyp): not a set of the tables
    Path(rows[0], "decode_dev-other_lm").mkdir(parents=True)
    # the fake score-table prints this, so that sets.md can be checked to hold what it printed
    (tmp_path / "bin" / "score-table-out").write_text("| tag | unit |\n")
    cmd = ["bash", str(REPO / "egs" / "librispeech" / "compare.sh"), "--work-dir", str(w),
           "--rows", "fbank:phone leaf:char", "--test-speakers", "", "--parts", ",".join(["train-clean-100", *sets]),
           "--run-opts", f"--corpus-dir {tmp_path}"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    assert [ln.split("--parts ")[1].split()[0] for ln in lines if ln.startswith("prepare librispeech")] == \
        ["train-clean-100,dev-clean,test-clean"]
    assert not any("--test-speakers" in ln for ln in lines if ln.startswith("prepare librispeech"))
    study = [ln for ln in lines if ln.startswith("plot asr-study")]
    assert study == [f"plot asr-study {' '.join(rows)} --test-set {s_} --out-dir {w}/exp/compare/{s_}" for s_ in sets]
    # each run's own table goes to RESULTS.md; compare.sh's (the last) covers both rows
    table = [ln for ln in lines if ln.startswith("score-table ") and "--results" not in ln]
    want = [f"{r}/score_{s_}_{name}" for r, names in zip(rows, [("greedy", "lm", "lm_cer", "greedy_ter", "greedy_per"),
                                                                 ("greedy", "lm", "greedy_cer", "lm_cer", "greedy_ter")])
            for name in names for s_ in sets]
    assert len(table) == 1 and table[0].split(" --strip-prefix")[0].split()[1:] == want
    sets_md = (w / "exp" / "compare" / "sets.md").read_text()
    assert "- fbank_tiny_phone: LM weight 2.0, word score 0.0, tuned on dev-clean" in sets_md
    assert "The LM rows of a set tuned on are optimistic." in sets_md and sets_md.endswith("| tag | unit |\n")

    # the first row has no test-clean decode: that set's study has the other row alone, and says so
    for f in Path(rows[0], "decode_test-clean_lm").iterdir():
        f.unlink()
    calls.write_text("")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    study = [ln for ln in calls.read_text().splitlines() if ln.startswith("plot asr-study")]
    assert study[1] == f"plot asr-study {rows[1]} --test-set test-clean --out-dir {w}/exp/compare/test-clean"
    assert f"{rows[0]} did not decode test-clean: its baseline is {rows[1]}" in res.stderr

    # a row decoded under the speaker split (decode_lm/) in the same work dir: refused, nothing run
    Path(rows[0], "decode_lm").mkdir()
    calls.write_text("")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "was decoded under the speaker split" in res.stderr and "--work-dir" in res.stderr
    assert calls.read_text() == ""


def test_compare_sh_defaults_are_run_sh_defaults():
    """compare.sh always passes --parts and --test-speakers on, so its defaults must be run.sh's."""
    import re

    def defaults(script):
        text = (REPO / "egs" / "librispeech" / script).read_text()
        return {k: re.search(rf"^{k}=(\S*)", text, flags=re.M).group(1) for k in ("parts", "test_speakers")}

    assert defaults("compare.sh") == defaults("run.sh")


def test_run_sh_says_when_stage_1_was_done_for_another_split(tmp_path):
    """A work dir of the speaker split, then the official protocol: stage 1 is skipped (its marker), so the parts'
    manifests do not exist; one line says why, before anything is trained. With them present, the run goes on."""
    import subprocess

    env, calls = _protocol_cli(tmp_path)
    w = tmp_path / "w"
    m = w / "data" / "manifests"
    m.mkdir(parents=True)
    for s_ in ("train", "dev", "test"):  # what the speaker split left
        (m / f"librispeech_cuts_{s_}.jsonl.gz").write_text("")
    (w / "data" / ".done").mkdir()
    (w / "data" / ".done" / "stage1.manifests.done").write_text("2026-12-06T00:00:00Z\n")
    cmd = ["bash", str(REPO / "egs" / "librispeech" / "run.sh"), "--work-dir", str(w), "--corpus-dir", str(tmp_path),
           "--test-speakers", "", "--tag", "x", "--parts", "train-clean-5,dev-clean-2"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    err = [ln for ln in res.stderr.splitlines() if "run.sh:" in ln]
    assert len(err) == 1 and f"{m}/librispeech_cuts_train-clean-5.jsonl.gz is missing, though stage 1 is marked done" in err[0]
    assert "--work-dir" in err[0] and not calls.exists()  # the stand-in CLI was never called
    for s_ in ("train-clean-5", "dev-clean-2"):
        (m / f"librispeech_cuts_{s_}.jsonl.gz").write_text("")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    assert any(ln.startswith("train ") for ln in lines) and not any(ln.startswith("prepare librispeech") for ln in lines)


def test_run_sh_checks_a_done_stage_1_against_its_data_options(tmp_path):
    """Stage 1 records its data options; a later call with other ones (here another test speaker) stops at its start
    instead of reusing the old split, and a rerun with the same ones, or --force with stage 1, goes on."""
    import subprocess

    env, calls = _protocol_cli(tmp_path)
    w = tmp_path / "w"
    base = ["bash", str(REPO / "egs" / "librispeech" / "run.sh"), "--work-dir", str(w), "--corpus-dir", str(tmp_path),
            "--tag", "x", "--stop-stage", "3"]
    res = subprocess.run(base + ["--stop-stage", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    m = w / "data" / "manifests"
    assert (m / "split_options").read_text() == "parts=train-clean-5 test_speakers=1970,2136 dev_speakers= dev_per_speaker=3\n"
    for s_ in ("train", "dev", "test"):  # what the real prepare would have written
        (m / f"librispeech_cuts_{s_}.jsonl.gz").write_text("")
    res = subprocess.run(base, env=env, capture_output=True, text=True, timeout=60)  # the same options: goes on
    assert res.returncode == 0, res.stderr[-2000:]
    other = subprocess.run(base + ["--test-speakers", "1970"], env=env, capture_output=True, text=True, timeout=60)
    assert other.returncode == 1
    err = [ln for ln in other.stderr.splitlines() if "run.sh:" in ln]
    assert len(err) == 1 and "stage 1 is marked done" in err[0] and "test_speakers=1970,2136" in err[0]
    assert "not these (parts=train-clean-5 test_speakers=1970 " in err[0] and "--work-dir" in err[0]
    n = len(calls.read_text().splitlines())
    forced = subprocess.run(base + ["--test-speakers", "1970", "--force", "true"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert calls.read_text().splitlines()[n].startswith("prepare librispeech")  # stage 1 made again, first
    assert "test_speakers=1970 " in (m / "split_options").read_text()


def test_joined_gzip_manifests_read_as_one_cut_set(tmp_path):
    """What run.sh does to several train-* parts (their .jsonl.gz one after the other) gives one valid manifest."""
    from lhotse.testing.dummies import dummy_cut

    from audiofront.data.cuts import read_cuts

    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    CutSet.from_cuts([dummy_cut(0), dummy_cut(1)]).to_file(a)
    CutSet.from_cuts([dummy_cut(2)]).to_file(b)
    joined = tmp_path / "train.jsonl.gz"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    assert [c.id for c in read_cuts(joined)] == [c.id for c in read_cuts(a)] + [c.id for c in read_cuts(b)]


def test_run_sh_official_protocol_decodes_every_dev_and_test_part_into_one_table(tmp_path):
    import gzip
    import subprocess

    env, calls = _protocol_cli(tmp_path)
    w = tmp_path / "w"
    m = f"{w}/data/manifests"
    sets = ["dev-clean", "dev-other", "test-clean", "test-other"]
    res = subprocess.run(["bash", str(REPO / "egs" / "librispeech" / "run.sh"), "--work-dir", str(w),
                          "--corpus-dir", str(tmp_path), "--test-speakers", "", "--tag", "x",
                          "--parts", ",".join(["train-clean-100", "train-clean-360", *sets])],
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    prep = next(ln for ln in lines if ln.startswith("prepare librispeech"))
    assert "--test-speakers" not in prep and "--dev-" not in prep
    # the two training parts are joined into one manifest named after them (not "train", the speaker split's name)
    joined = f"{m}/librispeech_cuts_train-clean-100+train-clean-360.jsonl.gz"
    with gzip.open(joined, "rt") as f:
        assert f.read().split() == ["train-clean-100", "train-clean-360"]
    assert not Path(f"{m}/librispeech_cuts_train.jsonl.gz").exists()
    train = next(ln for ln in lines if ln.startswith("train "))
    assert f"--train-cuts {joined}" in train
    assert f"--valid-cuts {m}/librispeech_cuts_dev-clean.jsonl.gz" in train
    tune = [ln for ln in lines if ln.startswith("tune-lm ")]
    assert len(tune) == 1 and f"--cuts {m}/librispeech_cuts_dev-clean.jsonl.gz" in tune[0]
    decodes = [ln for ln in lines if ln.startswith("decode ")]
    assert len(decodes) == 8 and all("--lm-weight 2.0 --word-score 0.0" in d for d in decodes)
    for s_ in sets:
        assert sum(f"--cuts {m}/librispeech_cuts_{s_}.jsonl.gz" in d for d in decodes) == 2
    # one table over the four sets: greedy and LM WER, LM CER (phones: no greedy CER), greedy token and phone error
    table = [ln for ln in lines if ln.startswith("score-table ")]
    assert len(table) == 1
    want = [f"{w}/exp/x/score_{s_}_{name}" for name in ("greedy", "lm", "lm_cer", "greedy_ter", "greedy_per")
            for s_ in sets]
    assert table[0].split(" --strip-prefix")[0].split()[1:] == want
    assert "LM weight 2.0, word score 0.0, tuned on dev-clean" in table[0]
    assert "dev-clean is tuned on and also decoded" in res.stderr
    assert f"plot curves {w}/exp/x --png {w}/exp/x/curves.png" in lines


def test_run_sh_official_protocol_on_mini_librispeech_and_bad_parts(tmp_path):
    import subprocess

    env, calls = _protocol_cli(tmp_path)
    w = tmp_path / "w"
    m = f"{w}/data/manifests"
    base = ["bash", str(REPO / "egs" / "librispeech" / "run.sh"), "--work-dir", str(w), "--corpus-dir", str(tmp_path),
            "--test-speakers", "", "--tag", "x"]
    res = subprocess.run(base + ["--parts", "train-clean-5,dev-clean-2"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    train = next(ln for ln in lines if ln.startswith("train "))
    # one training part: its own manifest, nothing joined
    assert f"--train-cuts {m}/librispeech_cuts_train-clean-5.jsonl.gz" in train
    assert not Path(f"{m}/librispeech_cuts_train.jsonl.gz").exists()
    assert f"--valid-cuts {m}/librispeech_cuts_dev-clean-2.jsonl.gz" in train
    assert sum(ln.startswith("tune-lm ") and "dev-clean-2" in ln for ln in lines) == 1
    decodes = [ln for ln in lines if ln.startswith("decode ")]
    assert len(decodes) == 2 and all(f"--cuts {m}/librispeech_cuts_dev-clean-2.jsonl.gz" in d for d in decodes)
    assert not any(ln.startswith("score-table") for ln in lines)  # one set: its rows are the table
    assert "dev-clean-2 is tuned on and also decoded: its LM rows are optimistic" in res.stderr
    # nothing to train on, or nothing to decode: one clear line, before any stage runs
    for parts, match in (("dev-clean,test-clean", "no train-\\* part"), ("train-clean-5", "no dev-\\* or test-\\* part")):
        bad = subprocess.run(base + ["--parts", parts, "--work-dir", str(tmp_path / parts)], env=env,
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode != 0 and re.search(match, bad.stderr), bad.stderr
        assert not (tmp_path / parts).exists()
