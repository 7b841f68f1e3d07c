"""Streaming frontends: chunks of any size give the offline frames, each as soon as its look-ahead has arrived.

Every registry frontend is covered (a new one without a streaming plan fails ``test_every_frontend_is_covered``);
those whose defaults cannot stream are tested in their streamable configuration, and their refusal is tested.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiofront.errors import UserError
from audiofront.frontends import build_frontend, list_frontends
from audiofront.frontends.base import Frontend, FrontendConfig, centered_num_frames
from audiofront.streaming import StreamingNotSupported, latency_table, plan_for, stream
from vae_fixtures import tiny_vae_checkpoint

from stream_fixtures import one_thread  # noqa: F401  (autouse: one torch thread)

SR = 16000

# (registry name, options): the defaults, or the streamable configuration of a frontend whose defaults refuse
CASES = [
    ("2dconv", {"normalize": False}),
    ("2dconv", {"normalize": False, "first_layer": "stft_mag", "n_fft": 128, "channels": [8, 8]}),
    ("fbank", {}),
    ("leaf", {}),
    ("leaf", {"compression": "log"}),
    ("mel", {}),
    ("mel-pcen", {}),
    ("mfcc", {}),
    ("scf", {}),
    ("sincnet", {}),
    ("sincnet+", {}),
    ("tdfbanks", {}),
    ("wav2vec", {"norm": "layer"}),
    ("wav2vec", {"norm": "layer", "variant": "40ms", "channels": 64}),
    # a trained model's frontend: a tiny random VAE checkpoint (25 ms fragments, 10 ms hop), and the 300 ms
    # fragments at a hop of 50 ms
    ("vae", {"checkpoint": tiny_vae_checkpoint()}),
    ("vae", {"checkpoint": tiny_vae_checkpoint(fragment_frames=96, feature_hop=800)}),
    ("vae", {"checkpoint": tiny_vae_checkpoint(mel=True)}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in opts.items() if k not in ("channels", "n_fft", "checkpoint"))
       + ("-300ms" if opts.get("checkpoint", "").count("-96-") else "") + ("-mel" if opts.get("checkpoint", "").count("-mel-") else "")
       for name, opts in CASES]


@pytest.fixture(scope="module")
def frontends():
    torch.manual_seed(0)
    return {i: build_frontend(name, **opts).eval() for i, (name, opts) in zip(IDS, CASES)}


def signal(seconds: float, batch: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * SR)
    t = torch.arange(n) / SR
    tone = 0.3 * torch.sin(2 * torch.pi * 440 * t) * torch.sin(2 * torch.pi * 3 * t)
    return tone + 0.05 * torch.randn(batch, n, generator=g)


def offline(fe: Frontend, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return fe(x)[0]


# float32 rounding of the same sums in another order, relative to the output scale. scf sums 256-tap
# convolutions and then 40 x 150 products per output, and the chunked GEMMs add them up in other blocks: up to
# 2.1e-5 of the scale measured on an AMD EPYC host (under 1e-5 on the Intel Xeon ones).
REL_TOL = {"scf": 5e-5}


def assert_matches(streamed: torch.Tensor, reference: torch.Tensor, rel: float = 1e-5) -> None:
    assert streamed.shape == reference.shape
    scale = float(reference.abs().max())
    err = float((streamed - reference).abs().max())
    assert err <= rel * max(scale, 1e-3), f"max error {err:.3g} at output scale {scale:.3g}"


def random_chunks(total: int, seed: int) -> list[int]:
    """Chunk sizes from 1 sample to 0.2 s, ones included, summing to ``total``."""
    g = torch.Generator().manual_seed(seed)
    sizes, used = [], 0
    while used < total:
        n = 1 if torch.rand(1, generator=g) < 0.15 else int(torch.randint(1, 3200, (1,), generator=g))
        n = min(n, total - used)
        sizes.append(n)
        used += n
    return sizes


def test_every_frontend_is_covered():
    assert set(list_frontends()) <= {name for name, _ in CASES}


@pytest.mark.parametrize("case", IDS)
def test_random_chunks_equal_offline(frontends, case):
    fe = frontends[case]
    x = signal(1.5)
    s = stream(fe)
    parts, at = [], 0
    for n in random_chunks(x.shape[1], seed=len(case)):
        parts.append(s.push(x[0, at : at + n]))
        at += n
    parts.append(s.flush())
    out = torch.cat(parts)
    assert out.shape[0] == int(fe.num_frames(torch.tensor([x.shape[1]]))[0])
    assert_matches(out, offline(fe, x)[0], rel=REL_TOL.get(case.split("-")[0], 1e-5))


@pytest.mark.parametrize("case", IDS)
def test_one_sample_chunks_emit_each_frame_once_its_lookahead_arrived(frontends, case):
    fe = frontends[case]
    x = signal(0.3, seed=1)
    s = stream(fe)
    hop, look = s.frame_shift, s.lookahead
    counts = fe.num_frames(torch.arange(x.shape[1] + 1)).tolist()
    parts, emitted = [], 0
    for i in range(x.shape[1]):
        frames = s.push(x[0, i : i + 1])
        emitted += frames.shape[0]
        received = i + 1
        # frame k is final once sample k * hop + lookahead has arrived: not before, not later
        due = 0 if received - 1 < look else min((received - 1 - look) // hop + 1, counts[received])
        assert emitted == due, f"after {received} samples: {emitted} frames out, {due} due"
        assert s.samples_buffered <= s.plan.past + look + hop - 1  # bounded memory: only what later frames read
        parts.append(frames)
    tail = s.flush()
    assert tail.shape[0] == int(fe.num_frames(torch.tensor([x.shape[1]]))[0]) - emitted
    assert_matches(torch.cat(parts + [tail]), offline(fe, x)[0])


@pytest.mark.parametrize("case", IDS)
def test_stated_receptive_field_is_exact(frontends, case):
    """Frame k reads samples ``k * hop - past`` and ``k * hop + lookahead`` and none outside them. Checked on the
    bounded part of the frontend (before PCEN, whose smoother reads all the past) in float64, so that the tiny
    weights of windows' edge taps show above rounding."""
    name, options = CASES[IDS.index(case)]
    fe = build_frontend(name, **options).double().eval()
    fe.load_state_dict(frontends[case].state_dict())
    plan = plan_for(fe)
    k = -(-plan.past // plan.hop) + 1  # a frame whose whole field lies inside the signal
    x = signal(((k + 2) * plan.hop + plan.lookahead) / SR, seed=2).double()
    with torch.no_grad():
        base = plan.frames(x)[0, k]
    scale = float(base.abs().max())

    def change(sample: int, by: float) -> float:
        y = x.clone()
        y[0, sample] += by
        with torch.no_grad():
            return float((plan.frames(y)[0, k] - base).abs().max())

    last, first = k * plan.hop + plan.lookahead, k * plan.hop - plan.past
    # a large push of either sign, so that it shows through max-pooling and the tiny edge taps of windows
    assert max(change(last, 1e3), change(last, -1e3)) > 1e-9 * scale, "lookahead overstated"
    assert change(last + 1, 10.0) <= 1e-12 * scale, "lookahead understated"
    assert change(first - 1, 10.0) <= 1e-12 * scale, "past understated"
    assert max(change(first, 1e3), change(first, -1e3)) > 1e-9 * scale, "past overstated"


@pytest.mark.parametrize("case", IDS)
def test_batch_of_streams(frontends, case):
    fe = frontends[case]
    x = signal(0.7, batch=3, seed=3)
    s = stream(fe)
    parts, at = [], 0
    for n in random_chunks(x.shape[1], seed=7):
        out = s.push(x[:, at : at + n])
        assert out.dim() == 3 and out.shape[0] == 3
        parts.append(out)
        at += n
    parts.append(s.flush())
    assert_matches(torch.cat(parts, dim=1), offline(fe, x))


@pytest.mark.parametrize("case", ["mel-pcen", "sincnet+"])
def test_pcen_state_carries_across_chunks(frontends, case):
    fe = frontends[case]
    x = signal(0.5, seed=4)
    cut = 3777  # mid-frame
    s = stream(fe)
    first = s.push(x[0, :cut])
    second = s.push(x[0, cut:])
    reference = offline(fe, x)[0]
    assert_matches(torch.cat([first, second, s.flush()]), reference)
    # the frames after the cut depend on the smoother's history before it (what the stream carries): with a
    # silent history they differ, so a stream that restarted the smoother at the cut would fail the check above
    later = slice(first.shape[0], first.shape[0] + second.shape[0])
    silent = offline(fe, torch.cat([torch.zeros(1, cut), x[:, cut:]], dim=1))[0]
    assert float((silent[later] - reference[later]).abs().max()) > 1e-3


@pytest.mark.parametrize("case", ["leaf", "mel-pcen", "scf"])
def test_flush_ends_the_stream_and_reset_forgets(frontends, case):
    fe = frontends[case]
    a, b = signal(0.4, seed=5), signal(0.3, seed=6)
    s = stream(fe)
    s.push(a[0])
    tail = s.flush()
    assert tail.shape[0] > 0  # the end frames come from the implicit zero padding
    assert s.samples_received == 0 and s.frames_emitted == 0
    # after flush, the next signal starts afresh (no PCEN state, no samples left over)
    out_b = torch.cat([s.push(b[0, :1000]), s.push(b[0, 1000:]), s.flush()])
    assert_matches(out_b, offline(fe, b)[0])
    # reset in the middle of a signal forgets it
    s.push(a[0, :2500])
    s.reset()
    out_b = torch.cat([s.push(b[0]), s.flush()])
    assert_matches(out_b, offline(fe, b)[0])


def test_flush_of_short_and_empty_streams(frontends):
    fbank = stream(frontends["fbank"])
    assert tuple(fbank.flush().shape) == (0, 80)  # nothing pushed
    fbank.push(torch.zeros(399))  # shorter than one 400-sample frame: no frame, as num_frames says
    assert fbank.flush().shape[0] == 0
    mel = stream(frontends["mel"])
    out = torch.cat([mel.push(torch.full((5,), 0.1)), mel.flush()])
    assert_matches(out, offline(frontends["mel"], torch.full((1, 5), 0.1))[0])


def test_numpy_and_float64_chunks(frontends):
    fe = frontends["mel"]
    x = signal(0.25, seed=8)
    s = stream(fe)
    out = torch.cat([s.push(x[0, :1234].numpy()), s.push(x[0, 1234:].double()), s.flush()])
    assert out.dtype == torch.float32
    assert_matches(out, offline(fe, x)[0])


def test_bad_chunks_get_one_clear_line(frontends):
    s = stream(frontends["mel"])
    with pytest.raises(UserError, match="int16 audio by 32768"):
        s.push(torch.zeros(100, dtype=torch.int16))
    with pytest.raises(UserError, match=r"\[samples\] or \[batch, samples\]"):
        s.push(torch.zeros(1, 1, 100))
    with pytest.raises(UserError, match="NaN or infinite"):
        s.push(torch.tensor([0.0, float("nan")]))
    s.push(torch.zeros(2, 100))
    with pytest.raises(UserError, match="batch size 2"):
        s.push(torch.zeros(3, 100))
    with pytest.raises(UserError, match=r"fed \[batch, samples\] chunks"):
        s.push(torch.zeros(100))
    with pytest.raises(UserError, match="tensor or array of samples, got str"):
        s.push("noise")
    s.reset()
    assert s.push(np.zeros(400, dtype=np.float32)).shape == (2, 40)


def test_whole_utterance_statistics_refuse_with_the_reason():
    with pytest.raises(StreamingNotSupported, match="normalize=false") as err:
        stream(build_frontend("2dconv"))
    assert "\n" not in str(err.value) and "mean and variance of the whole utterance" in str(err.value)
    with pytest.raises(StreamingNotSupported, match="norm=layer") as err:
        stream(build_frontend("wav2vec", channels=8))
    assert "group norm" in str(err.value)


def test_a_frontend_without_a_plan_is_refused():
    class Odd(Frontend):
        name = "odd"

        frame_shift = 1
        output_dim = 1

        def num_frames(self, lengths):
            return centered_num_frames(lengths, 1)

        def compute(self, waveforms):
            return waveforms[..., None]

    with pytest.raises(StreamingNotSupported, match="'odd' has no streaming plan"):
        stream(Odd(FrontendConfig()))


def test_latency_table_lists_every_frontend_with_its_stream_lookahead():
    table = latency_table()
    rows = [r.split("|")[1:-1] for r in table.splitlines()[2:]]
    assert {r[0].strip() for r in rows} == set(list_frontends())
    for name, conf, shift, look, _ms, _anchor, _state, ok in rows:
        name, conf = name.strip(), conf.strip()
        if conf == "checkpoint=PATH":  # a trained model's frontend: the look-ahead is the model's
            fe = build_frontend(name, checkpoint=tiny_vae_checkpoint())
            assert shift.strip() == look.strip() == "model's" and ok.strip().startswith("yes")
            assert stream(fe).lookahead == plan_for(fe).lookahead > 0
            continue
        options = {} if conf == "defaults" else dict(kv.split("=") for kv in conf.split(", "))
        options = {k: (v == "True") if v in ("True", "False") else v for k, v in options.items()}
        fe = build_frontend(name, **options)
        assert int(shift) == fe.frame_shift
        if ok.strip() == "yes":
            assert int(look) == stream(fe).lookahead
        else:
            with pytest.raises(StreamingNotSupported):
                stream(fe)
