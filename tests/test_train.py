"""Trainer: config errors, a tiny run of every stage, exact resume after SIGKILL, DDP on CPU (gloo)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pngan.errors import CheckpointError, PnganError
from pngan.io.images import write_image
from pngan.models import load
from pngan.train.config import ConfigError, load_config

pytestmark = pytest.mark.slow

TINY = ["model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}",
        "data.patch=32", "data.batch=2", "run.val_every=0", "run.log_every=1", "run.image_every=0"]


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory) -> Path:
    """Four 48x48 noisy/clean pairs in the official layout (synthetic, seeded)."""
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(0)
    from skimage import data

    photo = data.astronaut()[::4, ::4].astype(np.float32) / 255.0
    for i in range(4):
        clean = photo[i * 24:i * 24 + 48, i * 20:i * 20 + 48]
        noisy = np.clip(clean + rng.normal(0, 0.03, clean.shape), 0, 1)
        write_image(root / "input" / f"img{i}_real.png", noisy)
        write_image(root / "groundtruth" / f"img{i}_mean.png", clean)
    return root


def _cfg(pairs_dir: Path, out: Path, *extra: str):
    return load_config(None, [f"data.train_dir={pairs_dir}", f"run.out_dir={out}", *TINY, *extra])


def test_config_file_overrides_and_typos(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[optim]\nsteps = 7\n[loss]\nalignment = 2\n')
    cfg = load_config(f, ["optim.lr_g=0.01", "run.amp=off"])
    assert cfg.optim.steps == 7 and cfg.loss.alignment == 2.0 and cfg.optim.lr_g == 0.01
    with pytest.raises(ConfigError, match=r"unknown key optim\.stesp; did you mean 'steps'"):
        load_config(None, ["optim.stesp=3"])
    f.write_text('[optim]\nlearning_rate = 1\n')
    with pytest.raises(ConfigError, match=r"unknown key optim\.learning_rate"):
        load_config(f)
    with pytest.raises(ConfigError, match="unknown section 'optimm'; did you mean 'optim'"):
        load_config(None, ["optimm.steps=3"])
    with pytest.raises(ConfigError, match="cannot parse 'many'"):
        load_config(None, ["optim.steps=many"])
    with pytest.raises(ConfigError, match="expected int"):
        load_config(None, ["optim.steps=1.5"])


@pytest.mark.parametrize("stage", ["pngan", "denoiser"])
def test_tiny_stage_runs_logs_and_exports(stage, pairs_dir, tmp_path):
    from pngan.train.loop import train

    cfg = _cfg(pairs_dir, tmp_path / "run", "optim.steps=3", "run.ckpt_every=2", "run.val_every=3",
               "model.denoiser_config={features=8, depth=3}" if stage == "denoiser" else "run.val_samples=1",
               "model.denoiser_weights=" if stage == "denoiser" else "model.denoiser_weights=shipped",
               "model.input_sigma=5.0")
    val = train(stage, cfg, export_weights=tmp_path / "w.safetensors", progress=False)
    assert (tmp_path / "run" / "config.json").is_file() and (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
    lines = (tmp_path / "run" / "losses.csv").read_text().splitlines()
    assert len(lines) == 4  # header + 3 steps
    key = "val/akld" if stage == "pngan" else "val/psnr"
    assert key in val and np.isfinite(val[key])
    assert (tmp_path / "run" / "best.safetensors").is_file() and (tmp_path / "run" / "best.json").is_file()
    model = load(tmp_path / "w.safetensors")
    assert model.pngan_name == ("smnet-s" if stage == "pngan" else "dncnn")
    if stage == "pngan":
        assert model.pngan_meta["input_sigma"] == 5.0


def _final_weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "last.pt", weights_only=True)["state"]["g"]


HOOKED = [sys.executable, str(Path(__file__).resolve().parent / "train_with_hook.py")]  # train(on_step=...)


def _overrides(pairs_dir: Path, out: Path) -> list[str]:
    return [f"data.train_dir={pairs_dir}", f"run.out_dir={out}", *TINY, "optim.steps=6", "run.ckpt_every=2",
            "run.threads=1"]


def _train_cmd(pairs_dir: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pngan.cli.__main__", "train", "pngan", *_overrides(pairs_dir, out),
            "--no-progress", *extra]


def test_sigkill_mid_step_then_resume_matches_uninterrupted(pairs_dir, tmp_path):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    ref = subprocess.run(_train_cmd(pairs_dir, tmp_path / "a"), env=env, capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr
    killed = subprocess.run([*HOOKED, "--sigkill-at", "5", "pngan", *_overrides(pairs_dir, tmp_path / "b")], env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -9  # really killed
    step = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", weights_only=True)["step"]
    assert step == 4  # lost at most ckpt_every steps
    resumed = subprocess.run(_train_cmd(pairs_dir, tmp_path / "b", "--resume"), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    a, b = _final_weights(tmp_path / "a"), _final_weights(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_other_architecture(pairs_dir, tmp_path):
    from pngan.train.loop import train

    train("pngan", _cfg(pairs_dir, tmp_path / "r", "optim.steps=1"), progress=False)
    cfg = _cfg(pairs_dir, tmp_path / "r", "optim.steps=2", "model.generator_config={n_feat=12}")
    with pytest.raises(CheckpointError, match="different architecture"):
        train("pngan", cfg, resume=True, progress=False)


def test_bad_inputs(tmp_path, pairs_dir):
    from pngan.train.loop import train

    (tmp_path / "empty" / "input").mkdir(parents=True)
    (tmp_path / "empty" / "groundtruth").mkdir()
    with pytest.raises(PnganError):
        train("pngan", _cfg(tmp_path / "empty", tmp_path / "o"), progress=False)
    (tmp_path / "a_file").write_text("x")  # unwritable even as root: the parent is a file
    with pytest.raises(PnganError, match="not writable"):
        train("pngan", _cfg(pairs_dir, tmp_path / "a_file" / "run"), progress=False)


def test_failed_checkpoint_write_keeps_last_good(tmp_path, monkeypatch):
    from pngan.train import checkpoint as ck

    net = torch.nn.Linear(2, 2)
    path = tmp_path / "last.pt"
    ck.save_checkpoint(path, 1, {"net": net}, {"a": 1})
    before = path.read_bytes()

    def disk_full(obj, f, *a, **k):
        Path(f).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck.torch, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        ck.save_checkpoint(path, 2, {"net": net}, {"a": 1})
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_cli_one_line_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pngan.cli.__main__", "train", "pngan", "optim.stesp=3"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "did you mean 'steps'" in r.stderr and "Traceback" not in r.stderr


def _torchrun_pngan(pairs_dir, out, steps: int, hook: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node 2`` (gloo, CPU) of a tiny stage pngan run into ``out``, on a free port; with
    ``hook`` (train_with_hook.py's options), through that driver instead of the CLI."""
    import socket

    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    overrides = [f"data.train_dir={pairs_dir}", f"run.out_dir={out}", *TINY, f"optim.steps={steps}",
                 "run.ckpt_every=1", "run.threads=1"]
    how = [HOOKED[1], *hook, "pngan", *overrides] if hook else \
        ["-m", "pngan.cli.__main__", "train", "pngan", *overrides, "--no-progress"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port), *how]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ))


