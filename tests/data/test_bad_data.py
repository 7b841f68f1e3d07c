"""Hostile and broken corpora (issue 9): ids that are paths, audio that only looks fine, repeated ids,
odd sample rates, bad names and metadata. Each corpus is crafted here, in a temp folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet

from audiofront.data.checks import MIN_DURATION, DataReport, decode_check, probe_many, summarize_resampled
from audiofront.data.fsdd import prepare_fsdd
from audiofront.data.leaf_datasets import prepare_cremad, prepare_nsynth
from audiofront.data.librispeech import prepare_librispeech
from audiofront.data.yesno import prepare_yesno
from audiofront.errors import UserError


def _tone(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _rows(report_path: Path) -> dict[str, set[str]]:
    rows: dict[str, set[str]] = {}
    for line in report_path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[0] != "kind":
            rows.setdefault(fields[0], set()).add(fields[1])
    return rows


def _chapter(root: Path, spk: str = "11", chapter: str = "100", n: int = 2) -> Path:
    ch = root / "LibriSpeech" / "train-clean-5" / spk / chapter
    ch.mkdir(parents=True, exist_ok=True)
    lines = []
    for u in range(n):
        uid = f"{spk}-{chapter}-{u:04d}"
        sf.write(ch / f"{uid}.flac", _tone(0.3, 16000, u), 16000)
        lines.append(f"{uid} HELLO {u}")
    (ch / f"{spk}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    return ch


# ---- item 2: ids are data, not paths ------------------------------------------------------------
def test_librispeech_ids_that_are_paths_are_reported_not_read(tmp_path):
    corpus = tmp_path / "corpus"
    ch = _chapter(corpus)
    victim = tmp_path / "victim"
    victim.mkdir()
    sf.write(victim / "target.flac", _tone(0.3, 16000, 5), 16000)  # a real file outside the corpus
    rel = "../" * (len(ch.relative_to(tmp_path).parts)) + "victim/target"
    assert (ch / f"{rel}.flac").resolve() == (victim / "target.flac").resolve()  # the id does reach it
    absolute = str(victim / "target")
    with open(ch / "11-100.trans.txt", "a") as f:
        f.write(f"{rel} HELLO\n{absolute} HELLO\n22-999-0001 NOT THIS CHAPTER\n")
    out = tmp_path / "m"
    counts = prepare_librispeech(corpus, out)
    assert counts == {"train-clean-5": 2}
    cuts = CutSet.from_file(out / "librispeech_cuts_train-clean-5.jsonl.gz").to_eager()
    assert sorted(cuts.ids) == ["11-100-0000", "11-100-0001"]
    assert not any("victim" in c.recording.sources[0].source for c in cuts)
    trans = str(ch / "11-100.trans.txt")
    rows = _rows(out / "librispeech_report.txt")
    assert rows == {"bad_id": {f"{trans}:3", f"{trans}:4", f"{trans}:5"}}


def test_nsynth_keys_that_are_paths_are_reported(tmp_path):
    part = tmp_path / "nsynth-train"
    (part / "audio").mkdir(parents=True)
    good = "guitar_acoustic_010-066-100"
    sf.write(part / "audio" / f"{good}.wav", _tone(0.2, 16000), 16000)
    (tmp_path / "victim").mkdir()
    sf.write(tmp_path / "victim" / "target.wav", _tone(0.2, 16000), 16000)
    meta = {good: {"pitch": 66, "instrument_family_str": "guitar"},
            "../../victim/target": {"pitch": 60, "instrument_family_str": "bass"},
            str(tmp_path / "victim" / "target"): {"pitch": 61, "instrument_family_str": "bass"}}
    (part / "examples.json").write_text(json.dumps(meta))
    manifests, report = prepare_nsynth(tmp_path, tmp_path / "out")
    assert [c.id for c in manifests["train"][2]] == [good]
    assert sorted(i.kind for i in report.issues) == ["bad_id", "bad_id"]
    assert "../../victim/target" in (tmp_path / "out" / "nsynth_report.txt").read_text()


# ---- item 5: decode everything once ---------------------------------------------------------------
def _broken_files(folder: Path) -> dict[str, Path]:
    """A truncated FLAC, a float WAV with a NaN, one with an Inf, a 1-sample file and a good one."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {k: folder / name for k, name in [
        ("good", "0_0_1.wav"), ("truncated", "0_1_0.flac"), ("nan", "0_1_1.wav"), ("inf", "1_0_0.wav"), ("one", "1_0_1.wav")]}
    sf.write(files["good"], _tone(0.3, 8000), 8000)
    sf.write(folder / "full.flac", _tone(2.0, 8000), 8000)
    data = (folder / "full.flac").read_bytes()
    (folder / "full.flac").unlink()
    files["truncated"].write_bytes(data[: len(data) // 3])  # the header still says 2 s
    x = _tone(0.3, 8000)
    x[100] = np.nan
    sf.write(files["nan"], x, 8000, subtype="FLOAT")
    x = _tone(0.3, 8000)
    x[-1] = np.inf
    sf.write(files["inf"], x, 8000, subtype="FLOAT")
    sf.write(files["one"], np.array([0.1], dtype=np.float32), 8000)
    return files


def test_decode_check_finds_what_the_header_hides(tmp_path):
    files = _broken_files(tmp_path)
    assert sf.info(files["truncated"]).frames == 16000  # the header alone looks fine
    kinds = {k: (decode_check(p)[1].kind if decode_check(p)[1] else None) for k, p in files.items()}
    assert kinds == {"good": None, "truncated": "undecodable_audio", "nan": "nonfinite_audio",
                     "inf": "nonfinite_audio", "one": "too_short_audio"}
    # exactly at the threshold is kept, one sample less is not
    n = int(round(MIN_DURATION * 8000))
    sf.write(tmp_path / "edge.wav", _tone(1.0, 8000)[:n], 8000)
    sf.write(tmp_path / "below.wav", _tone(1.0, 8000)[: n - 1], 8000)
    assert decode_check(tmp_path / "edge.wav")[1] is None
    assert decode_check(tmp_path / "below.wav")[1].kind == "too_short_audio"


def test_cut_wav_is_kept_at_its_true_length(tmp_path):
    """A WAV whose data chunk is cut: libsndfile reports the frames really there, and so do we (the
    manifest's duration must be what loading gives)."""
    sf.write(tmp_path / "full.wav", _tone(1.0, 8000), 8000)
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    info, issue = decode_check(tmp_path / "cut.wav")
    assert issue is None and 0 < info.num_samples < 8000
    assert info.num_samples == sf.read(tmp_path / "cut.wav")[0].shape[0]


def test_threaded_check_matches_the_serial_one(tmp_path):
    files = list(_broken_files(tmp_path / "bad").values())
    for k in range(70):
        sf.write(tmp_path / f"g{k}.wav", _tone(0.05 + 0.001 * k, 8000, k), 8000)
    paths = files + sorted(tmp_path.glob("g*.wav")) + files
    serial = probe_many(paths, num_workers=1, progress=None)
    threaded = probe_many(paths, num_workers=4, progress=None)
    assert threaded == serial
    assert sum(issue is not None for _, issue in threaded) == 8


def test_yesno_leaves_broken_audio_out(tmp_path):
    files = _broken_files(tmp_path / "waves")  # the .flac is not a yes/no file: not looked at
    out = tmp_path / "m"
    counts = prepare_yesno(tmp_path / "waves", out)
    assert counts == {"train": 1}
    assert _rows(out / "yesno_report.txt") == {
        "nonfinite_audio": {str(files["nan"]), str(files["inf"])},
        "too_short_audio": {str(files["one"])},
    }
    assert list(CutSet.from_file(out / "yesno_cuts_train.jsonl.gz").ids) == ["0_0_1"]


def test_librispeech_truncated_flac_is_reported(tmp_path):
    corpus = tmp_path / "corpus"
    ch = _chapter(corpus, n=3)
    sf.write(ch / "11-100-0002.flac", _tone(3.0, 16000), 16000)
    data = (ch / "11-100-0002.flac").read_bytes()
    (ch / "11-100-0002.flac").write_bytes(data[: len(data) // 3])
    out = tmp_path / "m"
    assert prepare_librispeech(corpus, out) == {"train-clean-5": 2}
    assert _rows(out / "librispeech_report.txt") == {"undecodable_audio": {str(ch / "11-100-0002.flac")}}


# ---- item 6: repeated ids -------------------------------------------------------------------------
def test_repeated_ids_are_left_out_and_listed(tmp_path):
    corpus = tmp_path / "corpus"
    ch = _chapter(corpus, n=2)
    with open(ch / "11-100.trans.txt", "a") as f:
        f.write("11-100-0001 AGAIN\n11-100-0001 AND AGAIN\n")  # three lines for one id
    out = tmp_path / "m"
    assert prepare_librispeech(corpus, out) == {"train-clean-5": 1}
    text = (out / "librispeech_report.txt").read_text()
    dup = [line.split("\t") for line in text.splitlines() if line.startswith("duplicate_id\t")]
    trans = ch / "11-100.trans.txt"
    assert [d[1] for d in dup] == [f"{trans}:2", f"{trans}:3", f"{trans}:4"]  # every copy, by line
    assert all("'11-100-0001' occurs 3 times" in d[2] for d in dup)
    cuts = CutSet.from_file(out / "librispeech_cuts_train-clean-5.jsonl.gz").to_eager()
    assert list(cuts.ids) == ["11-100-0000"]


def test_repeated_nsynth_key_in_one_file_is_refused(tmp_path):
    part = tmp_path / "nsynth-valid"
    part.mkdir()
    entry = '{"pitch": 60, "instrument_family_str": "bass"}'
    (part / "examples.json").write_text(f'{{"bass_synthetic_001-060-100": {entry}, "bass_synthetic_001-060-100": {entry}}}')
    with pytest.raises(UserError, match="examples.json: note id.*'bass_synthetic_001-060-100' repeated"):
        prepare_nsynth(tmp_path, tmp_path / "out")


# ---- item 9: options and odd files ------------------------------------------------------------------
def test_sample_rate_must_be_positive(tmp_path):
    _chapter(tmp_path / "corpus")
    sf.write(tmp_path / "0_1.wav", _tone(0.2, 8000), 8000)
    for rate in (0, -16000):
        with pytest.raises(UserError, match=f"--sample-rate must be a positive number of Hz.*got {rate}"):
            prepare_librispeech(tmp_path / "corpus", tmp_path / "m", sample_rate=rate)
        with pytest.raises(UserError, match="--sample-rate"):
            prepare_yesno(tmp_path, tmp_path / "m", sample_rate=rate)
    assert not list((tmp_path / "m").glob("*.jsonl.gz"))


def test_yesno_with_only_unlabelled_files_fails(tmp_path):
    for name in ("hello", "take_1"):
        sf.write(tmp_path / f"{name}.wav", _tone(0.2, 8000), 8000)
    with pytest.raises(UserError, match=r"none of the 2 \.wav file\(s\).*0_1_1_0_1_0_0_1\.wav"):
        prepare_yesno(tmp_path, tmp_path / "m")
    assert not list((tmp_path / "m").glob("*.jsonl.gz"))


def test_fsdd_lists_the_file_at_an_odd_rate_by_name(tmp_path):
    rec = tmp_path / "recordings"
    rec.mkdir()
    for i in range(8):
        sf.write(rec / f"3_theo_{i}.wav", _tone(0.2, 8000, i), 8000)
    sf.write(rec / "3_theo_9.wav", _tone(0.2, 44100), 44100)
    manifests, report = prepare_fsdd(tmp_path, tmp_path / "out", split="index")
    assert [i.path for i in report.issues if i.kind == "resampled"] == [str(rec / "3_theo_9.wav")]
    assert any("8 file(s) at 8000 Hz resampled to 16000 Hz" in n for n in report.notes)
    assert "3_theo_9.wav\t44100 Hz" in (tmp_path / "out" / "fsdd_report.txt").read_text()
    assert sum(len(s[2]) for s in manifests.values()) == 9  # resampled, not dropped


def test_summarize_resampled_keeps_minority_rates():
    from audiofront.data.checks import AudioInfo, check_format

    report = DataReport("x")
    infos = [AudioInfo(f"a{i}", 8000, 800, 1) for i in range(5)] + [AudioInfo("b", 22050, 2205, 1), AudioInfo("c", 16000, 1600, 1)]
    for info in infos:
        check_format(info, report, 16000)
    summarize_resampled(report, infos, 16000)
    assert [i.path for i in report.issues] == ["b"]
    assert report.notes == ["5 file(s) at 8000 Hz resampled to 16000 Hz in the cuts",
                            "file(s) at another rate (22050 Hz) are listed as 'resampled' below"]


# ---- item 12: bad names and metadata --------------------------------------------------------------
def test_badly_named_files_are_bad_names_not_unreadable_audio(tmp_path):
    rec = tmp_path / "fsdd" / "recordings"
    rec.mkdir(parents=True)
    for i in range(6):
        sf.write(rec / f"1_george_{i}.wav", _tone(0.2, 8000, i), 8000)
    sf.write(rec / "one_george.wav", _tone(0.2, 8000), 8000)  # perfectly good audio, no label in the name
    _, report = prepare_fsdd(tmp_path / "fsdd", tmp_path / "o1", split="index")
    assert [(i.kind, Path(i.path).name) for i in report.issues] == [("bad_id", "one_george.wav")]

    wav = tmp_path / "cremad" / "AudioWAV"
    wav.mkdir(parents=True)
    sf.write(wav / "1001_DFA_ANG_XX.wav", _tone(0.2, 16000), 16000)
    sf.write(wav / "1005_DFA_SAD_HI.wav", _tone(0.2, 16000), 16000)
    sf.write(wav / "1001_DFA_XXX_XX.wav", _tone(0.2, 16000), 16000)  # unknown emotion
    sf.write(wav / "take two.wav", _tone(0.2, 16000), 16000)
    _, report = prepare_cremad(tmp_path / "cremad", tmp_path / "o2")
    assert sorted((i.kind, Path(i.path).name) for i in report.issues) == [
        ("bad_id", "1001_DFA_XXX_XX.wav"), ("bad_id", "take two.wav")]
    assert "unreadable" not in (tmp_path / "o2" / "cremad_report.txt").read_text()


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"bass_synthetic_001-060-100": {"pitch": 60}}', r"examples\.json: note 'bass_synthetic_001-060-100' has no 'instrument_family_str'"),
        ('{"bass_synthetic_001-060-100": {"pitch": 60,', r"examples\.json is not valid JSON \(line 1, column"),
        ('["bass_synthetic_001-060-100"]', r"examples\.json: expected a JSON object"),
        ('{"bass_synthetic_001-060-100": 3}', r"examples\.json: note 'bass_synthetic_001-060-100' is a int"),
    ],
)
def test_nsynth_bad_examples_json_names_the_file(tmp_path, content, message):
    part = tmp_path / "nsynth-test"
    part.mkdir()
    (part / "examples.json").write_text(content)
    with pytest.raises(UserError, match=message) as e:
        prepare_nsynth(tmp_path, tmp_path / "out")
    assert str(part / "examples.json") in str(e.value) and "\n" not in str(e.value)


def test_librispeech_with_no_usable_file_fails_and_keeps_the_report(tmp_path):
    ch = tmp_path / "LibriSpeech" / "train-clean-5" / "1" / "2"
    ch.mkdir(parents=True)
    (ch / "1-2-0.flac").write_bytes(b"fLaC not really")
    sf.write(ch / "1-2-1.flac", np.array([0.5], dtype=np.float32), 16000)
    (ch / "1-2.trans.txt").write_text("1-2-0 HI\n1-2-1 HO\n")
    out = tmp_path / "m"
    with pytest.raises(UserError, match=r"no usable utterance in train-clean-5 .*librispeech_report\.txt"):
        prepare_librispeech(tmp_path, out)
    assert _rows(out / "librispeech_report.txt") == {"unreadable_audio": {str(ch / "1-2-0.flac")},
                                                     "too_short_audio": {str(ch / "1-2-1.flac")}}
    assert not list(out.glob("*.jsonl.gz"))


def test_build_manifests_refuses_repeated_ids(tmp_path):
    from audiofront.data.checks import probe_audio
    from audiofront.data.manifests import Utterance, build_manifests

    sf.write(tmp_path / "a.wav", _tone(0.2, 16000), 16000)
    info, _ = probe_audio(tmp_path / "a.wav")
    with pytest.raises(UserError, match="'x' occur more than once"):
        build_manifests([Utterance("x", info, "A", "train"), Utterance("x", info, "B", "test")])


def test_file_names_are_not_rich_markup(tmp_path):
    """A file named like rich markup is printed as it is, not swallowed as a style tag."""
    import io

    from rich.console import Console

    sf.write(tmp_path / "0_1.wav", _tone(0.2, 8000), 8000)
    sf.write(tmp_path / "[red]x[bold].wav", _tone(0.2, 8000), 8000)
    buf = io.StringIO()
    prepare_yesno(tmp_path, tmp_path / "m", console=Console(file=buf, width=400))
    assert "[red]x[bold].wav" in buf.getvalue()


def test_speechcommands_odd_names_are_bad_ids(tmp_path):
    from audiofront.data.speechcommands import prepare_speechcommands

    part = tmp_path / "speech_commands_v0.02"
    for word in ("yes", "no"):
        sf.write(_mk(part / word / "aa11_nohash_0.wav"), _tone(0.2, 16000), 16000)
        sf.write(_mk(part / word / "bb22_nohash_0.wav"), _tone(0.2, 16000), 16000)
    sf.write(_mk(part / "yes" / "copy of aa11.wav"), _tone(0.2, 16000), 16000)
    sf.write(_mk(part / "two words" / "cc33_nohash_0.wav"), _tone(0.2, 16000), 16000)
    (part / "testing_list.txt").write_text("yes/aa11_nohash_0.wav\n")
    manifests, report = prepare_speechcommands(tmp_path, tmp_path / "out")
    assert sorted((i.kind, Path(i.path).name) for i in report.issues) == [("bad_id", "copy of aa11.wav"), ("bad_id", "two words")]
    assert sum(len(s[2]) for s in manifests.values()) == 4


def _mk(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
