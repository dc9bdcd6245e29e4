"""An output folder equal to, inside, or holding the input is refused (issue 21, item 2), for every folder command.

``denoise --input-dir D --out D/input`` used to write results next to the noisy images, and the next
run on ``D`` failed with ``cannot pair 6 noisy with 4 clean images``.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from pngan.cli import main
from pngan.io.images import write_image

COMMANDS = {"denoise": ["denoise", "--method", "dncnn"], "generate": ["generate"], "noise": ["noise", "--sigma", "5"]}


@pytest.fixture
def paired(tmp_path):
    root = tmp_path / "set"
    for i in range(2):
        write_image(root / "groundtruth" / f"im{i}_mean.png", np.full((16, 16, 3), 0.4 + 0.1 * i, np.float32))
        write_image(root / "input" / f"im{i}_real.png", np.full((16, 16, 3), 0.45 + 0.1 * i, np.float32))
    return root


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("where", ["input/", "input/sub", "groundtruth/", ".", "holds"])
def test_output_overlapping_the_input_is_refused(command, where, paired, tmp_path):
    source = paired
    out = paired / where if where != "holds" else tmp_path
    if command == "noise":  # noise reads one folder of clean images
        source = paired / "groundtruth"
        out = {"input/": source, "input/sub": source / "sub", "groundtruth/": source, ".": source,
               "holds": paired}[where]
    before = _snapshot(paired)
    r = CliRunner().invoke(main, [*COMMANDS[command], "--input-dir", str(source), "--result-dir", str(out)])
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.output.strip().splitlines() if not ln.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert "input" in lines[0] and ("--out" in lines[0] or "choose another" in lines[0]), lines[0]
    assert _snapshot(paired) == before  # nothing written, nothing replaced
    assert not (paired / "input" / "sub").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_sibling_output_folder_is_fine(command, paired, tmp_path):
    source = paired / "groundtruth" if command == "noise" else paired
    r = CliRunner().invoke(main, [*COMMANDS[command], "--input-dir", str(source), "--result-dir",
                                  str(tmp_path / "res")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["denoise", "--model", "dncnn", "--input-dir", str(paired), "--result-dir",
                                  str(tmp_path / "again")])
    assert r.exit_code == 0, r.output  # the input folder still pairs


def test_one_image_input_next_to_the_output(paired, tmp_path):
    """One image file: an output folder beside it is fine, the folder holding it is not."""
    f = paired / "input" / "im0_real.png"
    r = CliRunner().invoke(main, ["denoise", "--input-dir", str(f), "--result-dir", str(paired / "input" / "den")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["denoise", "--input-dir", str(f), "--result-dir", str(paired)])
    assert r.exit_code == 1 and "holds the input image" in r.output, r.output


def test_refuse_overlap_messages(tmp_path):
    from pngan.errors import PnganError
    from pngan.io.output_dir import refuse_overlap

    (tmp_path / "d" / "x").mkdir(parents=True)
    with pytest.raises(PnganError, match="is the input folder"):
        refuse_overlap(tmp_path / "d", tmp_path / "d" / "x" / "..")
    with pytest.raises(PnganError, match="is inside the input folder"):
        refuse_overlap(tmp_path / "d", tmp_path / "d" / "new")
    with pytest.raises(PnganError, match="holds the input folder"):
        refuse_overlap(tmp_path / "d" / "x", tmp_path / "d")
    refuse_overlap(tmp_path / "d", tmp_path / "e")
