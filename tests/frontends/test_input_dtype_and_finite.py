"""Every registered frontend: float64 audio gives the float32 features (computed in the module's dtype),
``.double()`` computes in float64, and NaN/Inf samples are refused naming the batch item; traced frontends
skip those checks (the export engineer traces them)."""

import copy

import pytest
import torch

from audiofront.errors import UserError
from audiofront.frontends import FrontendInputError, build_frontend, list_frontends
from vae_fixtures import tiny_vae_checkpoint

NAMES = list_frontends()
NEEDS = {"vae": {"checkpoint": tiny_vae_checkpoint()}}  # frontends of a trained model need its file


def _pair(name, speech):
    torch.manual_seed(0)
    fe = build_frontend(name, **NEEDS.get(name, {})).eval()
    x = torch.stack([speech(0.5, seed=0), speech(0.5, seed=1)])
    return fe, x


@pytest.mark.parametrize("name", NAMES)
def test_float64_input_gives_the_float32_features(name, speech):
    fe, x = _pair(name, speech)
    ref, ref_lens = fe(x)
    got, got_lens = fe(x.double())
    assert got.dtype == ref.dtype == torch.float32
    assert torch.equal(got_lens, ref_lens)
    # x is float32, so x.double() holds exactly the same values: the features must be identical
    assert torch.equal(got, ref)


@pytest.mark.parametrize("name", NAMES)
def test_double_module_computes_in_float64(name, speech):
    fe, x = _pair(name, speech)
    ref, _ = fe(x)
    fe64 = copy.deepcopy(fe).double()
    got, _ = fe64(x)  # float32 input, float64 module: cast up
    assert got.dtype == torch.float64
    scale = float(ref.abs().max())
    # float64 arithmetic of the same model: equal to float32 rounding (relative to the feature scale). Log
    # features magnify the FFT's rounding (relative to a frame's peak) in bins far below the peak: fbank's
    # worst bin reached 1.2e-4 of the scale on an AMD EPYC host (under 1e-4 on the Intel Xeon ones)
    assert float((got - ref.double()).abs().max()) <= 2e-4 * max(scale, 1.0), name


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_samples_are_refused_naming_the_item(name, bad, speech):
    fe, x = _pair(name, speech)
    x = torch.cat([x, x[:1]])  # three items; the bad sample goes into the second
    x[1, 1234] = bad
    with pytest.raises(FrontendInputError) as info:
        fe(x)
    msg = str(info.value)
    assert isinstance(info.value, UserError)
    assert "waveforms[1]" in msg and "sample 1234" in msg, msg
    assert ("1 NaN" if bad != bad else "1 infinite") in msg, msg


def test_the_checks_are_skipped_while_tracing(speech):
    fe, x = _pair("mel", speech)
    x_bad = x.clone()
    x_bad[0, 10] = float("nan")
    # checked in eager mode, skipped by the tracer: tracing on a NaN example must not raise
    with pytest.raises(FrontendInputError):
        fe(x_bad)
    traced = torch.jit.trace(fe, (x_bad,), check_trace=False)
    feats, _ = traced(x_bad)  # and no check is baked into the graph: the NaN flows through
    assert torch.isnan(feats[0]).any() and not torch.isnan(feats[1]).any()


def test_a_sum_that_overflows_is_not_taken_for_a_bad_sample():
    from audiofront.frontends.base import _check_finite

    x = torch.full((2, 100), 3e38)  # finite samples whose float32 sum is inf: the fast test says "look closer"
    assert not torch.isfinite(x.sum())
    _check_finite("test", x)  # no error: every sample is finite
    x[1, 7] = float("nan")
    with pytest.raises(FrontendInputError, match=r"waveforms\[1\] holds 1 NaN"):
        _check_finite("test", x)
