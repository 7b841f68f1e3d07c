"""CTC decoding: greedy (best path) and lexicon-constrained beam search with an n-gram LM (flashlight-text)."""

from .greedy import ctc_greedy, ctc_greedy_reference

__all__ = ["ctc_greedy", "ctc_greedy_reference", "BeamSearchOptions", "LexiconBeamDecoder"]


def __getattr__(name: str):
    # The beam decoder needs flashlight-text; import it only when asked for.
    if name in ("BeamSearchOptions", "LexiconBeamDecoder"):
        from . import beam

        return getattr(beam, name)
    raise AttributeError(name)
