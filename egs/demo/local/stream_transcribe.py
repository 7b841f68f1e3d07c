#!/usr/bin/env python3
"""Transcribe a long audio file chunk by chunk through the streaming form of a trained model's frontend.

    python egs/demo/local/stream_transcribe.py exp/fbank/avg.pt long.wav [--chunk-ms 100] [--window-s 8]

The file is read in blocks of ``--chunk-ms`` (soundfile), each block is pushed into the frontend's stream
(``audiofront.streaming.stream``), whose frames equal those of the whole file; the Conformer encoder runs on
windows of ``--window-s`` seconds of frames, and the greedy CTC text is printed. Checkpoints whose frontend
normalises over the whole utterance (the demo's default 2dconv, normalize=true) cannot stream and are refused
with the reason. Bad input gets one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="an asr checkpoint (last.pt, avg.pt, ...)")
    parser.add_argument("audio", type=Path, help="a mono audio file at the frontend's sample rate")
    parser.add_argument("--lang-dir", type=Path, default=None, help="the tokenizer (default: the checkpoint's)")
    parser.add_argument("--chunk-ms", type=float, default=100.0, help="audio read and pushed per step (ms)")
    parser.add_argument("--window-s", type=float, default=8.0, help="frames per encoder window (seconds)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (small pushes run fastest on 1)")
    args = parser.parse_args(argv)

    import torch

    from audiofront.errors import UserError, describe_os_error
    from audiofront.streaming import stream
    from audiofront.streaming.transcribe import read_blocks, transcribe_stream
    from audiofront.tasks import load_model

    torch.set_num_threads(args.threads)
    try:
        if args.chunk_ms <= 0 or args.window_s <= 0:
            raise UserError(f"--chunk-ms and --window-s must be > 0, got {args.chunk_ms} and {args.window_s}")
        task, model = load_model(args.checkpoint)
        if task.name != "asr":
            raise UserError(f"{args.checkpoint} is a {task.name!r} checkpoint; this script needs an asr (CTC) one")
        if args.lang_dir is not None:
            task.config["lang_dir"] = str(args.lang_dir)
        tokenizer = task.tokenizer
        frontend = model.frontend
        frames = stream(frontend)
        rate = frontend.sample_rate
        chunk = max(1, round(args.chunk_ms / 1000 * rate))
        window = max(1, round(args.window_s * rate / frontend.frame_shift))
        start = time.perf_counter()
        tokens = transcribe_stream(model, frames, read_blocks(args.audio, chunk, rate), window)
        seconds = time.perf_counter() - start
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {describe_os_error(e)}", file=sys.stderr)
        return 1
    print(tokenizer.decode(tokens))
    print(
        f"# {frontend.name}: look-ahead {frames.lookahead} samples ({frames.lookahead / rate * 1000:.1f} ms), "
        f"chunks of {chunk} samples, encoder windows of {window} frames; {seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
