"""Frontends on live audio: chunks of any size in, each frame out as soon as it is final.

>>> import torch
>>> from audiofront.frontends import build_frontend
>>> from audiofront.streaming import stream
>>> fe = build_frontend("mel")
>>> s = stream(fe)
>>> s.lookahead, s.frame_shift          # frame k is final once sample 160 k + 199 has arrived
(199, 160)
>>> x = torch.randn(4000) * 0.1
>>> parts = [s.push(x[i : i + 333]) for i in range(0, 4000, 333)] + [s.flush()]
>>> torch.allclose(torch.cat(parts), fe(x[None])[0][0], atol=1e-4)
True

:func:`stream` builds a :class:`~.stream.FrameStream` (``push``, ``flush``, ``reset``, ``lookahead``) from the
frontend's :class:`~.plans.StreamPlan`; :func:`latency_table` lists every registry frontend's look-ahead.

The look-ahead counts from sample ``k * frame_shift``, frame ``k``'s centre for the centred frontends and its
first sample for ``fbank`` and ``wav2vec`` (``snip_edges`` / valid convolutions: final when their last sample
arrives). It is the exact reach of the frame, tested both ways: ``mel`` reads 199 samples past its centre, not
200, because the end taps of its 401-tap Hann window are zero. Two default configurations cannot stream, and
:func:`stream` refuses them saying why: ``2dconv`` (``normalize=true``: waveform statistics of the whole
utterance) and ``wav2vec`` (group norm over time); ``normalize=false`` and ``norm="layer"`` stream exactly.
"""

from __future__ import annotations

from ..errors import UserError
from ..frontends.base import Frontend
from .plans import PLANS, StreamingNotSupported, StreamPlan, plan_for
from .stream import FrameStream


def stream(frontend: Frontend) -> FrameStream:
    """A fresh stream of ``frontend`` (raises :class:`StreamingNotSupported`, saying why, if it cannot stream)."""
    return FrameStream(frontend)


def lookahead(frontend: Frontend) -> int:
    """Samples past frame ``k``'s anchor (``k * frame_shift``) that must arrive before frame ``k`` is final."""
    return plan_for(frontend).lookahead


# Configurations the table shows besides each frontend's defaults: the streamable forms of those that refuse.
TABLE_VARIANTS = {"2dconv": [{}, {"normalize": False}], "wav2vec": [{}, {"norm": "layer"}]}


def latency_table() -> str:
    """A Markdown table of every registry frontend (defaults, plus the streamable variants of those whose
    defaults cannot stream): frame shift, look-ahead in samples and ms, what sample ``k * shift`` is to frame
    ``k``, and the state a stream carries (or why it cannot stream)."""
    from ..frontends import build_frontend, frontend_config_class, list_frontends

    rows = [
        "| frontend | config | frame shift (samples) | look-ahead (samples) | look-ahead (ms) | sample k * shift is frame k's "
        "| stream carries | streams |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for name in list_frontends():
        fields = set(frontend_config_class(name).__dataclass_fields__)
        for options in TABLE_VARIANTS.get(name, [{}]):
            if not set(options) <= fields:
                continue
            conf = ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults"
            try:
                fe = build_frontend(name, **options)
            except UserError:
                # a frontend of a trained model (vae needs checkpoint=PATH): its reach is the model's
                rows.append(f"| {name} | checkpoint=PATH | model's | model's | - | centre | - | yes: bounded fragments, "
                            "`stream(fe).lookahead` gives the model's look-ahead |")
                continue
            try:
                plan = plan_for(fe)
            except StreamingNotSupported as e:
                reason = str(e).split(": ", 1)[-1].split(";")[0]
                rows.append(f"| {name} | {conf} | {fe.frame_shift} | - | - | - | - | no: {reason} |")
                continue
            ms = plan.lookahead / fe.sample_rate * 1000
            anchor = "centre" if plan.anchor == "centre" else "first sample"
            # the most samples kept between pushes (FrameStream.samples_buffered)
            state = f"<= {plan.past + plan.lookahead + plan.hop - 1} samples" + (" + PCEN smoother" if plan.finish else "")
            rows.append(f"| {name} | {conf} | {fe.frame_shift} | {plan.lookahead} | {ms:.2f} | {anchor} | {state} | yes |")
    return "\n".join(rows)


__all__ = ["FrameStream", "PLANS", "StreamPlan", "StreamingNotSupported", "latency_table", "lookahead", "plan_for", "stream"]
