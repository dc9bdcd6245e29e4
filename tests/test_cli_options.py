"""Option spelling (- or _), model names in any case, one warning line per kind of image conversion."""

from __future__ import annotations

import re

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from pngan.cli import main
from pngan.cli.options import MODEL_NAMES, MODEL_NAME, closest_name
from pngan.cli.export_cmd import main as export_main

COMMANDS = [(f"pngan {n}", c) for n, c in sorted(main.commands.items())] + [("pngan-export", export_main)]


def _long_options(cmd: click.Command) -> list[tuple[click.Option, str]]:
    return [(p, o) for p in cmd.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts
            if o.startswith("--") and "-" in o[2:]]


def _invoke(cmd: click.Command, args: list[str]):
    # the group's settings as `pngan CMD` gets them; export_main is a command of its own
    return CliRunner().invoke(cmd, args)


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_takes_hyphen_and_underscore(name, cmd):
    opts = _long_options(cmd)
    for p, opt in opts:
        values = [] if p.is_flag or p.count else ["1"] * max(p.nargs, 1)
        for spelling in (opt, "--" + opt[2:].replace("-", "_")):
            r = _invoke(cmd, [spelling, *values, "--help"])  # --help is eager: the values are not converted
            assert r.exit_code == 0, f"{name} {spelling}: {r.output}"


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_help_shows_hyphen_form(name, cmd):
    r = _invoke(cmd, ["--help"])
    assert r.exit_code == 0
    assert not re.search(r"--[a-z0-9]+_[a-z0-9_]+", r.output), f"{name}: underscore option in --help:\n{r.output}"


def test_official_underscore_spelling_through_the_group(tmp_path):
    """`pngan noise --input_dir --result_dir` (the official scripts' names) and `--input-dir` do the same."""
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(src / "a.png")
    for flags in (["--input_dir", "--result_dir"], ["--input-dir", "--result-dir"]):
        out = tmp_path / flags[1].strip("-")
        r = CliRunner().invoke(main, ["noise", "--sigma", "5", flags[0], str(src), flags[1], str(out)])
        assert r.exit_code == 0, r.output
        assert (out / "Gaussian_noise_X5" / "a.png").is_file()
    a, b = (np.asarray(Image.open(tmp_path / d / "Gaussian_noise_X5" / "a.png")) for d in ("result_dir", "result-dir"))
    assert np.array_equal(a, b)
    r = CliRunner().invoke(main, ["eval_noise", "--help"])  # subcommand names too
    assert r.exit_code == 0 and "AKLD" in r.output


def test_model_names_match_the_registry():
    from pngan.models import names

    assert tuple(names()) == MODEL_NAMES


@pytest.mark.parametrize("given, want", [("DnCNN", "dncnn"), ("MIRNet", "mirnet"), ("SMNet_S", "smnet-s"),
                                         ("smnet-s", "smnet-s"), ("RIDNET", "ridnet")])
def test_model_name_any_case(given, want):
    from pngan.models import spec
    from pngan.models.registry import canonical_name

    assert MODEL_NAME.convert(given, None, None) == want
    assert canonical_name(given) == want and spec(given).name == want
    assert closest_name(given, MODEL_NAMES) == want


@pytest.mark.parametrize("typo, hint", [("dncn", "dncnn"), ("mirnett", "mirnet"), ("smnets", "smnet-s")])
def test_model_typo_suggests_closest(typo, hint):
    from pngan.errors import ModelError
    from pngan.models.registry import canonical_name

    with pytest.raises(ModelError, match=f"unknown model '{typo}'; choose one of: .*did you mean '{hint}'"):
        canonical_name(typo)
    for cmd, args in ((main, ["denoise", "--method", typo, "--input-dir", "x", "--result-dir", "y"]),
                      (export_main, ["--model", typo, "--out", "y"])):
        r = CliRunner().invoke(cmd, args)
        assert r.exit_code == 1, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: unknown model '{typo}'")
        assert f"did you mean '{hint}'?" in lines[0]


def test_denoise_method_in_any_case(tmp_path):
    src = tmp_path / "noisy"
    src.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(src / "a.png")
    r = CliRunner().invoke(main, ["denoise", "--method", "DnCNN", "--input-dir", str(src),
                                  "--result-dir", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "a.png").is_file()


def _rgba(path, seed: int) -> None:
    arr = np.random.default_rng(seed).integers(0, 256, (8, 8, 4), dtype=np.uint8)
    Image.fromarray(arr, "RGBA").save(path)


def test_alpha_warning_once_per_command_with_count(tmp_path):
    """3 RGBA images x 2 sigmas: one warning line, counting 3 images (not 6 lines)."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        _rgba(src / f"im{i}.png", i)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(src / "gray.png")
    for _ in range(2):  # a second run in the same process says it again (no stale warning registry)
        r = CliRunner().invoke(main, ["noise", "--sigma", "5", "10", "--input-dir", str(src),
                                      "--result-dir", str(tmp_path / "out")])
        assert r.exit_code == 0, r.output
        warn = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
        assert sorted(warn) == ["warning: RGBA image: alpha channel dropped in 3 images (im0.png, im1.png, im2.png)",
                                "warning: gray.png: grayscale image expanded to RGB"], r.stderr


def test_warning_log_counts_files_not_reads(capsys):
    """The same file read for several targets counts once; a name in two folders counts twice, shown once."""
    import warnings

    from pngan.cli.errors import run_cli
    from pngan.io.images import ImageWarning

    def job() -> None:
        for path in ("in/a.png", "in/a.png", "gt/a.png", "in/b.png", "in/b.png"):
            warnings.warn(ImageWarning(path.split("/")[1], "RGBA image: alpha channel dropped", path))
        warnings.warn(ImageWarning("c.png", "grayscale image expanded to RGB", "in/c.png"))

    run_cli(job)
    assert capsys.readouterr().err.splitlines() == [
        "warning: RGBA image: alpha channel dropped in 3 images (a.png, b.png)",
        "warning: c.png: grayscale image expanded to RGB"]


def test_command_added_later_gets_the_conventions():
    @click.command()
    @click.option("--some_dir")
    @click.option("--model", default="dncnn")
    def extra(some_dir: str, model: str) -> None:
        click.echo(f"{some_dir} {model}")

    main.add_command(extra, "extra-test")
    try:
        assert "--some-dir" in CliRunner().invoke(main, ["extra-test", "--help"]).output
        for spelling in ("--some_dir", "--some-dir"):
            r = CliRunner().invoke(main, ["extra-test", spelling, "x", "--model", "MIRNet"])
            assert r.exit_code == 0 and r.output == "x mirnet\n", r.output
    finally:
        main.commands.pop("extra-test")
