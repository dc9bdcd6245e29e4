"""``pngan pgap``: the PGap procedure of DANet for a generator or a hand-made noise model."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli


@click.command()
@click.option("--train_dir", "train_dir", type=click.Path(path_type=Path), required=True, help="Real training pairs.")
@click.option("--test_dir", "test_dir", type=click.Path(path_type=Path), required=True, help="Held-out real pairs.")
@click.option("--weights", "--generator", "weights", type=click.Path(path_type=Path), default=None, metavar="PATH|NAME",
              help="Generator weights (.safetensors, or a shipped file's name).")
@click.option("--noise", type=click.Choice(["gaussian", "poisson-gaussian", "camera"]), default=None,
              help="A hand-made noise model instead of a generator.")
@click.option("--sigma", type=float, default=None, help="AWGN sigma (0-255) for --noise gaussian.")
@click.option("--samples", type=int, default=1, show_default=True, help="Generated samples per clean image.")
@click.option("--steps", type=int, default=500, show_default=True, help="Training steps for each denoiser.")
@click.option("--model", "--denoiser", "model", default="dncnn", show_default=True, metavar="NAME",
              help="The denoiser trained twice (from scratch).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/pgap"), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.argument("overrides", nargs=-1)
def pgap(train_dir: Path, test_dir: Path, weights: Path | None, noise: str | None, sigma: float | None,
         samples: int, steps: int, model: str, out: Path, seed: int, overrides: tuple[str, ...]) -> None:
    """PSNR on TEST_DIR of a denoiser trained on real pairs minus one trained on generated pairs (smaller is better).

    OVERRIDES are trainer settings (section.key=value), e.g. data.patch=48 data.batch=8.
    """

    def job() -> None:
        generator = weights
        from pngan.errors import PnganError
        from pngan.train.config import load_config

        if (generator is None) == (noise is None):
            raise PnganError("give exactly one of --weights GENERATOR or --noise NAME")
        for d in (train_dir, test_dir):
            if not d.is_dir():
                raise PnganError(f"{d}: no such folder")
        if generator is not None:
            from pngan.weights import resolve

            generator = resolve(generator)  # a shipped file by name
        if generator is not None and not generator.is_file():
            raise PnganError(f"{generator}: no such weights file")
        cfg = load_config(None, [f"optim.steps={steps}", f"model.denoiser={model}", "model.denoiser_weights=",
                                 f"run.out_dir={out}", f"run.seed={seed}", "run.val_every=0", *overrides])
        # torch only now that the arguments are checked
        import numpy as np

        from pngan.generate.sampler import generate
        from pngan.models import load_model
        from pngan.noise import get_noise_model
        from pngan.train.pgap import pgap as run_pgap

        if generator is not None:
            from pngan.models.smnet_cond import takes_fingerprint
            from pngan.train.pgap import PairConditioned

            g = load_model(None, generator)
            synth = lambda clean, s: generate(g, clean, seed=s)  # noqa: E731
            what = f"generator {generator.name}"
            if takes_fingerprint(g):  # each training pair's noise like its own real noisy photo
                synth, what = PairConditioned(g), what + ", each pair told its own training photo's fingerprint"
        else:
            fn = get_noise_model(noise)
            kw = {"sigma": sigma} if noise == "gaussian" else {}
            synth = lambda clean, s: fn(clean, np.random.default_rng(s), **kw)  # noqa: E731
            what = f"{noise} noise" + (f" sigma {sigma:g}" if sigma is not None else "")
        r = run_pgap(cfg, train_dir, test_dir, synth, samples=samples)
        click.echo(f"PGap ({what}, {model}, {steps} steps): real-trained {r['psnr_real']:.2f} dB, "
                   f"generated-trained {r['psnr_generated']:.2f} dB, PGap {r['pgap']:.2f} dB")

    run_cli(job)
