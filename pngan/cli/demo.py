"""``pngan demo``: the whole path on a shipped sample, in under a minute on 2 cores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pngan.cli.errors import run_cli
from pngan.weights import DEFAULT_DENOISER as DEMO_MODEL
from pngan.weights import DEMO_GENERATOR  # the shipped generator given its noise, with colour: all noise

DEMO_STRENGTH = 2.0  # twice its PolyU noise std, as at a higher ISO

if TYPE_CHECKING:
    import numpy as np


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("pngan-demo"), show_default=True,
              help="Output folder for images, the ONNX artifact and the side-by-side PNG.")
@click.option("--sample", type=click.Choice(["coffee", "motorcycle"]), default="coffee", show_default=True)
@click.option("--noise", type=click.Choice(["generator", "poisson-gaussian"]), default="generator",
              show_default=True,
              help=f"Realistic noise from the shipped PNGAN generator ({DEMO_GENERATOR}: blotchy, correlated, "
                   "8x8-blocky like the PolyU cameras' JPEG), or hand-made Poisson-Gaussian noise.")
@click.option("--strength", type=float, default=None, metavar="S",
              help=f"--noise generator: scale of its noise, 1 = PolyU's level  [default: {DEMO_STRENGTH:g}]")
@click.option("--seed", type=int, default=0, show_default=True)
def demo(out: Path, sample: str, noise: str, strength: float | None, seed: int) -> None:
    """Noise a shipped sample, denoise it in torch and in ONNX Runtime, compare."""
    run_cli(lambda: run_demo(out, sample, seed, noise, strength))


def run_demo(out: Path, sample: str = "coffee", seed: int = 0, noise: str = "generator",
             strength: float | None = None) -> dict[str, float]:
    """Run the demo; returns the printed numbers. ``strength``: the generator's (default ``DEMO_STRENGTH``)."""
    import numpy as np

    from pngan.assets.samples import sample_image
    from pngan.io.images import from_tensor_batch, to_tensor_batch, write_image
    from pngan.metrics import psnr, psnr_float
    from pngan.progress import progress

    strength = _demo_strength(noise, strength)
    steps = progress(total=5, desc="demo", unit="step", leave=False)
    clean = sample_image(sample)
    noisy, noise_desc = _demo_noisy(clean, noise, seed, strength)
    x = to_tensor_batch(noisy)
    steps.update()
    weights, artifact, (y_torch, lat_torch), (y_ort, lat_ort) = _demo_denoise(x, out, steps)
    den_t, den_o = from_tensor_batch(y_torch), from_tensor_batch(y_ort)
    for name, img in (("clean", clean), ("noisy", noisy), ("denoised_torch", den_t), ("denoised_onnx", den_o)):
        write_image(out / f"{name}.png", img)
    r = {"psnr_noisy": psnr(noisy, clean), "psnr_torch": psnr(den_t, clean), "psnr_onnx": psnr(den_o, clean),
         "parity_db": psnr_float(y_torch, y_ort), "max_abs": float(np.abs(y_torch - y_ort).max()),
         "torch_ms": lat_torch["p50_ms"], "onnx_ms": lat_ort["p50_ms"]}
    write_image(out / "side_by_side.png", side_by_side(noisy, den_t, clean, r["psnr_noisy"], r["psnr_torch"]))
    steps.update()
    steps.close()
    h, w = clean.shape[:2]
    click.echo(f"pngan demo: {sample} {w}x{h}, {noise_desc}; denoiser {DEMO_MODEL} ({weights.name})")
    click.echo(f"{'':24s}{'PSNR vs clean':>15s}{'latency p50':>14s}")
    click.echo(f"{'noisy input':24s}{r['psnr_noisy']:>12.2f} dB{'':>14s}")
    click.echo(f"{'denoised, torch eager':24s}{r['psnr_torch']:>12.2f} dB{r['torch_ms']:>11.1f} ms")
    click.echo(f"{'denoised, onnxruntime':24s}{r['psnr_onnx']:>12.2f} dB{r['onnx_ms']:>11.1f} ms")
    click.echo(f"torch vs onnxruntime: PSNR {r['parity_db']:.1f} dB, max abs error {r['max_abs']:.2e}")
    click.echo(f"wrote {out}/side_by_side.png (noisy | denoised | clean, with PSNR, and {ZOOM}x crops of the "
               f"boxed region) and {artifact}")
    return r


def _demo_strength(noise: str, strength: float | None) -> float:
    """The generator's strength (``DEMO_STRENGTH`` when not given); one line for a bad or misplaced one."""
    from pngan.errors import PnganError
    from pngan.generate.sampler import check_strength

    if noise != "generator" and strength is not None:
        raise PnganError(f"--strength scales the generator's noise; it does not apply to --noise {noise}")
    strength = DEMO_STRENGTH if strength is None else strength
    check_strength(None, strength)
    return strength


