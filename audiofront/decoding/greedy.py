"""CTC greedy (best-path) decoding: the arg-max token per frame, repeats merged, then blanks removed."""

from __future__ import annotations

import torch


def ctc_greedy(log_probs: torch.Tensor, lengths: torch.Tensor | None = None, blank: int = 0) -> list[list[int]]:
    """``log_probs`` [B, F, V] (or [F, V]) and valid frame counts [B] -> token ids per utterance.

    Vectorised: a frame is kept when its arg-max differs from the previous frame's and is not blank.
    """
    if log_probs.dim() == 2:
        log_probs = log_probs.unsqueeze(0)
    if log_probs.dim() != 3:
        raise ValueError(f"expected log-probabilities [B, F, V], got shape {tuple(log_probs.shape)}")
    b, f, v = log_probs.shape
    if not 0 <= blank < v:
        raise ValueError(f"blank id {blank} outside the vocabulary of {v} tokens")
    if lengths is None:
        lengths = torch.full((b,), f, dtype=torch.long)
    best = log_probs.argmax(dim=-1).cpu()  # [B, F]
    prev = torch.cat([torch.full((b, 1), -1, dtype=best.dtype), best[:, :-1]], dim=1)
    valid = torch.arange(f).unsqueeze(0) < lengths.cpu().unsqueeze(1)
    keep = (best != prev) & (best != blank) & valid
    return [best[i][keep[i]].tolist() for i in range(b)]


def ctc_greedy_reference(log_probs: torch.Tensor, length: int | None = None, blank: int = 0) -> list[int]:
    """The slow, obviously correct version for one utterance [F, V]: walk the frames one by one."""
    out: list[int] = []
    prev = None
    n = log_probs.shape[0] if length is None else int(length)
    for t in range(n):
        tok = int(max(range(log_probs.shape[1]), key=lambda k: float(log_probs[t, k])))
        if tok != prev and tok != blank:
            out.append(tok)
        prev = tok
    return out
