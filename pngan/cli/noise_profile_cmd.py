"""``pngan noise-profile``: a camera's noise fingerprint from noisy photos alone (logic:
:mod:`pngan.realism.fingerprint`)."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli
from pngan.cli.options import conventions


@conventions
@click.command("noise-profile")
@click.argument("noisy_dir", type=click.Path(path_type=Path), metavar="NOISY_DIR")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Write the fingerprint (and, with --pairs, the pair truth and the errors) to this JSON file.")
@click.option("--figure", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Write the noise level function per channel as a PNG (with --pairs: the pair truth dashed).")
@click.option("--pairs", "with_pairs", is_flag=True,
              help="NOISY_DIR is a paired folder (input/ + groundtruth/, noisy/ + clean/, ...): also measure "
                   "noisy - clean and print it and the estimate's errors beside the estimate.")
def noise_profile(noisy_dir: Path, json_path: Path | None, figure: Path | None, with_pairs: bool) -> None:
    """The noise fingerprint of the photos in NOISY_DIR, from the noisy photos alone (no clean images): noise
    level function per channel (std, 0-255, in 8 intensity bins), lag-1 autocorrelation, correlation between
    channels, spectrum tilt and 8x8 blockiness, measured in the photos' flattest 32x32 patches.

    NOISY_DIR holds the photos, or is a paired folder whose noisy half is read.
    """

    def job() -> None:
        from pngan.errors import PnganError

        if not noisy_dir.is_dir():  # before numpy: an argument error is instant
            raise PnganError(f"{noisy_dir}: no such folder")
        for option, path in (("--json", json_path), ("--figure", figure)):
            if path is not None and path.is_dir():
                raise PnganError(f"{option} {path}: is a folder, not a file")
        run_profile(noisy_dir, json_path, figure, with_pairs)

    run_cli(job)


def _sources(noisy_dir: Path, with_pairs: bool) -> tuple[list[Path], list, str]:
    """``(noisy files, pairs or [], what was read)`` for NOISY_DIR (``pngan.data``, which imports torch, only
    for a paired folder)."""
    if with_pairs:
        from pngan.data.pairs import find_pairs

        pairs = find_pairs(noisy_dir)
        return [p.noisy for p in pairs], pairs, f"{len(pairs)} noisy photos of the pairs in {noisy_dir}"
    from pngan.realism.fingerprint import noisy_photos

    files, folder = noisy_photos(noisy_dir)
    half = " (the noisy half of a paired folder)" if folder != noisy_dir else ""
    return files, [], f"{len(files)} noisy photos in {folder}{half}"


def run_profile(noisy_dir: Path, json_path: Path | None, figure: Path | None, with_pairs: bool) -> None:
    """Measure, print the table, then write the JSON and the figure (each whole or not at all)."""
    import json

    from pngan.io.atomic import write_text
    from pngan.io.images import read_image, write_image
    from pngan.realism.fingerprint import (compare, estimate_fingerprint, fingerprint_from_pairs, nlf_figure,
                                           summary_lines, to_json)
    from pngan.realism.fingerprint_estimate import PATCH

    files, pairs, what = _sources(noisy_dir, with_pairs)
    est = estimate_fingerprint((read_image(f) for f in files), [f.name for f in files])
    truth = fingerprint_from_pairs(pairs) if with_pairs else None
    click.echo(f"noise fingerprint of {what}, from the noisy photos alone ({PATCH}x{PATCH} flat patches)"
               + ("; pairs: noisy - clean" if truth is not None else ""))
    if est.left_out:
        click.echo(f"left out, no flat area: {', '.join(est.left_out)} ({est.images} photos measured)")
    for line in summary_lines(est, truth):
        click.echo(line)
    image = nlf_figure(est, truth) if figure is not None else None  # drawn before anything is written
    if json_path is not None:
        text = to_json(est)
        if truth is not None:
            d = json.loads(text)
            d["pairs"] = json.loads(to_json(truth))
            d["comparison"] = compare(est, truth)
            text = json.dumps(d, indent=1) + "\n"
        write_text(json_path, text)
        click.echo(f"wrote {json_path}")
    if image is not None:
        write_image(figure, image)
        click.echo(f"wrote {figure}")
