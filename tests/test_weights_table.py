"""The one table of shipped weights (``pngan.weights.TABLE``) matches the folder, the registry and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pngan import weights
from pngan.models.registry import names as model_names
from pngan.models.weights import read_metadata

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_file_has_a_row_and_every_row_a_file():
    rows = [w.name for w in weights.TABLE]
    assert len(rows) == len(set(rows))
    assert sorted(rows) == weights.names()


def test_each_row_names_the_model_its_file_holds_and_known_roles():
    for w in weights.TABLE:
        assert w.model in model_names(), w
        assert read_metadata(weights.folder() / w.file)["name"] == w.model, w
        assert w.roles and set(w.roles) <= set(weights.ROLES), w
        assert w.data and w.recipe and w.selected_on, w
        for config in re.findall(r"scripts/configs/[\w./-]+\.toml", w.recipe):
            assert (ROOT / config).is_file(), (w.name, config)


@pytest.mark.parametrize("role", ["default denoiser", "default generator", "demo generator"])
def test_each_default_role_is_held_by_exactly_one_file(role):
    assert len(weights.with_role(role)) == 1


def test_one_model_default_per_model_and_the_defaults_read_the_table():
    from pngan.cli.demo import DEMO_GENERATOR
    from pngan.models.shipped import SHIPPED, default_weights

    models = [w.model for w in weights.with_role(weights.MODEL_DEFAULT_ROLE)]
    assert len(models) == len(set(models))
    assert SHIPPED == weights.model_defaults()
    assert weights.DEFAULT_DENOISER == weights.with_role("default denoiser")[0].model == "resunet-s"
    assert weights.DEFAULT_GENERATOR == weights.with_role("default generator")[0].model == "smnet-s"
    assert default_weights(weights.DEFAULT_DENOISER).name == weights.with_role("default denoiser")[0].file
    assert DEMO_GENERATOR == weights.with_role("demo generator")[0].name
    with pytest.raises(ValueError, match="unknown role"):
        weights.with_role("best")


def test_docs_describe_every_shipped_file_and_nothing_else():
    text = (ROOT / "docs" / "models.md").read_text("utf-8")
    section = text[text.index("## Embedded default"):]
    section = section[:section.index("\n## ", 5)] if "\n## " in section[5:] else section
    documented = {m.split()[0] for m in re.findall(r"^### (\S+)", section, re.M)} - {"Samples"}
    assert documented == {w.name for w in weights.TABLE}


def test_pngan_models_prints_the_table():
    from pngan.cli import main

    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0, r.output
    for w in weights.TABLE:
        line = next(x for x in r.output.splitlines() if x.startswith(w.name + " "))
        assert w.model in line and all(role in line for role in w.roles)
