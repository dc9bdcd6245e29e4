"""Weights I/O: round trips and every checkpoint error the user can cause."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from pngan.errors import CheckpointError
from pngan.models import build, load, load_model, load_weights, read_metadata, save_weights


def _x() -> torch.Tensor:
    return torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(1))


def test_safetensors_round_trip_rebuilds_config(tmp_path, seeded):
    net = build("dncnn", features=8, depth=4).eval()
    p = save_weights(net, tmp_path / "w.safetensors", extra={"note": "x"})
    meta = read_metadata(p)
    assert meta["name"] == "dncnn" and meta["config"]["features"] == 8 and meta["note"] == "x"
    again = load(p)
    assert again.pngan_config == net.pngan_config
    with torch.no_grad():
        assert torch.equal(net(_x()), again(_x()))


def test_official_pth_layout_with_and_without_module_prefix(tmp_path, seeded):
    net = build("dncnn", features=8, depth=4).eval()
    sd = net.state_dict()
    for i, prefix in enumerate(("module.", "")):
        p = tmp_path / f"official{i}.pth"
        torch.save({"state_dict": {prefix + k: v for k, v in sd.items()}, "epoch": 3, "optimizer": {}}, p)
        other = load_weights(build("dncnn", features=8, depth=4), p).eval()
        with torch.no_grad():
            assert torch.equal(net(_x()), other(_x()))
    bare = tmp_path / "bare.pt"
    torch.save(sd, bare)
    load_weights(build("dncnn", features=8, depth=4), bare)


def test_missing_and_empty_and_garbage_files(tmp_path):
    net = build("dncnn")
    with pytest.raises(CheckpointError, match="no such weights file"):
        load_weights(net, tmp_path / "nope.pth")
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        load_weights(net, tmp_path / "empty.pth")
    (tmp_path / "text.pth").write_text("hello, I am not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a"):
        load_weights(net, tmp_path / "text.pth")
    (tmp_path / "text.safetensors").write_text("hello")
    with pytest.raises(CheckpointError, match="safetensors"):
        load_weights(net, tmp_path / "text.safetensors")


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_truncated_checkpoint(tmp_path, suffix, seeded):
    net = build("dncnn")
    p = tmp_path / f"full{suffix}"
    if suffix == ".pth":
        torch.save({"state_dict": net.state_dict()}, p)
    else:
        save_weights(net, p)
    data = p.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_weights(build("dncnn"), cut)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_pickle_needing_code_execution_is_refused_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "evil.pth"
    with open(p, "wb") as f:
        pickle.dump({"state_dict": _Evil()}, f)
    with pytest.raises(CheckpointError, match="refused"):
        load_weights(build("dncnn"), p)
    assert not (tmp_path / "pwned.txt").exists()
    # the zip format torch.save writes too
    torch.save({"state_dict": _Evil()}, tmp_path / "evil2.pth")
    with pytest.raises(CheckpointError, match="refused"):
        load_weights(build("dncnn"), tmp_path / "evil2.pth")
    assert not (tmp_path / "pwned.txt").exists()


def test_wrong_architecture_names_keys_and_shapes(tmp_path, seeded):
    p = tmp_path / "smnet.safetensors"
    save_weights(build("smnet-s"), p)
    with pytest.raises(CheckpointError, match=r"do not match architecture 'dncnn'.*missing \(first: body\.0\.weight"):
        load_weights(build("dncnn"), p)
    q = tmp_path / "wide.safetensors"
    save_weights(build("dncnn", features=16), q)
    with pytest.raises(CheckpointError, match=r"shape mismatches \(first: body\.0\.weight \(16, 3, 3, 3\) vs \(32, 3, 3, 3\)"):
        load_weights(build("dncnn"), q)


def test_load_model_checks_the_name_in_metadata(tmp_path):
    p = save_weights(build("dncnn", features=8, depth=3), tmp_path / "d.safetensors")
    assert load_model(None, p).pngan_config["features"] == 8
    with pytest.raises(CheckpointError, match="not 'ridnet'"):
        load_model("ridnet", p)


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    p = save_weights(build("dncnn", features=8, depth=3), tmp_path / "d.safetensors")
    before = p.read_bytes()
    import safetensors.torch as st

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(st, "save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        save_weights(build("dncnn"), p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["d.safetensors"]  # no temp left behind


def test_shipped_weights_load_and_denoise():
    from pngan.models import default_weights

    net = load_model("dncnn")
    assert default_weights("dncnn").stat().st_size < 5 * 2**20
    assert net.pngan_name == "dncnn"


def test_first_line_of_errors():
    from pngan.errors import first_line

    assert first_line(RuntimeError("\n  boom happened\nmore detail")) == "boom happened"
    assert first_line(RuntimeError("x" * 500), 160) == "x" * 160
    assert first_line(KeyError()) == "KeyError"  # no message: never an IndexError
    assert first_line(OSError(), empty="corrupt") == "corrupt"


@pytest.mark.parametrize("kind", ["jpeg", "png", "text"])
def test_a_non_weights_file_is_called_that(tmp_path, kind):
    """``--weights photo.jpg``: not "a pickle that needs code execution", but not a weights file."""
    from pngan.errors import CheckpointError
    from pngan.io.images import write_image
    from pngan.models import build, load_weights

    p = tmp_path / {"jpeg": "photo.jpg", "png": "photo.png", "text": "notes.pth"}[kind]
    if kind == "text":
        p.write_text("hello, not a checkpoint\n")
    else:
        write_image(p, torch.zeros(8, 8, 3).numpy())
    with pytest.raises(CheckpointError) as e:
        load_weights(build("dncnn"), p)
    msg = str(e.value)
    assert "not a weights file" in msg and "pickle" not in msg
    assert {"jpeg": "JPEG image", "png": "PNG image", "text": "(text)"}[kind] in msg
