"""Quantization-aware training (``model.qat``): fake-quantized forward on the plain weights, exact resume, refusals."""

from __future__ import annotations

import sys

import pytest
import torch

from pngan.errors import BackendMissingError, CheckpointError, PnganError
from pngan.models import build, load
from pngan.train.config import load_config

pytest.importorskip("executorch", reason="model.qat needs the executorch extra (its XNNPACKQuantizer)")

TINY = ["model.denoiser=resunet-s", "model.denoiser_weights=",
        "model.denoiser_config={width=4, enc_blocks=[1, 1], dec_blocks=[1, 1], middle_blocks=1}",
        "data.patch=16", "data.batch=2", "run.val_every=0", "run.log_every=1", "run.image_every=0",
        "run.threads=1", "model.qat=true"]


def _cfg(pairs, out, *extra: str):
    return load_config(None, [f"data.train_dir={pairs}", f"run.out_dir={out}", *TINY, *extra])


def _tiny_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return build("resunet-s", width=4, enc_blocks=[1, 1], dec_blocks=[1, 1], middle_blocks=1)


def test_qat_graph_rounds_and_trains_the_plain_weights():
    from pngan.train.qat import fake_quantizers, qat_graph

    net = _tiny_net()
    for p in net.parameters():  # the second convs start near zero: give every layer a signal to round
        torch.nn.init.normal_(p, std=0.1)
    g = qat_graph(net, 16, 2, torch.device("cpu"))
    assert fake_quantizers(g) >= 10  # weights and activations of every conv, add, shuffle
    x = torch.rand(3, 3, 16, 16)  # another batch size than the sample: the batch is dynamic
    with torch.no_grad():
        y_float, y_q = net(x), g(x)
    err = ((y_float - y_q).norm() / (y_float - x).norm()).item()  # relative to what the body adds
    assert 0.002 < err < 0.1  # rounded like INT8: not the float output, not something else
    before = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    (g(x) - x).abs().mean().backward()
    opt.step()
    assert all(p.grad is not None for p in net.parameters())  # straight through the rounding
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


@pytest.mark.parametrize("ranges", ["moving", "global"])
def test_qat_activation_ranges_moving_or_global(ranges):
    """After a wide batch, a narrow one narrows the rounding steps of a moving average, not of global min/max."""
    from pngan.train.qat import qat_graph

    g = qat_graph(_tiny_net(), 16, 2, torch.device("cpu"), ranges=ranges)
    acts = [m for n, m in g.named_modules() if n.startswith("activation_post_process") and "." not in n
            and m.scale.numel() == 1]
    torch.manual_seed(1)
    with torch.no_grad():
        g(torch.rand(2, 3, 16, 16))
        wide = [m.scale.clone() for m in acts]
        g((torch.rand(2, 3, 16, 16) * 0.1 + 0.45))
    kept = [torch.equal(a, m.scale) for a, m in zip(wide, acts)]
    assert all(kept) if ranges == "global" else sum(not k for k in kept) >= len(kept) // 2


def test_qat_run_ships_plain_float_weights(tiny_train_pairs, tmp_path):
    from pngan.train.loop import train

    cfg = _cfg(tiny_train_pairs, tmp_path / "run", "optim.steps=3", "run.ckpt_every=3", "run.val_every=3",
               f"data.val_dir={tiny_train_pairs}")
    val = train("denoiser", cfg, export_weights=tmp_path / "w.safetensors", progress=False)
    assert "val/psnr" in val
    model = load(tmp_path / "w.safetensors")
    assert model.pngan_name == "resunet-s"
    assert set(model.state_dict()) == set(_tiny_net().state_dict())  # no observer, no fake-quant buffer
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["arch"]["qat"] == "int8"
    assert any(k.endswith(".scale") for k in ckpt["state"]["qat"])  # the observers' state, for resume


class _Stop(Exception):
    pass


def _stop_after(step_at: int):
    def hook(rank: int, step: int, scalars: dict[str, float]) -> dict[str, float]:
        if step == step_at:
            raise _Stop
        return scalars

    return hook


def test_qat_resume_matches_uninterrupted(tiny_train_pairs, tmp_path):
    from pngan.train.loop import train

    train("denoiser", _cfg(tiny_train_pairs, tmp_path / "a", "optim.steps=4", "run.ckpt_every=2"), progress=False)
    with pytest.raises(_Stop):
        train("denoiser", _cfg(tiny_train_pairs, tmp_path / "b", "optim.steps=4", "run.ckpt_every=2"),
              progress=False, on_step=_stop_after(3))
    train("denoiser", _cfg(tiny_train_pairs, tmp_path / "b", "optim.steps=4", "run.ckpt_every=2"), resume=True,
          progress=False)
    a, b = ({k: v for k, v in torch.load(d / "checkpoints" / "last.pt", weights_only=True)["state"]["qat"].items()}
            for d in (tmp_path / "a", tmp_path / "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # weights and observers alike


def test_qat_resume_refuses_a_float_run(tiny_train_pairs, tmp_path):
    from pngan.train.loop import train

    train("denoiser", _cfg(tiny_train_pairs, tmp_path / "r", "optim.steps=1", "model.qat=false"), progress=False)
    with pytest.raises(CheckpointError, match="different architecture"):
        train("denoiser", _cfg(tiny_train_pairs, tmp_path / "r", "optim.steps=2"), resume=True, progress=False)


@pytest.mark.parametrize("override, message", [
    ("run.amp=bf16", "fake quantization runs in float32; set run.amp=off"),
    ("run.compile=true", "run.compile is not supported"),
    ("experimental.qat_ranges=ema", "experimental.qat_ranges must be one of moving, global, got 'ema'"),
])
def test_qat_refusals_are_one_line(override, message, tiny_train_pairs, tmp_path, one_error_line):
    from click.testing import CliRunner

    from pngan.cli import main

    r = CliRunner().invoke(main, ["train", "denoiser", f"data.train_dir={tiny_train_pairs}",
                                  f"run.out_dir={tmp_path / 'run'}", *TINY, "optim.steps=1", override, "--no-progress"])
    assert message in one_error_line(r)
    assert not (tmp_path / "run").exists()  # a run that fails before its first step leaves nothing


def test_qat_without_executorch_names_the_extra(monkeypatch):
    from pngan.train.qat import qat_graph

    monkeypatch.setitem(sys.modules, "executorch.backends.xnnpack.quantizer.xnnpack_quantizer", None)
    with pytest.raises(BackendMissingError, match=r"'executorch' extra"):
        qat_graph(_tiny_net(), 16, 2, torch.device("cpu"))


def test_qat_refuses_a_model_it_cannot_quantize():
    from pngan.train.qat import qat_graph

    class Mirror(torch.nn.Module):  # no conv, no arithmetic: nothing the quantizer annotates
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flip(-1)

    with pytest.raises(PnganError, match="found no operator to quantize in Mirror"):
        qat_graph(Mirror(), 16, 2, torch.device("cpu"))
