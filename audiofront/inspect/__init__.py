"""Inspecting a frontend's filters: the numbers (:mod:`.filters`) and their plots (:mod:`.plots`).

``inspect_specs("leaf", compare="mel")`` gives one :class:`FilterReport` per frontend; ``audiofront
inspect-filters`` draws them in the terminal, writes them as a PNG or prints them as JSON.
"""

from .filters import (
    FilterReport,
    InspectError,
    default_filter_indices,
    gather,
    inspect_specs,
    load_for_inspection,
    parse_filter_indices,
)

__all__ = [
    "FilterReport",
    "InspectError",
    "default_filter_indices",
    "gather",
    "inspect_specs",
    "load_for_inspection",
    "parse_filter_indices",
]
