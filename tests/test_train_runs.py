"""Run folders: a fresh run never replaces an old one, a failed start leaves nothing, resume of a finished run
changes nothing; what training says (header, validation lines, where the weights went); csv columns."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import write_image
from pngan.train.config import LossConfig, load_config
from pngan.train.loss_table import stage_losses

TINY = ["model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}", "data.patch=16",
        "data.batch=2", "run.val_every=0", "run.val_samples=1", "run.log_every=1", "run.image_every=0",
        "run.threads=1", "optim.steps=2", "--no-progress"]
DN = ["model.denoiser_config={features=8, depth=3}", "model.denoiser_weights="]  # a tiny DnCNN from scratch


@pytest.fixture(scope="module")
def pairs(tiny_train_pairs) -> Path:
    return tiny_train_pairs  # conftest: two 24x24 PolyU-named pairs


def _train(*args: str):
    return CliRunner().invoke(main, ["train", *map(str, args)])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _error_line(r) -> str:
    lines = [ln for ln in r.output.splitlines() if ln.strip() and not ln.startswith("warning:")]
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ a second fresh run into the same folder

def test_fresh_run_into_a_finished_run_refuses_and_keeps_it(pairs, tmp_path):
    out = tmp_path / "run"
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY, "run.val_every=2")
    assert r.exit_code == 0, r.output
    before = _snapshot(out)
    assert "checkpoints/last.pt" in before and "losses.csv" in before and "best.safetensors" in before
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY, "run.val_every=2")
    line = _error_line(r)
    assert str(out) in line and "--resume" in line and "run.out_dir=" in line, line
    assert _snapshot(out) == before  # nothing overwritten, nothing appended
    assert [row["step"] for row in _rows(out / "losses.csv")] == ["1", "2"]


@pytest.mark.parametrize("leftover", ["config.json", "losses.csv", "tb"])
def test_any_trace_of_a_run_counts(leftover, pairs, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / leftover).mkdir() if leftover == "tb" else (out / leftover).write_text("x\n")
    before = _snapshot(out)
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY)
    assert leftover in _error_line(r)
    assert _snapshot(out) == before and sorted(p.name for p in out.iterdir()) == [leftover]


def test_an_empty_existing_folder_is_fine(pairs, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY)
    assert r.exit_code == 0, r.output
    assert (out / "checkpoints" / "last.pt").is_file()


# ------------------------------------------------------------------ a failed start leaves nothing behind

def _corrupt_pairs(root: Path) -> Path:
    for sub in ("input", "groundtruth"):
        (root / sub).mkdir(parents=True)
    write_image(root / "input" / "a.png", np.full((24, 24, 3), 0.5, np.float32))
    write_image(root / "groundtruth" / "a.png", np.full((24, 24, 3), 0.5, np.float32))
    (root / "input" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    write_image(root / "groundtruth" / "b.png", np.full((24, 24, 3), 0.5, np.float32))
    return root


@pytest.mark.parametrize("stage", ["pngan", "denoiser"])
def test_corrupt_image_leaves_no_run_folder(stage, tmp_path):
    data = _corrupt_pairs(tmp_path / "bad")
    out = tmp_path / "runs" / "x"  # neither runs/ nor runs/x exist
    r = _train(stage, f"data.train_dir={data}", f"run.out_dir={out}", *DN, *TINY)
    assert "b.png" in _error_line(r)
    assert not (tmp_path / "runs").exists(), sorted(map(str, (tmp_path / "runs").rglob("*")))


def test_corrupt_image_adds_nothing_to_an_existing_folder(tmp_path):
    data = _corrupt_pairs(tmp_path / "bad")
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    r = _train("pngan", f"data.train_dir={data}", f"run.out_dir={out}", *TINY)
    _error_line(r)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_resume_without_a_checkpoint_leaves_nothing(pairs, tmp_path):
    out = tmp_path / "never"
    r = _train("pngan", f"data.train_dir={pairs}", f"run.out_dir={out}", *TINY, "--resume")
    assert "no checkpoint" in _error_line(r)
    assert not out.exists()


# ------------------------------------------------------------------ resume

def test_resume_of_a_finished_run_says_so_and_changes_nothing(pairs, tmp_path):
    out = tmp_path / "run"
    args = ["denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY, "run.val_every=1"]
    assert _train(*args).exit_code == 0
    before = _snapshot(out)
    r = _train(*args, "--resume")
    assert r.exit_code == 0, r.output
    assert "finished" in r.output and "step 2 of 2" in r.output and "best.safetensors" in r.output, r.output
    assert "val/psnr" in r.output  # the best score
    assert _snapshot(out) == before


def test_resume_drops_rows_past_the_checkpoint(pairs, tmp_path):
    """Rows logged after the last checkpoint (a killed run) are done again on resume: kept once, not twice."""
    out = tmp_path / "run"
    args = ["denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY]
    assert _train(*args, "run.val_every=1").exit_code == 0
    for name in ("losses.csv", "val.csv"):  # as if killed after logging steps 3 and 4, checkpoint at 2
        rows = (out / name).read_text().splitlines()
        (out / name).write_text("\n".join(rows + [rows[-1].replace("2,", "3,", 1), rows[-1].replace("2,", "4,", 1)])
                                + "\n")
    r = _train(*args, "run.val_every=1", "optim.steps=4", "--resume")
    assert r.exit_code == 0, r.output
    assert "resuming at step 2 of 4" in r.output, r.output
    assert [row["step"] for row in _rows(out / "losses.csv")] == ["1", "2", "3", "4"]
    assert [row["step"] for row in _rows(out / "val.csv")] == ["1", "2", "3", "4"]


# ------------------------------------------------------------------ logging

def test_final_step_is_logged_when_steps_are_fewer_than_log_every(pairs, tmp_path):
    out = tmp_path / "run"
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY, "optim.steps=3",
               "run.log_every=10")
    assert r.exit_code == 0, r.output
    assert [row["step"] for row in _rows(out / "losses.csv")] == ["3"]
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={tmp_path / 'r2'}", *DN, *TINY, "optim.steps=5",
               "run.log_every=2")
    assert [row["step"] for row in _rows(tmp_path / "r2" / "losses.csv")] == ["2", "4", "5"]


WEIGHTS = [f.name for f in dataclasses.fields(LossConfig) if f.type in (float, "float")]


@pytest.mark.parametrize("stage", ["pngan", "denoiser"])
def test_loss_columns_are_named_after_their_config_keys(stage, pairs, tmp_path):
    """Each weighted term's column is ``loss/<its weight's key>``, one per row of the stage's loss table; the rest
    are the stage's totals."""
    assert "noise_std" in WEIGHTS and "texture_on" not in WEIGHTS
    out = tmp_path / "run"
    r = _train(stage, f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY, "optim.steps=1")
    assert r.exit_code == 0, r.output
    columns = {c for c in _rows(out / "losses.csv")[0] if c.startswith("loss/")}
    totals = {"pngan": {"loss/d", "loss/g"}, "denoiser": set()}[stage]
    terms = {f"loss/{row.name}" for row in stage_losses(stage)}
    assert terms <= {f"loss/{k}" for k in WEIGHTS} | {"loss/content_change", "loss/sharp_content"}
    assert columns == totals | terms
    assert ("loss/l1" in columns) == (stage == "denoiser")


