#!/usr/bin/env python
"""100 % crops of denoised photos beside the noisy input and the ground truth, one row per image.

    python scripts/phone_crops.py --pairs PATH/sidd12/val --result shipped=OUT_A --result phone=OUT_B \
        --stem sidd-05 --stem sidd-09 --crop 192 --out crops.png

Each ``--result NAME=DIR`` is a ``pngan denoise`` output folder of ``--pairs`` (its ``<id>_<PSNR>dB_<SSIM>.png``
files); columns: noisy | each result | ground truth, the top-left ``--crop`` pixels of each image, with the
mean RGB of the crop under each panel (0-255), so a colour shift shows as numbers too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

LABEL = 14  # height of the text band under each panel


def _result(folder: Path, ident: str) -> Path:
    found = sorted(folder.glob(f"{ident}_*dB_*.png")) or sorted(folder.glob(f"{ident}.png"))
    if not found:
        raise FileNotFoundError(f"{folder}: no result for {ident}")
    return found[0]


def _panel(img: np.ndarray, crop: int, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    c = (np.clip(img[:crop, :crop], 0, 1) * 255).round().astype(np.uint8)
    out = Image.new("RGB", (crop, crop + LABEL), (255, 255, 255))
    out.paste(Image.fromarray(c), (0, 0))
    ImageDraw.Draw(out).text((2, crop + 1), text, fill=(0, 0, 0))
    return np.asarray(out)


def figure(pairs: Path, results: list[tuple[str, Path]], stems: list[str], crop: int) -> np.ndarray:
    """The rows of crops as one uint8 image."""
    from pngan.data import find_pairs
    from pngan.io.images import read_image

    by_id = {p.id: p for p in find_pairs(pairs)}
    rows = []
    for s in stems:
        if s not in by_id:
            raise KeyError(f"{pairs}: no pair {s!r} (have: {', '.join(sorted(by_id))})")
        imgs = [("noisy", read_image(by_id[s].noisy))]
        imgs += [(name, read_image(_result(folder, s))) for name, folder in results]
        imgs.append(("ground truth", read_image(by_id[s].clean)))
        rows.append(np.concatenate([_panel(im, crop, f"{s} {name} " + "/".join(
            str(int(v)) for v in (im[:crop, :crop].reshape(-1, 3).mean(0) * 255).round())) for name, im in imgs], 1))
    return np.concatenate(rows, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--result", action="append", default=[], metavar="NAME=DIR", required=True)
    ap.add_argument("--stem", action="append", default=[], required=True)
    ap.add_argument("--crop", type=int, default=192)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    results = []
    for r in a.result:
        name, eq, folder = r.partition("=")
        if not eq or not Path(folder).is_dir():
            sys.exit(f"error: --result {r!r}: write NAME=DIR with an existing folder")
        results.append((name, Path(folder)))
    from pngan.errors import PnganError
    from pngan.io.images import write_image

    try:
        img = figure(a.pairs, results, a.stem, a.crop)
    except (PnganError, KeyError, FileNotFoundError) as e:
        sys.exit(f"error: {e}")
    write_image(a.out, img.astype(np.float32) / 255.0)
    print(f"wrote {a.out} ({img.shape[1]}x{img.shape[0]})")


if __name__ == "__main__":
    main()