def test_ddp_two_processes_gloo(pairs_dir, tmp_path):
    """torchrun --nproc_per_node 2 on CPU: rank 0 alone logs and checkpoints; both ranks finish."""
    r = _torchrun_pngan(pairs_dir, tmp_path / "ddp", 2)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = (tmp_path / "ddp" / "losses.csv").read_text().splitlines()
    assert len(lines) == 3  # rank 0 only: header + 2 steps
    assert torch.load(tmp_path / "ddp" / "checkpoints" / "last.pt", weights_only=True)["step"] == 2


def test_ddp_a_nan_loss_on_one_rank_stops_both(pairs_dir, tmp_path):
    """Rank 1's loss alone turns NaN at step 2: both ranks stop there (no rank left waiting in an all-reduce),
    rank 0 says why, and the step-1 checkpoint stays."""
    r = _torchrun_pngan(pairs_dir, tmp_path / "ddp", 4, hook=("--nan-at", "1:2"))
    assert r.returncode != 0
    assert "error: training diverged: another rank's loss is not finite at step 2" in r.stdout + r.stderr, \
        (r.stdout + r.stderr)[-3000:]
    assert torch.load(tmp_path / "ddp" / "checkpoints" / "last.pt", weights_only=True)["step"] == 1


def test_pgap_tiny_budget(pairs_dir, tmp_path):
    from click.testing import CliRunner

    from pngan.cli import main

    r = CliRunner().invoke(main, ["pgap", "--train_dir", str(pairs_dir), "--test_dir", str(pairs_dir),
                                  "--noise", "gaussian", "--sigma", "8", "--steps", "3", "--out", str(tmp_path / "pg"),
                                  "data.patch=32", "data.batch=2", "model.denoiser_config={features=8, depth=3}"])
    assert r.exit_code == 0, r.output
    line = r.output.strip().splitlines()[-1]
    real, gen, gap = (float(x) for x in re.findall(r"(-?\d+\.\d+) dB", line))
    assert abs(gap - (real - gen)) < 0.011
    r = CliRunner().invoke(main, ["pgap", "--train_dir", str(pairs_dir), "--test_dir", str(pairs_dir)])
    assert r.exit_code == 1 and "exactly one of" in r.output