# ------------------------------------------------------------------ what training says

def test_header_validation_lines_and_where_the_weights_went(pairs, tmp_path):
    out, w = tmp_path / "run", tmp_path / "w.safetensors"
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", "model.denoiser_weights=shipped",
               *TINY, "optim.steps=2", "run.val_every=1", "--export-weights", w)
    assert r.exit_code == 0, r.output
    text = r.output
    assert "train denoiser" in text and "dncnn" in text and "cpu" in text and "1 thread" in text, text
    assert "2 steps" in text and str(out) in text, text
    assert "shipped dncnn weights" in text and 'model.denoiser_weights=""' in text, text
    assert sum(ln.startswith("step ") and "val/psnr" in ln for ln in text.splitlines()) == 2, text
    assert str(out / "best.safetensors") in text and str(out / "checkpoints" / "last.pt") in text, text
    assert f"wrote {w}" in text
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={tmp_path / 'r2'}", *DN, *TINY)
    assert r.exit_code == 0 and "from scratch" in r.output, r.output
    r = _train("pngan", f"data.train_dir={pairs}", f"run.out_dir={tmp_path / 'r3'}", *TINY)
    assert r.exit_code == 0 and "smnet-s" in r.output and "generator from scratch" in r.output, r.output


# ------------------------------------------------------------------ PGap and the shipped configs

def test_pgap_into_a_used_folder_refuses(pairs, tmp_path):
    args = ["pgap", "--train_dir", str(pairs), "--test_dir", str(pairs), "--noise", "gaussian", "--sigma", "8",
            "--steps", "1", "--out", str(tmp_path / "pg"), "data.patch=16", "data.batch=2", "run.threads=1",
            "model.denoiser_config={features=8, depth=3}"]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = _snapshot(tmp_path / "pg")
    r = CliRunner().invoke(main, args)
    line = _error_line(r)
    assert "--out" in line, line
    assert _snapshot(tmp_path / "pg") == before


CONFIGS = Path(__file__).resolve().parent.parent / "scripts" / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("**/*.toml")), ids=lambda p: str(p.relative_to(CONFIGS)))
def test_shipped_configs_load(path):
    load_config(path)


def test_dncnn_config_is_the_shipped_stage_1_recipe():
    cfg = load_config(CONFIGS / "dncnn_polyu100.toml")
    ref = load_config(None, ["model.denoiser_weights=shipped", "data.patch=96", "data.batch=16", "optim.steps=4000",
                             "optim.lr_g=2e-4", "run.val_every=500", "run.val_crop=0"])
    ref.run.out_dir = cfg.run.out_dir
    assert cfg.to_dict() == ref.to_dict()
    text = (CONFIGS / "dncnn_polyu100.toml").read_text()
    assert "pngan train denoiser --config scripts/configs/dncnn_polyu100.toml" in text


