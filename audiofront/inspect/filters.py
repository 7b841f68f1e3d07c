"""The numbers behind ``audiofront inspect-filters``.

A :class:`FilterReport` gathers, once, everything the terminal plot, the PNG and the JSON show for one
frontend: filter centres and bandwidths, the mel filters of the same count and range as a reference,
the frequency responses of a few chosen filters (in dB), and the other per-channel learnables the
frontend reports through ``Frontend.inspection()`` (LEAF: pooling widths, PCEN parameters).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from torch import Tensor

from ..frontends import Frontend, list_frontends, load_frontend
from ..frontends.melscale import mel_centers_and_fwhm

# Frequency responses are reported in dB relative to the largest response of the bank (so the relative
# gains of the filters stay visible), floored here so that zeros (mel triangles) stay finite in JSON.
DB_FLOOR = -120.0
DEFAULT_N_FFT = 2048
DEFAULT_N_RESPONSES = 5


class InspectError(ValueError):
    """Bad input to inspect-filters (unknown spec, frontend without filters, bad filter index)."""


@dataclass
class FilterReport:
    """What inspect-filters knows about one frontend (tensors are float32 on the CPU)."""

    label: str
    spec: str
    frontend_name: str
    config: dict[str, Any]
    sample_rate: int
    center_hz: Tensor
    bandwidth_hz: Tensor
    bandwidth_kind: str
    mel_min_hz: float
    mel_max_hz: float
    mel_center_hz: Tensor
    mel_bandwidth_hz: Tensor
    response_filters: list[int]
    response_frequencies_hz: Tensor
    response_db: Tensor  # [len(response_filters), F]
    inspection: dict[str, Tensor] = field(default_factory=dict)

    @property
    def n_filters(self) -> int:
        return int(self.center_hz.numel())

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers, ready for ``json.dumps`` (non-finite values become ``None``)."""
        return {
            "label": self.label,
            "spec": self.spec,
            "frontend": self.frontend_name,
            "config": _jsonable(self.config),
            "sample_rate": self.sample_rate,
            "n_filters": self.n_filters,
            "center_hz": _tolist(self.center_hz),
            "bandwidth_hz": _tolist(self.bandwidth_hz),
            "bandwidth_kind": self.bandwidth_kind,
            "mel_reference": {
                "min_hz": self.mel_min_hz,
                "max_hz": self.mel_max_hz,
                "center_hz": _tolist(self.mel_center_hz),
                "bandwidth_hz": _tolist(self.mel_bandwidth_hz),
            },
            "responses": {
                "filters": list(self.response_filters),
                "frequencies_hz": _tolist(self.response_frequencies_hz),
                "db": _tolist(self.response_db),
                "db_reference": "largest response of the bank",
                "db_floor": DB_FLOOR,
            },
            "inspection": {key: _tolist(value) for key, value in self.inspection.items()},
            "summary": summary_numbers(self),
        }


HIGH_BAND_HZ = 4000.0
HISTOGRAM_BIN_HZ = 500.0


