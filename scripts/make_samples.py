"""Write the shipped sample images: 256 x 256 crops of scikit-image's bundled photos.

These two photos are held out of ``scripts/train_reference.py``'s training set.
Run: python scripts/make_samples.py
"""

from __future__ import annotations

from pathlib import Path

from skimage import data

from pngan.io.images import write_image

OUT = Path(__file__).resolve().parents[1] / "pngan" / "assets"

CROPS = {
    "coffee": (data.coffee, (40, 200)),          # 400 x 600: cup and saucer
    "motorcycle": (data.stereo_motorcycle, (150, 300)),  # right view; left view is also held out
}


def main() -> None:
    for name, (fn, (top, left)) in CROPS.items():
        img = fn()
        if isinstance(img, tuple):  # stereo_motorcycle -> (left, right, disparity)
            img = img[1]
        crop = img[top:top + 256, left:left + 256, :3]
        assert crop.shape == (256, 256, 3), crop.shape
        write_image(OUT / f"{name}.png", crop)
        print(f"wrote {OUT / name}.png")


if __name__ == "__main__":
    main()
