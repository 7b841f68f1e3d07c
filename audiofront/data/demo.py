"""The built-in demo corpus: spoken commands and numbers, synthesised by eSpeak NG in many voices.

Nothing is downloaded: the project writes the sentences from a small grammar (home control, timers,
robot moves, calls, music, weather, digit strings: 124 words, so that a tiny CTC model learns them in
minutes) and speaks them with eSpeak NG (:mod:`audiofront.data.synth`) in 8 English accents x 15 voice
variants, each voice with its own pitch and speed and every utterance varied around them.

Voices are split, not utterances: the test voices (and the dev voices) -- accent+variant combinations --
never speak in the training set, so the test WER measures generalisation to unseen voices. Every accent
and every variant still occurs in training, only in other combinations.

Light realism so that a model cannot lean on the exact synthetic edges: a random gain, a random amount of
leading and trailing silence, and white or pink noise at a high signal-to-noise ratio.

Determinism: the whole corpus is a function of the seed and the sizes (bit for bit, checked in the tests).
eSpeak NG carries internal state from one utterance to the next, so the utterances are cut into fixed
shards of :data:`SHARD_SIZE` and each shard is spoken in order by a fresh process: the result does not
depend on the number of processes. Voice variants whose breath noise is not reproducible are not used
(see :data:`audiofront.data.synth.VARIANTS`).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .lock import holds_prepare_lock
from .synth import ENGLISH_ACCENTS, VARIANT_GENDER, VARIANTS, VoiceSettings

SHARD_SIZE = 250
SAMPLE_RATE = 16000

# ---- the grammar -------------------------------------------------------------------------------
_UNITS = "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE".split()
_TEENS = "TEN ELEVEN TWELVE THIRTEEN FOURTEEN FIFTEEN SIXTEEN SEVENTEEN EIGHTEEN NINETEEN".split()
_TENS = "_ _ TWENTY THIRTY FORTY FIFTY SIXTY SEVENTY EIGHTY NINETY".split()
_ROOMS = "KITCHEN BEDROOM BATHROOM GARAGE OFFICE HALLWAY GARDEN".split() + ["LIVING ROOM"]
_DEVICES = "LIGHTS LAMP FAN HEATER RADIO TELEVISION".split()
_DOORS = "FRONT BACK GARAGE BEDROOM KITCHEN".split()
_OPENINGS = "DOOR WINDOW CURTAINS".split()
_NAMES = "MOM DAD ANNA DAVID SARAH PETER".split()
_CITIES = "LONDON PARIS TOKYO BERLIN MADRID".split()
_DIRECTIONS = "FORWARD BACKWARD LEFT RIGHT".split()
_UNITS_OF_TIME = "SECONDS MINUTES HOURS".split()
_LEVELS = "VOLUME BRIGHTNESS TEMPERATURE".split()


def number_words(n: int) -> str:
    """0..999 in words: ``73`` -> ``SEVENTY THREE``, ``205`` -> ``TWO HUNDRED FIVE``."""
    if not 0 <= n <= 999:
        raise ValueError(f"number out of the grammar's range 0..999: {n}")
    if n < 10:
        return _UNITS[n]
    if n < 20:
        return _TEENS[n - 10]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _UNITS[n % 10])
    rest = n % 100
    return _UNITS[n // 100] + " HUNDRED" + ("" if rest == 0 else " " + number_words(rest))


def _maybe(r: random.Random, words: str, p: float = 0.3) -> str:
    return words + " " if r.random() < p else ""


def _digits(r: random.Random, lo: int, hi: int) -> str:
    return " ".join(r.choice(_UNITS) for _ in range(r.randint(lo, hi)))


def _sentence(r: random.Random) -> str:
    kind = r.choices(
        ["device", "switch", "open", "level", "change", "timer", "alarm", "move", "call", "music", "weather", "digits"],
        weights=[3, 2, 2, 3, 2, 2, 2, 3, 2, 2, 2, 3],
    )[0]
    if kind == "device":
        return f"{_maybe(r, 'PLEASE')}TURN {r.choice(['ON', 'OFF'])} THE {r.choice(_ROOMS)} {r.choice(_DEVICES)}"
    if kind == "switch":
        return f"SWITCH {r.choice(['ON', 'OFF'])} THE {r.choice(_DEVICES)} IN THE {r.choice(_ROOMS)}"
    if kind == "open":
        verb = r.choice(["OPEN", "CLOSE", "LOCK", "UNLOCK"])
        return f"{_maybe(r, 'PLEASE')}{verb} THE {r.choice(_DOORS)} {r.choice(_OPENINGS)}"
    if kind == "level":
        level = r.choice(_LEVELS)
        unit = "DEGREES" if level == "TEMPERATURE" else "PERCENT"
        value = r.randint(10, 30) if level == "TEMPERATURE" else r.choice([r.randint(0, 100), 10 * r.randint(0, 10)])
        value_words = "ONE HUNDRED" if value == 100 else number_words(value)
        return f"SET THE {level} TO {value_words} {unit}"
    if kind == "change":
        return f"{r.choice(['INCREASE', 'DECREASE'])} THE {r.choice(_LEVELS)} BY {number_words(r.randint(1, 20))}"
    if kind == "timer":
        return f"SET A TIMER FOR {number_words(r.randint(2, 90))} {r.choice(_UNITS_OF_TIME)}"
    if kind == "alarm":
        hour = number_words(r.randint(1, 12))
        minute = r.choice(["O'CLOCK", number_words(r.randint(10, 59)), "FIFTEEN", "THIRTY", "FORTY FIVE"])
        return f"{r.choice(['WAKE ME UP AT', 'SET AN ALARM FOR'])} {hour} {minute}"
    if kind == "move":
        tail = r.choice(["", "", " AND THEN STOP", " AND THEN TURN " + r.choice(["LEFT", "RIGHT"])])
        return f"{r.choice(['MOVE', 'GO'])} {r.choice(_DIRECTIONS)} {number_words(r.randint(2, 30))} STEPS{tail}"
    if kind == "call":
        if r.random() < 0.5:
            return f"CALL {r.choice(_NAMES)}{r.choice(['', ' NOW', ' TOMORROW'])}"
        return f"{r.choice(['DIAL', 'CALL'])} {_digits(r, 3, 7)}"
    if kind == "music":
        return r.choice(
            [
                f"PLAY SOME {r.choice(['JAZZ', 'ROCK'])} MUSIC{r.choice(['', ' IN THE ' + r.choice(_ROOMS)])}",
                "PLAY THE NEWS",
                "PLAY THE NEXT SONG",
                f"{r.choice(['PAUSE', 'STOP'])} THE MUSIC",
                f"START THE {r.choice(['RADIO', 'MUSIC', 'TELEVISION'])}",
            ]
        )
    if kind == "weather":
        when = r.choice(["", " TODAY", " TOMORROW"])
        what = r.choice(["WHAT IS", "WHAT'S"])
        return f"{what} THE {r.choice(['WEATHER', 'TIME', 'TEMPERATURE'])} IN {r.choice(_CITIES)}{when}"
    return _digits(r, 3, 8)


def demo_vocabulary() -> list[str]:
    """Every word the grammar can produce (sorted)."""
    words = set(_UNITS + _TEENS + _TENS[2:] + _DEVICES + _DOORS + _OPENINGS + _NAMES + _CITIES + _DIRECTIONS)
    words |= set(_UNITS_OF_TIME + _LEVELS + " ".join(_ROOMS).split())
    words |= set(
        "HUNDRED PLEASE TURN ON OFF THE SWITCH IN OPEN CLOSE LOCK UNLOCK SET TO DEGREES PERCENT INCREASE DECREASE "
        "BY A TIMER FOR WAKE ME UP AT AN ALARM O'CLOCK MOVE GO AND THEN STOP STEPS CALL NOW TOMORROW DIAL PLAY "
        "SOME JAZZ ROCK MUSIC NEWS NEXT SONG PAUSE START WHAT IS WHAT'S WEATHER TIME TODAY".split()
    )
    return sorted(words)


# ---- voices ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Voice:
    accent: str
    variant: str
    pitch: int  # the voice's own mean pitch (0..100) and speed (words per minute)
    rate: int

    @property
    def name(self) -> str:
        return f"{self.accent}+{self.variant}"


def split_voices(seed: int, n_test: int = 16, n_dev: int = 8) -> dict[str, list[Voice]]:
    """All accent+variant voices, split into train/dev/test so that no voice is in two splits.

    Held-out voices are spread over the accents (round robin) and never take the last training voice of a
    variant, so every accent and every variant is still heard in training.
    """
    r = random.Random(f"voices-{seed}")
    voices = []
    for accent in ENGLISH_ACCENTS:
        for variant in VARIANTS:
            voices.append(Voice(accent, variant, pitch=r.randint(35, 65), rate=r.randint(150, 190)))
    pools = {a: r.sample([v for v in voices if v.accent == a], len(VARIANTS)) for a in ENGLISH_ACCENTS}
    held: dict[str, list[Voice]] = {"test": [], "dev": []}
    train_variants = {v: len(ENGLISH_ACCENTS) for v in VARIANTS}
    wanted = [("test", n_test), ("dev", n_dev)]
    if n_test + n_dev > len(voices) - len(VARIANTS):
        raise ValueError(f"at most {len(voices) - len(VARIANTS)} held-out voices, asked for {n_test + n_dev}")
    accents = list(ENGLISH_ACCENTS)
    k = 0
    for split, n in wanted:
        while len(held[split]) < n:
            pool = pools[accents[k % len(accents)]]
            k += 1
            for i, v in enumerate(pool):
                if train_variants[v.variant] > 1 and len(pool) > 1:
                    held[split].append(pool.pop(i))
                    train_variants[v.variant] -= 1
                    break
    train = [v for a in ENGLISH_ACCENTS for v in pools[a]]
    return {"train": sorted(train, key=lambda v: v.name), "dev": held["dev"], "test": held["test"]}


# ---- utterance plans -----------------------------------------------------------------------------
@dataclass
class UtterancePlan:
    """Everything needed to make one utterance, drawn in the parent process from the seed."""

    id: str
    split: str
    text: str
    settings: VoiceSettings
    gain_db: float
    lead_s: float
    trail_s: float
    snr_db: float
    noise: str  # "white" | "pink"
    noise_seed: int
    path: str = ""
    custom: dict = field(default_factory=dict)


@dataclass
class DemoConfig:
    n_train: int = 2000
    n_dev: int = 100
    n_test: int = 200
    seed: int = 0
    n_test_voices: int = 16
    n_dev_voices: int = 8
    min_words: int = 3
    max_words: int = 10
    snr_db: tuple = (20.0, 40.0)
    gain_db: tuple = (-12.0, 0.0)
    silence_s: tuple = (0.05, 0.4)


def plan_corpus(cfg: DemoConfig, audio_dir: str | os.PathLike) -> list[UtterancePlan]:
    voices = split_voices(cfg.seed, cfg.n_test_voices if cfg.n_test else 0, cfg.n_dev_voices if cfg.n_dev else 0)
    plans = []
    for split, n in (("train", cfg.n_train), ("dev", cfg.n_dev), ("test", cfg.n_test)):
        r = random.Random(f"{split}-{cfg.seed}")
        for i in range(n):
            text = _sentence(r)
            while not cfg.min_words <= len(text.split()) <= cfg.max_words:
                text = _sentence(r)
            voice = r.choice(voices[split])
            settings = VoiceSettings(
                voice=voice.name,
                rate=int(np.clip(voice.rate + r.randint(-15, 15), 120, 220)),
                pitch=int(np.clip(voice.pitch + r.randint(-6, 6), 20, 80)),
                pitch_range=r.randint(30, 80),
                word_gap=r.choice([0, 0, 0, 1, 2]),
            )
            uid = f"demo-{split}-{i:06d}"
            plans.append(
                UtterancePlan(
                    id=uid,
                    split=split,
                    text=text,
                    settings=settings,
                    gain_db=r.uniform(*cfg.gain_db),
                    lead_s=r.uniform(*cfg.silence_s),
                    trail_s=r.uniform(*cfg.silence_s),
                    snr_db=r.uniform(*cfg.snr_db),
                    noise=r.choice(["white", "pink"]),
                    noise_seed=r.getrandbits(32),
                    path=str(Path(audio_dir) / split / f"{uid}.flac"),
                    custom={"accent": voice.accent, "variant": voice.variant},
                )
            )
    return plans


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Noise with a 1/f power spectrum (white noise shaped in the frequency domain)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return x / (x.std() + 1e-12)


def render(plan: UtterancePlan, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Speak ``plan`` and add silence, gain and noise: float32 audio at ``sample_rate``."""
    from .synth import synthesize

    speech = synthesize(plan.text, plan.settings, sample_rate=sample_rate).astype(np.float64)
    peak = np.abs(speech).max() + 1e-9
    speech = speech / peak * 0.9 * 10 ** (plan.gain_db / 20)
    lead, trail = int(plan.lead_s * sample_rate), int(plan.trail_s * sample_rate)
    audio = np.concatenate([np.zeros(lead), speech, np.zeros(trail)])
    rng = np.random.default_rng(plan.noise_seed)
    noise = rng.standard_normal(audio.size) if plan.noise == "white" else _pink(rng, audio.size)
    # SNR against the speech power measured where the speech is (not the silences we added)
    active = speech[np.abs(speech) > 0.01 * np.abs(speech).max()]
    p_speech = float(np.mean(active**2)) if active.size else float(np.mean(speech**2))
    audio = audio + noise * math.sqrt(p_speech / 10 ** (plan.snr_db / 10))
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def _render_shard(plans: list[UtterancePlan]) -> list[tuple[str, int]]:
    """Run in a fresh process: speak and write every utterance of one shard, in order."""
    import soundfile as sf

    out = []
    for p in plans:
        audio = render(p)
        Path(p.path).parent.mkdir(parents=True, exist_ok=True)
        tmp = p.path + ".tmp.flac"  # soundfile picks the format from the suffix
        sf.write(tmp, audio, SAMPLE_RATE, subtype="PCM_16")
        os.replace(tmp, p.path)
        out.append((p.id, int(audio.size)))
    return out


