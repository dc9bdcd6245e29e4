"""The loss table covers every loss weight and is what each stage sums; the config defaults are the shipped
default generator recipe's values; trial knobs live in [experimental], and only trial configs use them."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest
import torch

from pngan.train import loss_table
from pngan.train.config import ConfigError, ExperimentalConfig, LossConfig, TrainConfig, load_config
from pngan.train.loss_table import LOSSES, stage_losses

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "scripts" / "configs"
TINY = ["model.generator_config={n_feat=8}", "model.discriminator_config={n_feat=8, depth=2}", "data.patch=16",
        "data.batch=2", "run.val_every=0", "run.log_every=1", "run.image_every=0", "run.threads=1"]


def _weights(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.type in (float, "float")}


def test_the_table_covers_every_loss_weight_with_its_default():
    assert {row.name for row in LOSSES if row.section == "loss"} == _weights(LossConfig)
    assert {row.name for row in LOSSES if row.section == "experimental"} == _weights(ExperimentalConfig)
    assert len({row.name for row in LOSSES}) == len(LOSSES)
    defaults = TrainConfig()
    for row in LOSSES:
        assert row.default == row.weight(defaults), row.name
        assert row.stages and set(row.stages) <= {"denoiser", "pngan", "finetune"}, row.name
    for stage in ("denoiser", "pngan", "finetune"):
        assert stage_losses(stage), stage


@pytest.fixture(scope="module")
def pairs(tiny_train_pairs) -> Path:
    return tiny_train_pairs  # conftest: two 24x24 PolyU-named pairs


def _stage(name: str, pairs: Path, out: Path, *extra: str):
    from pngan.train.session import Session
    from pngan.train.stages import STAGES

    cfg = load_config(None, [f"data.train_dir={pairs}", f"run.out_dir={out}", *TINY, *extra])
    torch.manual_seed(0)
    return STAGES[name](cfg, Session(device=torch.device("cpu")))


def _with_fn(name: str, fn) -> tuple:
    return tuple(dataclasses.replace(row, fn=fn) if row.name == name else row for row in LOSSES)


def test_stage_pngan_sums_its_rows_of_the_table(pairs, tmp_path, monkeypatch):
    """A row's function changed in the table changes the stage's loss: loss/g = sum of weight x term."""
    monkeypatch.setattr(loss_table, "LOSSES", _with_fn("fidelity", lambda t: torch.tensor(2.0)))
    stage = _stage("pngan", pairs, tmp_path / "g", "loss.adversarial=0", "loss.alignment=0", "loss.noise_kl=0",
                   "loss.fidelity=0.5", "model.denoiser_weights=shipped")
    out = stage.train_step(stage.bank[0], 0)
    assert {k for k in out if k.startswith("loss/")} - {"loss/d", "loss/g"} == \
        {f"loss/{row.name}" for row in LOSSES if "pngan" in row.stages}
    assert out["loss/fidelity"] == 2.0 and out["loss/g"] == 1.0
    assert out["loss/adversarial"] > 0 and out["loss/alignment"] > 0  # computed at weight 0 (always)
    assert out["loss/noise_kl"] == 0 and out["loss/noise_std"] == 0  # weight 0: not computed


def test_the_denoiser_stages_take_their_l1_from_the_table(pairs, tmp_path, monkeypatch):
    """The denoiser stage's loss is loss.l1 x the table's l1 term (the finetune stage is the same stage)."""
    from pngan.train.stages import DenoiserStage, FinetuneStage

    assert [row.name for row in stage_losses("denoiser")] == [row.name for row in stage_losses("finetune")] == ["l1"]
    assert FinetuneStage.train_step is DenoiserStage.train_step
    dn = ["model.denoiser_weights=", "model.denoiser_config={features=8, depth=3}"]
    with monkeypatch.context() as m:
        m.setattr(loss_table, "LOSSES", _with_fn("l1", lambda t: t.stage.net(t.real).mean() * 0 + 3.0))
        stage = _stage("denoiser", pairs, tmp_path / "d", *dn)
        assert stage.train_step(stage.bank[0], 0)["loss/l1"] == 3.0
    stage = _stage("denoiser", pairs, tmp_path / "e", *dn, "loss.l1=0")
    before = {k: v.clone() for k, v in stage.net.state_dict().items()}
    out = stage.train_step(stage.bank[0], 0)  # weight 0: no gradient, so Adam leaves the weights as they are
    assert out["loss/l1"] > 0 and all(torch.equal(before[k], v) for k, v in stage.net.state_dict().items())
    stage = _stage("denoiser", pairs, tmp_path / "f", *dn)
    stage.train_step(stage.bank[0], 0)
    assert any(not torch.equal(before[k], v) for k, v in stage.net.state_dict().items())


# Keys of the default generator recipe whose default stays another value: the denoiser and finetune stages read
# them too, and a run of those stages without a config (README's `pngan train denoiser`, `pngan pgap`,
# scripts/finetune_reference.py) gets the default. The default denoiser recipe sets each of them as well.
SHARED = {
    "optim.steps": "3,000 here, 10,000 in the denoiser recipe",
    "optim.lr_g": "1e-3 here, 5e-4 in the denoiser recipe",
    "run.out_dir": "each recipe names its own run folder",
    "run.ckpt_every": "250 here, 500 in the denoiser recipe",
    "run.log_every": "50 here, 100 in the denoiser recipe",
    "run.val_crop": "0 in both; runs without a config validate on 256x256 centre crops",
}


def _recipe(role: str) -> Path:
    from pngan.weights import with_role

    return ROOT / re.search(r"scripts/configs/[\w.-]+\.toml", with_role(role)[0].recipe).group(0)


def _keys(path: Path) -> list[str]:
    return [f"{s}.{k}" for s, t in tomllib.loads(path.read_text("utf-8")).items() for k in t]


def _value(cfg: TrainConfig, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def test_config_defaults_are_the_default_generator_recipe():
    from pngan.weights import DEFAULT_DENOISER_ROLE, DEFAULT_GENERATOR_ROLE

    generator, denoiser = _recipe(DEFAULT_GENERATOR_ROLE), _recipe(DEFAULT_DENOISER_ROLE)
    assert generator.name == "smnet-s_polyu100.toml" and denoiser.name == "resunet-s_phone.toml"
    recipe, defaults = load_config(generator), TrainConfig()
    keys = _keys(generator)
    assert "loss.noise_kl" in keys and "model.input_sigma" in keys
    for key in keys:
        if key not in SHARED:
            assert _value(defaults, key) == _value(recipe, key), key
    for key in SHARED:  # each exception is real: set by both default recipes, and not the default here
        assert key in keys and key in _keys(denoiser), key
        assert _value(defaults, key) != _value(recipe, key), key


def test_trial_knobs_are_experimental_and_their_old_names_say_so(tmp_path):
    for old in ("loss.content_change", "loss.sharp_content", "loss.texture_on", "data.camera_target",
                "data.generator_strength"):
        key = old.split(".")[1]
        with pytest.raises(ConfigError, match=rf"{re.escape(old)} is now experimental\.{key}"):
            load_config(None, [f"{old}=1"])
    f = tmp_path / "c.toml"
    f.write_text('[loss]\ntexture_on = "stochastic"\n')
    with pytest.raises(ConfigError, match=r"loss\.texture_on is now experimental\.texture_on"):
        load_config(f)
    f.write_text('[experimental]\ntexture_on = "stochastic"\ngenerator_strength = [1.0, 4.0]\n')
    cfg = load_config(f)
    assert cfg.experimental.texture_on == "stochastic" and cfg.experimental.generator_strength == (1.0, 4.0)


def test_shipped_configs_are_the_weights_recipes_and_trials_say_what_they_showed():
    """scripts/configs/ holds the recipes of shipped files, which set no experimental knob; the configs that
    shipped nothing are in trials/, each opened by a line on what it showed."""
    from pngan.weights import TABLE

    recipes = {m for w in TABLE for m in re.findall(r"scripts/configs/[\w./-]+\.toml", w.recipe)}
    assert {f"scripts/configs/{p.name}" for p in CONFIGS.glob("*.toml")} == recipes
    for path in CONFIGS.glob("*.toml"):
        assert "experimental" not in tomllib.loads(path.read_text("utf-8")), path.name
        assert load_config(path).experimental == ExperimentalConfig(), path.name
    trials = sorted((CONFIGS / "trials").glob("*.toml"))
    assert len(trials) == 6
    for path in trials:
        assert path.read_text("utf-8").startswith("# TRIAL, not shipped: "), path.name
        load_config(path)