def _demo_noisy(clean: np.ndarray, noise: str, seed: int, strength: float) -> tuple[np.ndarray, str]:
    """The demo's noisy input and a line saying what noise it has."""
    import numpy as np

    from pngan.assets.samples import SAMPLE_READ, SAMPLE_SHOT, noisy_sample
    from pngan.generate.sampler import generate
    from pngan.models import load_model
    from pngan.weights import resolve

    if noise == "generator":
        gen_weights = resolve(DEMO_GENERATOR)
        noisy = generate(load_model(None, gen_weights), clean, seed=seed, strength=strength)
        return noisy, (f"realistic noise from the PNGAN generator {gen_weights.stem} (strength {strength:g}, "
                       f"seed {seed})")
    desc = f"Poisson-Gaussian noise (shot {SAMPLE_SHOT:g}, read {SAMPLE_READ:g})"
    return noisy_sample(clean, np.random.default_rng(seed)), desc


def _demo_denoise(x: np.ndarray, out: Path, steps) -> tuple:
    """The default denoiser on ``x`` in torch and as an ONNX export written under ``out``:
    ``(weights, artifact, (torch output, latency), (onnx output, latency))``."""
    from pngan.export import export
    from pngan.models import default_weights, load_model
    from pngan.runtimes import open_artifact
    from pngan.runtimes.torch_runner import TorchRunner
    from pngan.timing import measure_latency

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
    return weights, artifact, (y_torch, lat_torch), (y_ort, lat_ort)


ZOOM = 4  # magnification of the crops in side_by_side.png
LABEL_H = 22  # height of the label band above each panel


def zoom_window(noisy: np.ndarray, clean: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left ``(y, x)`` of the ``size`` x ``size`` window where the noise shows most.

    Among the flatter half of the windows (clean-image gradient energy at most the
    median, where noise is not hidden by texture), the one with the most noise energy.
    """
    import numpy as np

    h, w = clean.shape[:2]
    size = min(size, h, w)
    noise = ((noisy.astype(np.float64) - clean) ** 2).mean(axis=2)
    gy, gx = np.gradient(clean.astype(np.float64).mean(axis=2))
    step = max(1, size // 4)
    ys, xs = list(range(0, h - size + 1, step)), list(range(0, w - size + 1, step))

    def window_means(a: np.ndarray) -> np.ndarray:
        c = np.pad(a.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        y0, x0 = np.ix_(ys, xs)
        return (c[y0 + size, x0 + size] - c[y0, x0 + size] - c[y0 + size, x0] + c[y0, x0]) / size**2

    energy, texture = window_means(noise), window_means(gy**2 + gx**2)
    score = np.where(texture <= np.median(texture), energy, -1.0)
    iy, ix = np.unravel_index(int(np.argmax(score)), score.shape)
    return ys[iy], xs[ix]


def side_by_side(noisy: np.ndarray, denoised: np.ndarray, clean: np.ndarray, psnr_noisy: float,
                 psnr_denoised: float) -> np.ndarray:
    """noisy | denoised | clean labelled with PSNR vs clean, over ``ZOOM``x crops of the boxed region (uint8)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from pngan.io.images import to_uint8

    h, w = clean.shape[:2]
    size = max(1, min(h, w) // ZOOM)
    y, x = zoom_window(noisy, clean, size)
    panels = [(noisy, f"noisy  {psnr_noisy:.2f} dB"), (denoised, f"denoised  {psnr_denoised:.2f} dB"),
              (clean, "clean (reference)")]
    canvas = Image.new("RGB", (3 * w, 2 * (LABEL_H + h)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1: fixed bitmap font
        font = ImageFont.load_default()
    for i, (img, label) in enumerate(panels):
        u8 = to_uint8(img)
        crop = u8[y:y + size, x:x + size].repeat(ZOOM, axis=0).repeat(ZOOM, axis=1)
        canvas.paste(Image.fromarray(u8), (i * w, LABEL_H))
        canvas.paste(Image.fromarray(np.ascontiguousarray(crop)), (i * w, 2 * LABEL_H + h))
        draw.text((i * w + 4, 4), label, fill=(0, 0, 0), font=font)
        draw.text((i * w + 4, LABEL_H + h + 4), f"{ZOOM}x crop (box above)", fill=(0, 0, 0), font=font)
        draw.rectangle([i * w + x - 1, LABEL_H + y - 1, i * w + x + size, LABEL_H + y + size], outline=(255, 0, 0))
    return np.asarray(canvas)