def synthesize_corpus(plans: list[UtterancePlan], num_jobs: int = 2, shard_size: int = SHARD_SIZE) -> float:
    """Write the audio of every plan; returns the wall time.

    Each shard runs in a new Python process (``python -m audiofront.data.demo SHARD.json``), at most
    ``num_jobs`` at a time: every shard starts from a fresh eSpeak NG whatever this process did before,
    and, unlike a multiprocessing pool, this never re-imports the caller's main module.
    """
    import concurrent.futures
    import subprocess
    import sys
    import tempfile

    shards = [plans[i : i + shard_size] for i in range(0, len(plans), shard_size)]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="demo-shards-") as tmp:
        files = []
        for k, shard in enumerate(shards):
            f = Path(tmp) / f"shard{k:04d}.json"
            f.write_text(json.dumps([asdict(p) for p in shard]))
            files.append(f)

        # the workers import this very package, wherever the caller's working directory is
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))

        def run(f: Path) -> None:
            proc = subprocess.run(
                [sys.executable, "-m", "audiofront.data.demo", str(f)], capture_output=True, text=True, env=env
            )
            if proc.returncode != 0:
                raise RuntimeError(f"speech synthesis of {f.name} failed:\n{proc.stderr[-3000:]}")

        with concurrent.futures.ThreadPoolExecutor(max(1, min(num_jobs, len(files)))) as pool:
            for fut in [pool.submit(run, f) for f in files]:
                fut.result()
    return time.perf_counter() - t0


