"""Generating a folder of realistic noisy images from clean ones (``pngan generate``), seeded per image.

Sample ``k`` of image ``F`` in a run seeded ``S`` uses :func:`pngan.models.inputs.sample_seed` ``(S, F, k)``,
so results do not depend on the order or number of files; results drop the clean role token
(``x_GT.png`` -> ``x.png``). The checks in :func:`check_arguments` need only the standard library; torch is
imported when the run starts.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pngan.errors import PnganError, PnganWarning, WriteError


@dataclass
class GenerateReport:
    """What a folder generate did: the generator's name, images written, and the failures."""

    generator: str
    out: Path
    total: int
    written: int = 0
    failed: list[str] = field(default_factory=list)


def check_arguments(input_dir: str | os.PathLike, weights: str | os.PathLike | None = None,
                    artifact: str | os.PathLike | None = None, samples: int = 1, device: str = "cpu",
                    strength: float = 1.0) -> Path | None:
    """The checks that need no model; returns the weights file (a shipped name resolved), if any."""
    from pngan.weights import names, resolve

    if samples < 1:
        raise PnganError("--samples must be >= 1")
    if not (strength > 0 and strength != float("inf")):
        raise PnganError(f"--strength must be a positive number, got {strength}")
    if weights is not None and artifact is not None:
        raise PnganError("give --weights (PyTorch) or --artifact FOLDER (an exported generator), not both")
    if artifact is not None and device != "cpu":
        raise PnganError("--device applies to --weights; an artifact runs on its backend's device")
    path = None
    if weights is not None:
        path = resolve(weights)
        if not path.exists():
            bare = Path(weights).parent == Path(".") and not Path(weights).suffix
            raise PnganError(f"{weights}: no such weights file" + (f" (shipped: {', '.join(names())})" if bare else ""))
    if not Path(input_dir).exists():  # before numpy, Pillow and torch are imported: an argument error is instant
        raise PnganError(f"{input_dir}: no such folder or image file")
    return path


def clean_images(input_dir: Path) -> list[Path]:
    """The clean images: ``input_dir`` itself (one image file), its images, or a paired root's clean folder
    (e.g. ``groundtruth/`` of ``input/`` + ``groundtruth/``, with a warning)."""
    from pngan.io.images import IMAGE_SUFFIXES, list_images

    if input_dir.is_file():
        if input_dir.suffix.lower() not in IMAGE_SUFFIXES:
            raise PnganError(f"{input_dir}: neither a folder nor an image file ({', '.join(IMAGE_SUFFIXES)})")
        return [input_dir]
    if input_dir.is_dir() and not any(f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES for f in input_dir.iterdir()):
        from pngan.data.pairs import LAYOUTS

        for noisy, clean in LAYOUTS:
            if (input_dir / noisy).is_dir() and (input_dir / clean).is_dir():
                warnings.warn(f"{input_dir} holds noisy/clean pairs: generating from its clean images in "
                              f"{input_dir / clean} ({noisy}/ is not used)", PnganWarning, stacklevel=2)
                return list_images(input_dir / clean)
    return list_images(input_dir)  # says what is wrong, if anything


def result_names(stem: str, samples: int) -> list[str]:
    """The files written for one clean image: ``<stem>.png``, or ``<stem>_<k>.png`` for several samples."""
    return [f"{stem}.png"] if samples == 1 else [f"{stem}_{k}.png" for k in range(samples)]


def generate_folder(input_dir: str | os.PathLike, out: str | os.PathLike, *, weights: str | os.PathLike | None = None,
                    artifact: str | os.PathLike | None = None, seed: int = 0, samples: int = 1, device: str = "cpu",
                    on_failure: Callable[[str], None] | None = None, strength: float = 1.0,
                    like: str | os.PathLike | None = None) -> GenerateReport:
    """Write ``samples`` fake noisy images per clean image of ``input_dir`` to ``out``; returns the report.

    The generator is ``weights`` (default: the shipped one) in PyTorch, or the exported ``artifact``; ``like``
    tells a generator conditioned on a fingerprint (smnet-c) the camera (noisy photos, a JSON, a preset).
    A bad image (unreadable, NaN output) is passed to ``on_failure`` and listed in ``report.failed``;
    the others are still written. A write failure (full disk, read-only folder) stops the run.
    """
    input_dir, out = Path(input_dir), Path(out)
    weights = check_arguments(input_dir, weights, artifact, samples, device, strength)
    from pngan.data.pairs import CLEAN_TOKENS, result_stems
    from pngan.io.output_dir import refuse_overlap, refuse_overwriting_inputs
    from pngan.generate.sampler import open_generator
    from pngan.models.inputs import sample_seed
    from pngan.io.images import read_image, write_image
    from pngan.progress import progress

    files = clean_images(input_dir)
    stems = result_stems(files, CLEAN_TOKENS, "clean")
    refuse_overwriting_inputs(out, files, [n for s in stems for n in result_names(s, samples)])
    refuse_overlap(input_dir, out)  # results inside the input would be read as inputs next time
    gen = open_generator(weights, artifact, device, strength, like)
    report = GenerateReport(gen.name, out, len(files))
    try:
        for f, stem in progress(list(zip(files, stems)), desc="generate", unit="img", leave=False):
            try:
                clean = read_image(f)
                for k, name in enumerate(result_names(stem, samples)):
                    write_image(out / name, gen(clean, sample_seed(seed, f.name, k)))
                    report.written += 1
            except WriteError:
                raise  # a full disk or read-only folder: stop
            except PnganError as e:  # unreadable, or NaN from broken weights: this image only
                text = str(e)
                report.failed.append(text if f.name in text else f"{f.name}: {text}")
                if on_failure is not None:
                    on_failure(report.failed[-1])
    finally:
        gen.close()
    return report
