"""``pngan demo``: the whole path on a shipped sample, in under a minute on 2 cores."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli

DEMO_MODEL = "dncnn"
GENERATOR = "smnet-s"


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("pngan-demo"), show_default=True,
              help="Output folder for images, the ONNX artifact and the side-by-side PNG.")
@click.option("--sample", type=click.Choice(["coffee", "motorcycle"]), default="coffee", show_default=True)
@click.option("--noise", type=click.Choice(["generator", "poisson-gaussian"]), default="generator",
              show_default=True, help="Realistic noise from the shipped SMNet-s generator, or the hand-made model.")
@click.option("--seed", type=int, default=0, show_default=True)
def demo(out: Path, sample: str, noise: str, seed: int) -> None:
    """Noise a shipped sample, denoise it in torch and in ONNX Runtime, compare."""
    run_cli(lambda: run_demo(out, sample, seed, noise))


def run_demo(out: Path, sample: str = "coffee", seed: int = 0, noise: str = "generator") -> dict[str, float]:
    """Run the demo; returns the printed numbers."""
    import numpy as np
    from pngan.progress import progress

    from pngan.export import export
    from pngan.generate import generate
    from pngan.images import from_tensor_batch, to_tensor_batch, write_image
    from pngan.metrics import psnr, psnr_float
    from pngan.models import default_weights, load_model
    from pngan.runtimes import open_artifact
    from pngan.runtimes.torch_runner import TorchRunner
    from pngan.samples import SAMPLE_READ, SAMPLE_SHOT, noisy_sample, sample_image
    from pngan.timing import measure_latency

    steps = progress(total=5, desc="demo", unit="step", leave=False)
    clean = sample_image(sample)
    if noise == "generator":
        gen_weights = default_weights(GENERATOR)
        noisy = generate(load_model(GENERATOR, gen_weights), clean, seed=seed)
        noise_desc = f"realistic noise from {GENERATOR} ({gen_weights.name}, seed {seed})"
    else:
        noisy = noisy_sample(clean, np.random.default_rng(seed))
        noise_desc = f"Poisson-Gaussian noise (shot {SAMPLE_SHOT:g}, read {SAMPLE_READ:g})"
    x = to_tensor_batch(noisy)
    steps.update()

    weights = default_weights(DEMO_MODEL)
    net = load_model(DEMO_MODEL, weights)
    torch_run = TorchRunner(net, threads=2)
    y_torch = torch_run(x)
    steps.update()

    artifact = export(net, "onnx", out, weights=weights, force=True)
    steps.update()
    with open_artifact(artifact, threads=2) as ort_run:
        y_ort = ort_run(x)
        lat_ort = measure_latency(lambda: ort_run(x))
    lat_torch = measure_latency(lambda: torch_run(x))
    steps.update()

    den_t, den_o = from_tensor_batch(y_torch), from_tensor_batch(y_ort)
    for name, img in (("clean", clean), ("noisy", noisy), ("denoised_torch", den_t), ("denoised_onnx", den_o)):
        write_image(out / f"{name}.png", img)
    write_image(out / "side_by_side.png", np.concatenate([noisy, den_t, clean], axis=1))
    steps.update()
    steps.close()

    r = {"psnr_noisy": psnr(noisy, clean), "psnr_torch": psnr(den_t, clean), "psnr_onnx": psnr(den_o, clean),
         "parity_db": psnr_float(y_torch, y_ort), "max_abs": float(np.abs(y_torch - y_ort).max()),
         "torch_ms": lat_torch["p50_ms"], "onnx_ms": lat_ort["p50_ms"]}
    h, w = clean.shape[:2]
    click.echo(f"pngan demo: {sample} {w}x{h}, {noise_desc}; denoiser {DEMO_MODEL} ({weights.name})")
    click.echo(f"{'':24s}{'PSNR vs clean':>15s}{'latency p50':>14s}")
    click.echo(f"{'noisy input':24s}{r['psnr_noisy']:>12.2f} dB{'':>14s}")
    click.echo(f"{'denoised, torch eager':24s}{r['psnr_torch']:>12.2f} dB{r['torch_ms']:>11.1f} ms")
    click.echo(f"{'denoised, onnxruntime':24s}{r['psnr_onnx']:>12.2f} dB{r['onnx_ms']:>11.1f} ms")
    click.echo(f"torch vs onnxruntime: PSNR {r['parity_db']:.1f} dB, max abs error {r['max_abs']:.2e}")
    click.echo(f"wrote {out}/side_by_side.png (noisy | denoised | clean) and {artifact}")
    return r
