"""Leave-one-camera-out split of a PolyU-style dataset, as symbolic links (nothing is copied).

    python scripts/loco_split.py --root PATH/polyu100 --camera Sony --out runs/loco-sony

``--root`` holds ``train/`` and ``val/`` (each ``input/`` + ``groundtruth/``); the camera is the file
name's prefix before the first ``_`` (``Sony_...``, ``Canon5D2_...``). Writes ``OUT/train`` (train/
without that camera), ``OUT/val`` (val/ without it: model selection) and ``OUT/held`` (every pair of
that camera from both: never trained or selected on). An existing ``--out`` is refused.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def split(root: Path, camera: str, out: Path) -> dict[str, int]:
    """Make the three linked folders; returns the number of pairs in each."""
    if out.exists():
        sys.exit(f"error: {out} exists; choose another --out")
    counts = {"train": 0, "val": 0, "held": 0}
    plan = []
    for part in ("train", "val"):
        for side in ("input", "groundtruth"):
            for f in sorted((root / part / side).iterdir()):
                held = f.name.split("_", 1)[0] == camera
                dest = "held" if held else part
                plan.append((f, out / dest / side / f.name))
                if side == "input":
                    counts[dest] += 1
    if counts["held"] == 0:
        cams = sorted({f.name.split("_", 1)[0] for f, _ in plan})
        sys.exit(f"error: no pair of camera {camera!r} in {root}; cameras: {', '.join(cams)}")
    for src, dst in plan:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(src.resolve(), dst)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--camera", required=True)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    print(split(a.root, a.camera, a.out))


if __name__ == "__main__":
    main()
