"""``pngan parity`` runs the torch reference once per (weights, input, tiling), not once per artifact,
and times each latency size once: more artifacts of one model cost only their own runs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

FAST = dict(sizes=(32, 48), latency_sizes=(32, 32), repeats=1, threads=1)


@pytest.fixture(scope="module")
def arts(tmp_path_factory, export_tiny_dncnn):
    _, _, arts = export_tiny_dncnn(tmp_path_factory.mktemp("cache"), precisions=("fp32", "fp16"), validate=False)
    return arts


def _torch_calls(monkeypatch, root) -> tuple[int, object]:
    from pngan.runtimes.parity import run_parity
    from pngan.runtimes.torch_runner import TorchRunner

    calls = []
    run = TorchRunner._run
    monkeypatch.setattr(TorchRunner, "_run", lambda self, x: calls.append(x.shape) or run(self, x))
    report = run_parity(root, **FAST)
    monkeypatch.setattr(TorchRunner, "_run", run)
    return len(calls), report


def test_torch_reference_runs_once_for_every_artifact_of_its_weights(arts, monkeypatch):
    one, rep1 = _torch_calls(monkeypatch, arts["fp32"])
    both, rep2 = _torch_calls(monkeypatch, arts["fp32"].parent)
    assert [a.status for a in rep2.artifacts] == ["pass", "pass"]
    assert both == one, (one, both)
    (e,) = rep1.artifacts
    assert list(e.latency) == ["32"] and rep1.latency_sizes == [32]
    assert rep2.artifacts[0].denoised.psnr_torch == rep2.artifacts[1].denoised.psnr_torch


def test_every_runner_that_feeds_its_own_way_says_how():
    """Parity keys torch's cached outputs by ``feed_plan``: a runner overriding ``feed`` must override it too."""
    import importlib

    from pngan.runtimes.base import BaseRunner
    from pngan.runtimes.formats import FORMATS

    checked = []
    for fmt in (FORMATS.values() if isinstance(FORMATS, dict) else FORMATS):
        module, _, cls = fmt.runner.partition(":")
        runner = getattr(importlib.import_module(module), cls)  # runner modules import their backend on use
        checked.append(cls)
        if runner.feed is not BaseRunner.feed:
            assert runner.feed_plan is not BaseRunner.feed_plan, cls
    assert "LiteRtRunner" in checked and len(checked) >= 6