def _load_plans(path: str) -> list[UtterancePlan]:
    plans = []
    for d in json.loads(Path(path).read_text()):
        d["settings"] = VoiceSettings(**d["settings"])
        plans.append(UtterancePlan(**d))
    return plans


@dataclass
class DemoStats:
    splits: dict
    synthesis_seconds: float
    num_jobs: int
    vocabulary_size: int
    config: dict

    def to_text(self) -> str:
        lines = [f"demo corpus (seed {self.config['seed']}), synthesis {self.synthesis_seconds:.1f} s on {self.num_jobs} process(es)"]
        lines.append(f"vocabulary: {self.vocabulary_size} words")
        for split, s in self.splits.items():
            lines.append(
                f"{split}: {s['utterances']} utterances, {s['hours']:.3f} h, {s['voices']} voices, "
                f"{s['min_s']:.2f}-{s['max_s']:.2f} s (mean {s['mean_s']:.2f} s)"
            )
        return "\n".join(lines)


def check_config(cfg: DemoConfig, num_jobs: int = 2) -> None:
    """Refuse sizes that cannot be meant (a negative count was once read as 0 without a word)."""
    from ..errors import UserError

    for name in ("n_train", "n_dev", "n_test"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UserError(f"--{name.replace('_', '-')} must be a whole number >= 0, got {value!r}")
    if cfg.n_train + cfg.n_dev + cfg.n_test == 0:
        raise UserError("the demo corpus is empty: give at least one of --n-train, --n-dev, --n-test > 0")
    if num_jobs < 1:
        raise UserError(f"--num-jobs must be >= 1, got {num_jobs}")


@holds_prepare_lock("demo")
def prepare_demo(
    out_dir: str | os.PathLike,
    audio_dir: Optional[str | os.PathLike] = None,
    cfg: Optional[DemoConfig] = None,
    num_jobs: int = 2,
    shard_size: int = SHARD_SIZE,
    console=None,
) -> DemoStats:
    """Synthesise the demo corpus into ``audio_dir`` (default ``{out_dir}/demo_audio``) and write the
    manifests ``{out_dir}/demo_{recordings,supervisions,cuts}_{train,dev,test}.jsonl.gz``, the check
    report ``demo_report.txt`` and the statistics ``demo_stats.json``."""
    from .checks import DataReport, probe_many
    from .manifests import Utterance, build_manifests, write_manifests

    cfg = cfg or DemoConfig()
    check_config(cfg, num_jobs)
    out_dir = Path(out_dir)
    audio_dir = Path(audio_dir) if audio_dir is not None else out_dir / "demo_audio"
    out_dir.mkdir(parents=True, exist_ok=True)
    plans = plan_corpus(cfg, audio_dir.resolve())
    if not plans:
        raise ValueError("the demo corpus is empty: give at least one of n_train, n_dev, n_test")
    seconds = synthesize_corpus(plans, num_jobs=num_jobs, shard_size=shard_size)

    # the same checks as for a downloaded corpus: whatever went wrong is reported, not hidden
    report = DataReport("demo")
    utts = []
    for plan, (info, issue) in zip(plans, probe_many([p.path for p in plans], console=console)):
        if issue is not None:
            report.add(issue.kind, issue.path, issue.detail)
            continue
        gender = VARIANT_GENDER.get(plan.custom["variant"])
        custom = dict(plan.custom, rate=plan.settings.rate, pitch=plan.settings.pitch)
        utts.append(Utterance(plan.id, info, plan.text, plan.split, plan.settings.voice, gender, "English", custom))
    manifests = build_manifests(utts, SAMPLE_RATE)
    write_manifests(manifests, out_dir, "demo")
    report.write(out_dir)
    report.print(console)

    splits = {}
    for split, (recs, sups, _cuts) in manifests.items():
        durs = np.array([r.duration for r in recs])
        splits[split] = {
            "utterances": len(recs),
            "hours": float(durs.sum() / 3600),
            "voices": len({s.speaker for s in sups}),
            "min_s": float(durs.min()),
            "max_s": float(durs.max()),
            "mean_s": float(durs.mean()),
        }
    cfg_dict = asdict(cfg)
    stats = DemoStats(splits, seconds, num_jobs, len(demo_vocabulary()), cfg_dict)
    from ..utils.io import atomic_write_text

    atomic_write_text(out_dir / "demo_stats.json", json.dumps(asdict(stats), indent=2) + "\n")
    return stats


if __name__ == "__main__":  # one shard of synthesis, in a process of its own (see synthesize_corpus)
    import sys

    _render_shard(_load_plans(sys.argv[1]))
