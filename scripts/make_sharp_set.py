"""Write sharp clean images from what scikit-image installs: ``train/`` for training, ``held/`` to score.

The PolyU ground truths are averages of hundreds of frames and soft; these are sharp photographs and
textures, for ``experimental.sharp_content`` (stage pngan, a trial) and ``data.clean_dir`` (stage denoiser). ``held/`` is
never trained on (a portrait, fur, gravel and text). The shipped samples (``pngan/assets``: coffee,
motorcycle) and the other view of the motorcycle stereo pair are left out, so the demo's images stay unseen::

    python scripts/make_sharp_set.py --out SHARP
    pngan train pngan --config scripts/configs/trials/smnet-s_sharp.toml ... data.clean_dir=SHARP/train
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# skimage.data file names (no download); grey ones are copied to R = G = B
TRAIN = ("rocket.jpg", "hubble_deep_field.jpg", "ihc.png", "retina.jpg", "brick.png", "grass.png", "camera.png",
         "moon.png", "coins.png")
HELD = ("astronaut.png", "chelsea.png", "gravel.png", "page.png")
LEFT_OUT = ("coffee.png", "motorcycle_left.png", "motorcycle_right.png")  # the shipped samples


def make_sharp_set(out: Path) -> list[Path]:
    """Write :data:`TRAIN` to ``out/train`` and :data:`HELD` to ``out/held`` as 8-bit RGB PNGs."""
    import skimage.data
    from skimage.io import imread

    from pngan.io.images import write_image

    root = Path(skimage.data.__file__).parent
    written = []
    for name in TRAIN + HELD:
        img = imread(root / name)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = img[..., :3].astype(np.float32) / 255.0
        dst = out / ("train" if name in TRAIN else "held") / f"{Path(name).stem}.png"
        write_image(dst, img)
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder to write (created; must not hold images)")
    a = ap.parse_args(argv)
    if a.out.exists() and any(a.out.iterdir()):
        print(f"error: {a.out}: folder is not empty", file=sys.stderr)
        return 2
    files = make_sharp_set(a.out)
    print(f"{len(files)} images -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
