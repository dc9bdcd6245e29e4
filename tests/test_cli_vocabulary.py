"""One name per concept across every command (issue 21, item 8), the old spellings kept as listed aliases."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.cli.options import MODEL_NAME, normalize_token
from pngan.cli.export_cmd import main as export_main

COMMANDS = [(f"pngan {n}", c) for n, c in sorted(main.commands.items())] + [("pngan-export", export_main)]
NOISE_MODELS = {"gaussian", "poisson-gaussian", "camera", "generator", "awgn"}
# an old or paper spelling -> the name it is an alias of (never a primary name itself)
ALIASES = {"--method": "--model", "--denoiser": "--model", "--generator": "--weights", "--result-dir": "--out",
           "--result_dir": "--out"}


def _options(cmd: click.Command) -> list[click.Option]:
    return [p for p in cmd.params if isinstance(p, click.Option) and not p.hidden]


def _names(p: click.Option) -> list[str]:
    return [normalize_token(o) for o in p.opts + p.secondary_opts]


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_old_spellings_are_aliases_never_primary_names(name, cmd):
    for p in _options(cmd):
        primary = normalize_token(p.opts[0])
        assert primary not in {normalize_token(a) for a in ALIASES}, f"{name}: {primary} is a primary name"
        for alias in _names(p)[1:]:
            want = ALIASES.get(alias)
            assert want is None or primary == want, f"{name}: {alias} is an alias of {primary}, not of {want}"


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_model_is_an_architecture_and_noise_is_a_noise_model(name, cmd):
    for p in _options(cmd):
        names = _names(p)
        if "--model" in names:  # a registered architecture, checked (any case, typo hints) as one
            assert p.type is MODEL_NAME, f"{name}: --model takes {p.type!r}, not a registered model name"
        choices = set(getattr(p.type, "choices", None) or ())
        if choices and choices <= NOISE_MODELS | {"none"}:
            assert names[0] == "--noise", f"{name}: the noise model option is {names[0]}, not --noise"


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_folder_options_use_the_shared_names(name, cmd):
    for p in _options(cmd):
        names = _names(p)
        if any("result" in n for n in names):
            assert names[0] == "--out", f"{name}: the output folder is {names[0]}"
        if any(n in ("--weights", "--generator") for n in names):
            assert names[0] == "--weights"
            assert p.metavar is None or "PATH" in p.metavar


@pytest.mark.parametrize("command, wanted", [
    ("denoise", ["--model, --method NAME", "--weights PATH|NAME", "--input-dir PATH", "--out, --result-dir PATH",
                 "--artifact PATH"]),
    ("generate", ["--weights PATH|NAME", "--artifact PATH", "--input-dir PATH", "--out, --result-dir PATH"]),
    ("noise", ["--noise NAME", "--input-dir PATH", "--out, --result-dir PATH"]),
    ("pgap", ["--model, --denoiser NAME", "--weights, --generator PATH|NAME", "--noise", "--out"]),
    ("demo", ["--noise", "--out"]),
])
def test_help_lists_the_name_and_its_aliases(command, wanted):
    r = CliRunner().invoke(main, [command, "--help"])
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    for w in wanted:
        assert w in text, f"pngan {command} --help lacks {w!r}:\n{r.output}"
    if command == "noise":
        assert "--model" not in r.output  # the old name works (hidden), --help teaches --noise


@pytest.mark.parametrize("args", [
    ["denoise", "--method", "dncnn", "--input_dir", "{src}", "--result_dir", "{out}"],
    ["denoise", "--model", "dncnn", "--input-dir", "{src}", "--out", "{out}"],
    ["generate", "--input_dir", "{src}", "--result_dir", "{out}"],
    ["generate", "--input-dir", "{src}", "--out", "{out}"],
    ["noise", "--model", "camera", "--input_dir", "{src}", "--result_dir", "{out}"],
    ["noise", "--noise", "camera", "--input-dir", "{src}", "--out", "{out}"],
], ids=lambda a: " ".join(a[:3]))
def test_old_and_new_spellings_both_run(args, tmp_path):
    import numpy as np

    from pngan.io.images import write_image

    src, out = tmp_path / "in", tmp_path / "out"
    write_image(src / "a.png", np.full((16, 16, 3), 0.5, np.float32))
    r = CliRunner().invoke(main, [a.format(src=src, out=out) for a in args])
    assert r.exit_code == 0, r.output
    assert list(out.rglob("a.png")), r.output


def test_noise_and_its_old_name_must_agree(tmp_path):
    r = CliRunner().invoke(main, ["noise", "--noise", "camera", "--model", "gaussian", "--input-dir", str(tmp_path),
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and r.output.startswith("error: --noise camera and --model gaussian"), r.output
