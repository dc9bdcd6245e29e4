"""``pngan eval-noise``: AKLD and noise-texture statistics of fake vs real noise (logic: :mod:`pngan.realism.report`)."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli
from pngan.weights import DEFAULT_GENERATOR


@click.command("eval-noise")
@click.option("--data", "--pairs", "pairs_dir", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help="A paired folder (input/ + groundtruth/, noisy/ + clean/, ...) instead of --clean and --real.")
@click.option("--clean", "clean_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of clean (ground-truth) images.")
@click.option("--real", "real_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of real noisy images, paired with --clean by name stem.")
@click.option("--fake", "fake_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of generated noisy images: <stem>.png or <stem>_<k>.png per image.")
@click.option("--weights", "--generator", "weights", default=None, metavar="PATH|NAME",
              help="Generator weights to sample fakes from: a .safetensors file or a shipped name. "
                   f"Default without --fake: {DEFAULT_GENERATOR} (the shipped default generator).")
@click.option("--samples", type=int, default=1, show_default=True,
              help="Fakes per image from --weights (DANet uses 50).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Run seed for --weights; sample k of image F uses the seed derived from (S, F, k).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Write AKLD, hist KLD, spectrum distance, autocorrelation, NLF per camera, blockiness (fake, "
                   "AWGN reference, real) to this JSON file.")
@click.option("--figures", type=click.Path(path_type=Path), default=None,
              help="Folder for crops (noise x8), spectra, autocorrelation maps, NLF per camera, histograms.")
@click.option("--like", default=None, metavar="DIR|JSON|PRESET|others|self",
              help="For a generator told the camera (smnet-c): the reference photos of that camera (a folder "
                   "other than the scored pairs), a fingerprint JSON, a preset (phone, dslr), or 'others': each "
                   "scored image told by the other scored noisy photos; 'self': its own (an oracle, a diagnosis "
                   "only). Default: the preset 'phone'.")
def eval_noise(pairs_dir: Path | None, clean_dir: Path | None, real_dir: Path | None, fake_dir: Path | None,
               weights: str | None, samples: int, seed: int, json_path: Path | None, figures: Path | None,
               like: str | None) -> None:
    """AKLD (DANet, lower is better) and what the noise is: histogram KLD, power spectrum, autocorrelation,
    NLF, 8x8 blockiness, of fake vs real noisy images, next to AWGN at its best level."""
    def job() -> None:
        nonlocal clean_dir, real_dir
        from pngan.errors import PnganError

        for option, folder in (("--data", pairs_dir), ("--clean", clean_dir), ("--real", real_dir), ("--fake", fake_dir)):
            if folder is not None and not folder.is_dir():  # before numpy/scipy: an argument error is instant
                raise PnganError(f"{option} {folder}: no such folder")
        from pngan.realism.report import EvalNoiseError, check_sources, evaluate_noise, pair_folders
        from pngan.realism.summary import summary_lines, write_report

        given = (clean_dir is not None, real_dir is not None)
        if given != ((False, False) if pairs_dir is not None else (True, True)):
            raise EvalNoiseError("give --data DIR, or both --clean DIR and --real DIR")
        if pairs_dir is not None:
            from pngan.data.pairs import find_layout

            real_dir, clean_dir = find_layout(pairs_dir)
        generator = weights if weights is not None or fake_dir is not None else DEFAULT_GENERATOR
        check_sources(fake_dir, generator, samples)
        pairs = pair_folders(clean_dir, real_dir, fake_dir)
        width = max(len(s) for s, *_ in pairs)

        def on_image(stem: str, akld: float, kld: float, n: int) -> None:
            click.echo(f"{stem:<{width}s}  AKLD {akld:.4f}  hist KLD {kld:.4f}  ({n} sample{'s' * (n > 1)})")

        report = evaluate_noise(pairs, generator, samples, seed, on_image, like)
        n = len(report.per_image)
        click.echo(f"{'mean':<{width}s}  AKLD {report.akld:.4f}  over {n} image{'s' * (n > 1)}")
        ref = report.reference
        click.echo(f"{'reference':<{width}s}  AKLD {ref['akld']:.4f}  AWGN at its best level on these images "
                   f"({ref['level']}, 1 sample per image)")
        for line in summary_lines(report):
            click.echo(line)
        click.echo(f"fake noise: {_source(fake_dir, generator, samples)}"
                   + (f", noise like {report.like}" if report.like else ""))
        for path in write_report(report, json_path, figures):
            click.echo(f"wrote {path}")

    run_cli(job)


def _source(fake_dir: Path | None, generator: str | Path | None, samples: int) -> str:
    """What the scored fake noise was: a folder of images, or a generator file and its samples."""
    if fake_dir is not None:
        return f"the images in {fake_dir}"
    from pngan.realism.report import resolve_generator

    return f"generator {resolve_generator(generator).stem}, {samples} sample(s) per image"
