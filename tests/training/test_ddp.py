"""DistributedDataParallel through torchrun: two CPU processes on the gloo backend.

Checks that the two ranks train on different batches (together covering the corpus each epoch) and
end with identical weights (DDP averages the gradients, so the replicas never drift apart).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from asr_train_synth import make_corpus, make_lang, write_recipe

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def test_two_process_gloo_training(tmp_path):
    cuts = make_corpus(tmp_path / "corpus", n=16)
    lang = make_lang(tmp_path / "lang", cuts)
    recipe = write_recipe(tmp_path / "recipe.yaml", cuts, lang, num_epochs=2)
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           str(HERE / "ddp_worker.py"), str(recipe), str(tmp_path / "exp"), str(out)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]

    r0 = torch.load(out / "rank0.pt", weights_only=True)
    r1 = torch.load(out / "rank1.pt", weights_only=True)
    assert r0["world"] == r1["world"] == 2
    # lockstep: the same number of steps on both ranks
    assert len(r0["seen"]) == len(r1["seen"]) > 0
    # different data on the two ranks, at every step
    for a, b in zip(r0["seen"], r1["seen"]):
        assert not set(a) & set(b), f"both ranks trained on {set(a) & set(b)} in the same step"
    ids0 = {c for batch in r0["seen"] for c in batch}
    ids1 = {c for batch in r1["seen"] for c in batch}
    assert ids0 != ids1
    # identical replicas at the end, and the same as the checkpoint rank 0 wrote
    assert r0["model"].keys() == r1["model"].keys()
    for k in r0["model"]:
        assert torch.equal(r0["model"][k], r1["model"][k]), f"replicas differ in {k}"
    last = torch.load(tmp_path / "exp" / "last.pt", weights_only=True)
    assert all(torch.equal(last["model"][k], r0["model"][k]) for k in r0["model"])
    # the checkpoint counts the steps both ranks took
    assert last["step"] == len(r0["seen"])
