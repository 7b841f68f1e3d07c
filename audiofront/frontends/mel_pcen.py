"""``mel-pcen``: the ``mel`` frontend's linear mel energies followed by a learnable compression.

By default sPCEN (alpha, delta, r and s learned per channel: 4 parameters per filter, 256 at 64 filters);
``compression`` gives the rest of LEAF's Table 2 grid on mel filters: ``pcen`` (s fixed, 3 per filter) and
``log`` (``log(x + log_eps)``, no parameters: the ``mel`` frontend itself). The energies come from
:class:`.mel.MelEnergies` (same analysis as ``mel``); they are floored at ``energy_floor`` before the
compression, as LEAF does for its own energies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from .base import FilterBank, FilterbankConfig, FilterbankFrames, Frontend
from .compression import COMPRESSIONS, build_compression
from .mel import MelEnergies
from .registry import register_frontend


@register_frontend("mel-pcen")
class MelPCEN(FilterbankFrames, Frontend):
    """Mel filterbank energies with learnable (s)PCEN compression."""

    @dataclass
    class Config(FilterbankConfig):
        n_fft: int = 512
        compression: Literal["log", "pcen", "spcen"] = "spcen"
        energy_floor: float = 1e-5
        log_eps: float = 1e-5
        freeze_compression: bool = False

    def __init__(self, config: "MelPCEN.Config"):
        super().__init__(config)
        if config.compression not in COMPRESSIONS:
            raise ValueError(f"mel-pcen compression must be one of {COMPRESSIONS}, got {config.compression!r}")
        if config.energy_floor <= 0:
            raise ValueError(f"energy_floor must be positive, got {config.energy_floor}")
        self.energies = MelEnergies.from_config(config)
        if config.compression == "log":
            self.compression = build_compression("log", config.n_filters, eps=config.log_eps)
        else:
            self.compression = build_compression(
                config.compression, config.n_filters, learnable=not config.freeze_compression
            )

    def compute(self, waveforms: Tensor) -> Tensor:
        energies = self.energies(waveforms).clamp(min=self.config.energy_floor)
        return self.compression(energies).transpose(1, 2)

    def filters(self) -> FilterBank:
        return self.energies.filters()

    def inspection(self) -> dict[str, Tensor]:
        return {f"pcen_{k}": v for k, v in self.compression.parameters_for_inspection().items()}