def summary_numbers(report: "FilterReport") -> dict[str, Any]:
    """The figures the self-supervised frontends paper discusses (Yadav & Zeghidour 2022, section 4):

    - ``share_above_4khz``: share of the filters whose centre lies above 4 kHz;
    - ``mean_mel_distance``: mean absolute distance, in mels, between the filters' centres and those of
      the mel filterbank of the same count and range, both sorted (learned filters may swap places);
    - ``median_bandwidth_ratio``: median over the filters of bandwidth / mel bandwidth, filters paired as for
      the distance (1 for an untrained mel-initialised bank; > 1: wider than mel);
    - ``center_histogram``: counts of centres in 500 Hz bins from 0 Hz to Nyquist (``edges_hz``).
    Pooling widths and PCEN parameters are in ``inspection``.
    """
    from ..frontends.melscale import hz_to_mel

    centres = report.center_hz.double()
    n = int(centres.numel())
    nyquist = report.sample_rate / 2.0
    n_bins = max(1, math.ceil(nyquist / HISTOGRAM_BIN_HZ))
    edges = [min(nyquist, i * HISTOGRAM_BIN_HZ) for i in range(n_bins + 1)]
    counts = [0] * n_bins
    for c in centres.tolist():
        if math.isfinite(c):
            counts[min(n_bins - 1, max(0, int(c // HISTOGRAM_BIN_HZ)))] += 1
    distance = ratio = None
    if n and report.mel_center_hz.numel() == n:
        mine, order = centres.sort()
        ref, ref_order = report.mel_center_hz.double().sort()
        distance = float((hz_to_mel(mine) - hz_to_mel(ref)).abs().mean())
        widths = report.bandwidth_hz.double()[order] / report.mel_bandwidth_hz.double()[ref_order]
        ratio = float(widths.median())
    return {
        "share_above_4khz": float((centres > HIGH_BAND_HZ).double().mean()) if n else None,
        "mean_mel_distance": _finite(distance),
        "median_bandwidth_ratio": _finite(ratio),
        "center_histogram": {"edges_hz": edges, "counts": counts},
    }


def load_for_inspection(spec: str, conf: Optional[dict[str, Any]] = None) -> Frontend:
    """A frontend name (built untrained with ``conf``) or a checkpoint path, with errors as InspectError."""
    try:
        return load_frontend(spec, **(conf or {}))
    except ValueError as e:
        raise InspectError(str(e)) from None
    except RuntimeError as e:  # load_state_dict: the weights do not fit the (possibly overridden) config
        raise InspectError(f"could not load the frontend weights of {spec}: {e}") from None


def spec_label(spec: str, frontend: Frontend) -> str:
    """``leaf`` for a registry name, ``avg.pt (leaf)`` for a checkpoint."""
    if spec in list_frontends():
        return spec
    return f"{Path(spec).name} ({frontend.name})"


def parse_filter_indices(text: Optional[str]) -> Optional[list[int]]:
    """``"0,10,20"`` -> ``[0, 10, 20]``; ``None`` or empty -> ``None`` (the default spread)."""
    if text is None or not text.strip():
        return None
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isdigit():
            raise InspectError(
                f"--filters expects comma-separated filter indices like 0,10,20; {item!r} is not a non-negative integer"
            )
        out.append(int(item))
    if not out:
        raise InspectError(f"--filters {text!r} names no filter index")
    return list(dict.fromkeys(out))


def default_filter_indices(n_filters: int, count: int = DEFAULT_N_RESPONSES) -> list[int]:
    """``count`` indices spread evenly from the first filter to the last."""
    if n_filters <= 0:
        return []
    count = min(count, n_filters)
    if count == 1:
        return [0]
    return sorted({round(i * (n_filters - 1) / (count - 1)) for i in range(count)})


def mel_reference_range(frontend: Frontend) -> tuple[float, float]:
    """The band the mel reference spans: the frontend's own ``min_hz``/``max_hz`` when it has them
    (so a mel-initialised filterbank sits exactly on its reference), else 0 Hz to Nyquist."""
    lo = getattr(frontend.config, "min_hz", None)
    hi = getattr(frontend.config, "max_hz", None)
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and 0 <= lo < hi:
        return float(lo), float(hi)
    return 0.0, frontend.sample_rate / 2.0


@torch.no_grad()
def gather(
    frontend: Frontend,
    *,
    label: Optional[str] = None,
    spec: Optional[str] = None,
    filters: Optional[Sequence[int]] = None,
    n_fft: int = DEFAULT_N_FFT,
) -> FilterReport:
    """The :class:`FilterReport` of ``frontend``; ``filters`` picks the responses (default: a spread).

    Indices of ``filters`` beyond this bank raise :class:`InspectError`.
    """
    spec = spec if spec is not None else frontend.name
    label = label if label is not None else spec
    bank = frontend.filters()
    if bank is None:
        who = f"the {frontend.name!r} frontend" if label == frontend.name else f"{label}: the {frontend.name!r} frontend"
        raise InspectError(
            f"{who} has no filters to inspect "
            "(inspect-filters needs a frontend whose first layer is a filterbank, e.g. mel, leaf, sincnet, tdfbanks)"
        )
    center = bank.center_hz.detach().float().cpu().reshape(-1)
    bandwidth = bank.bandwidth_hz.detach().float().cpu().reshape(-1)
    if center.numel() != bandwidth.numel():
        raise InspectError(
            f"{label}: the filterbank reports {center.numel()} centres but {bandwidth.numel()} bandwidths"
        )
    n = int(center.numel())
    if filters is None:
        chosen = default_filter_indices(n)
    else:
        chosen = list(filters)
        bad = [i for i in chosen if not 0 <= i < n]
        if bad:
            raise InspectError(
                f"--filters: {label} has {n} filters (indices 0..{n - 1}); no filter {', '.join(map(str, bad))}"
            )
    freqs, mags = bank.frequency_response(n_fft=n_fft)
    freqs = freqs.detach().float().cpu()
    mags = mags.detach().float().cpu()
    if mags.dim() != 2 or mags.shape[0] != n or mags.shape[1] != freqs.numel():
        raise InspectError(
            f"{label}: frequency responses of shape {tuple(mags.shape)} do not match {n} filters "
            f"on {freqs.numel()} frequencies"
        )
    peak = float(mags.max()) if mags.numel() else 0.0
    if peak > 0 and math.isfinite(peak):
        db = (20.0 * torch.log10(mags[chosen] / peak)).clamp(min=DB_FLOOR)
    else:
        db = torch.full((len(chosen), freqs.numel()), DB_FLOOR)
    lo, hi = mel_reference_range(frontend)
    mel_c, mel_bw = mel_centers_and_fwhm(n, lo, hi) if n > 0 else (torch.zeros(0), torch.zeros(0))
    inspection = {
        str(key): (value.detach().float().cpu() if isinstance(value, Tensor) else torch.as_tensor(value, dtype=torch.float32))
        for key, value in (frontend.inspection() or {}).items()
    }
    config = frontend.config.to_dict() if dataclasses.is_dataclass(frontend.config) else {}
    return FilterReport(
        label=label,
        spec=spec,
        frontend_name=frontend.name,
        config=config,
        sample_rate=int(bank.sample_rate),
        center_hz=center,
        bandwidth_hz=bandwidth,
        bandwidth_kind=bank.bandwidth_kind,
        mel_min_hz=lo,
        mel_max_hz=hi,
        mel_center_hz=mel_c.float(),
        mel_bandwidth_hz=mel_bw.float(),
        response_filters=chosen,
        response_frequencies_hz=freqs,
        response_db=db,
        inspection=inspection,
    )


def inspect_specs(
    spec: str,
    conf: Optional[dict[str, Any]] = None,
    compare: Optional[str] = None,
    compare_conf: Optional[dict[str, Any]] = None,
    filters: Optional[Sequence[int]] = None,
    n_fft: int = DEFAULT_N_FFT,
) -> list[FilterReport]:
    """Reports for ``spec`` and, when given, ``compare`` (same filter indices where they exist in both)."""
    main_fe = load_for_inspection(spec, conf)
    reports = [gather(main_fe, label=spec_label(spec, main_fe), spec=spec, filters=filters, n_fft=n_fft)]
    if compare is not None:
        other_fe = load_for_inspection(compare, compare_conf)
        label = spec_label(compare, other_fe)
        if label == reports[0].label:
            label = f"{label} [compare]"
        bank = other_fe.filters()
        n_other = bank.n_filters if bank is not None else 0
        # explicit --filters must exist in both; the default spread is the main bank's, kept where it fits
        other_filters = list(filters) if filters is not None else [i for i in reports[0].response_filters if i < n_other]
        reports.append(gather(other_fe, label=label, spec=compare, filters=other_filters, n_fft=n_fft))
    return reports


def _tolist(t: Tensor) -> Any:
    values = t.detach().double().cpu().tolist()
    return _finite(values)


def _finite(values: Any) -> Any:
    if isinstance(values, list):
        return [_finite(v) for v in values]
    if isinstance(values, float) and not math.isfinite(values):
        return None
    return values


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Tensor):
        return _tolist(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