@pytest.mark.parametrize("fail", ["interrupt", "crash"])
def test_a_run_that_fails_in_its_first_step_leaves_no_folder(fail, pairs, tmp_path, monkeypatch):
    from pngan.errors import PnganError
    from pngan.train.loop import train
    from pngan.train.stages import DenoiserStage

    def boom(self, batch, step):
        raise KeyboardInterrupt if fail == "interrupt" else RuntimeError("CUDA out of memory")

    monkeypatch.setattr(DenoiserStage, "train_step", boom)
    out = tmp_path / "run"
    cfg = load_config(None, [f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY[:-1]])
    with pytest.raises(PnganError if fail == "interrupt" else RuntimeError) as e:
        train("denoiser", cfg, progress=False)
    if fail == "interrupt":
        assert str(e.value) == "stopped before step 1; nothing was kept"
    assert not out.exists()


def test_a_run_that_fails_after_its_first_step_keeps_its_files(pairs, tmp_path, monkeypatch):
    from pngan.train.loop import train
    from pngan.train.stages import DenoiserStage

    real = DenoiserStage.train_step

    def second_fails(self, batch, step):
        if step == 1:
            raise RuntimeError("CUDA out of memory")
        return real(self, batch, step)

    monkeypatch.setattr(DenoiserStage, "train_step", second_fails)
    out = tmp_path / "run"
    cfg = load_config(None, [f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY[:-1], "run.ckpt_every=1"])
    with pytest.raises(RuntimeError):
        train("denoiser", cfg, progress=False)
    assert (out / "checkpoints" / "last.pt").is_file() and (out / "config.json").is_file()
    assert [row["step"] for row in _rows(out / "losses.csv")] == ["1"]


def test_a_model_that_diverges_on_a_validation_image_says_so(pairs, tmp_path, monkeypatch):
    """A non-finite validation output is named as divergence (it read `to_uint8: image has NaN ...`), and the
    checkpoint written before it stays."""
    from pngan.models.dncnn import DnCNN

    forward = DnCNN.forward
    monkeypatch.setattr(DnCNN, "forward", lambda self, x: forward(self, x) * (float("nan") if not self.training else 1))
    out = tmp_path / "run"
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY, "optim.steps=2",
               "run.val_every=2", "run.ckpt_every=1")
    line = r.output.strip().splitlines()[-1]
    assert r.exit_code == 1 and line.startswith("error: ") and "Traceback" not in r.output, r.output
    assert "not finite" in line and "diverged" in line and "to_uint8" not in line, line
    assert (out / "checkpoints" / "last.pt").is_file()


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(pairs, tmp_path, monkeypatch):
    """A loss that turns NaN (here from step 3 on) stops the run with one line naming the step; the step-2
    checkpoint is not overwritten with the diverged weights and no NaN row is logged."""
    import csv

    import torch

    from pngan.train import stages

    step_fn = stages.DenoiserStage.train_step

    def nan_from_step_3(self, batch, step):
        out = step_fn(self, batch, step)
        return {**out, "loss/g": float("nan")} if step >= 2 else out

    monkeypatch.setattr(stages.DenoiserStage, "train_step", nan_from_step_3)
    out = tmp_path / "run"
    r = _train("denoiser", f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY, "optim.steps=6",
               "run.val_every=0", "run.ckpt_every=2", "run.log_every=1")
    line = r.output.strip().splitlines()[-1]
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    assert line == (f"error: training diverged: loss/g is nan at step 3; the checkpoint of step 2 "
                    f"({out / 'checkpoints' / 'last.pt'}) is kept; try a lower optim.lr_g or a tighter "
                    f"optim.grad_clip"), line
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["step"] == 2
    rows = list(csv.DictReader(open(out / "losses.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2]


def test_the_step_hook_sees_every_step_and_what_it_returns_is_checked(pairs, tmp_path):
    """``train(on_step=...)``: called once per step with (rank, step counted from 1, scalars); what it returns is
    what the run checks and logs, so a NaN from it stops the run at that step."""
    import torch

    from pngan.errors import PnganError
    from pngan.train.loop import train

    calls = []

    def hook(rank, step, scalars):
        calls.append((rank, step, sorted(scalars)))
        return {**scalars, "loss/l1": float("nan") if step == 3 else 7.0}

    out = tmp_path / "run"
    cfg = load_config(None, [f"data.train_dir={pairs}", f"run.out_dir={out}", *DN, *TINY[:-1], "optim.steps=5",
                             "run.ckpt_every=1"])
    with pytest.raises(PnganError, match="training diverged: loss/l1 is nan at step 3"):
        train("denoiser", cfg, progress=False, on_step=hook)
    assert [c[:2] for c in calls] == [(0, 1), (0, 2), (0, 3)]
    assert all(c[2] == ["loss/l1", "lr"] for c in calls)
    assert [float(r["loss/l1"]) for r in _rows(out / "losses.csv")] == [7.0, 7.0]
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["step"] == 2
