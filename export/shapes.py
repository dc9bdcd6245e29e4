"""Input shapes: fixed ``H x W`` or a dynamic range (min/opt/max) used for profiles and range dims."""

from __future__ import annotations

from dataclasses import dataclass

from pngan.errors import PnganError

HW = tuple[int, int]
DEFAULT_MIN: HW = (16, 16)
DEFAULT_OPT: HW = (256, 256)
DEFAULT_MAX: HW = (2048, 2048)


def parse_sizes(text: str) -> tuple[HW, ...]:
    """``"256x256,512x384"`` (H x W each) -> ``((256, 256), (512, 384))``; ``PnganError`` on a typo."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        h, sep, w = part.lower().partition("x")
        if not (sep and h.strip().isdigit() and w.strip().isdigit()) or min(int(h), int(w)) < 1:
            raise PnganError(f"sizes must be HxW[,HxW...] with sizes >= 1 (e.g. 256x256,512x512), got {text!r}")
        out.append((int(h), int(w)))
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class ShapeSpec:
    """``fixed`` set: every backend gets that H x W; else H x W in ``[min_hw, max_hw]`` tuned for ``opt_hw``.

    Batch stays dynamic (ONNX, OpenVINO) or ranges over ``1..max_batch`` (TensorRT profile).
    ``sizes`` are the fixed-size signatures of targets without dynamic shapes (LiteRT);
    default: ``fixed``, else the opt shape and twice it (within the max). ``max_hw=None``
    leaves the upper bound to the target (``hw_range(default_max)``).
    """

    fixed: HW | None = None
    min_hw: HW = DEFAULT_MIN
    opt_hw: HW = DEFAULT_OPT
    max_hw: HW | None = None  # None: the target's default (DEFAULT_MAX; ExecuTorch plans memory for it: 1024)
    opt_batch: int = 1
    max_batch: int = 1
    sizes: tuple[HW, ...] | None = None

    def __post_init__(self) -> None:
        if self.sizes is not None and (not self.sizes or any(len(s) != 2 or min(s) < 1 for s in self.sizes)):
            raise PnganError(f"signature sizes must be H W pairs >= 1, got {self.sizes}")
        for name, hw in (("input shape", self.fixed), ("min shape", self.min_hw), ("opt shape", self.opt_hw),
                         ("max shape", self.max_hw)):
            if hw is not None and (len(hw) != 2 or min(hw) < 1):
                raise PnganError(f"{name} must be two sizes >= 1 (H W), got {hw}")
        if self.fixed is None:
            hi = self.max_hw or (max(DEFAULT_MAX[0], self.opt_hw[0]), max(DEFAULT_MAX[1], self.opt_hw[1]))
            for i, dim in enumerate(("height", "width")):
                if not self.min_hw[i] <= self.opt_hw[i] <= hi[i]:
                    raise PnganError(f"{dim}: need min <= opt <= max, got {self.min_hw[i]}, {self.opt_hw[i]}, {hi[i]}")
        if not 1 <= self.opt_batch <= self.max_batch:
            raise PnganError(f"need 1 <= opt batch <= max batch, got {self.opt_batch}, {self.max_batch}")

    @property
    def dynamic(self) -> bool:
        return self.fixed is None

    @property
    def dynamic_dims(self) -> list[str]:
        return ["batch"] if self.fixed else ["batch", "height", "width"]

    @property
    def calib_hw(self) -> HW:
        """Crop size of calibration data: the export resolution (fixed, else opt)."""
        return self.fixed or self.opt_hw

    def hw_range(self, default_max: HW = DEFAULT_MAX) -> tuple[HW, HW, HW]:
        """``(min, opt, max)`` H x W (all equal when fixed); ``default_max`` when no max was given (never below opt)."""
        if self.fixed:
            return self.fixed, self.fixed, self.fixed
        hi = self.max_hw or (max(default_max[0], self.opt_hw[0]), max(default_max[1], self.opt_hw[1]))
        return self.min_hw, self.opt_hw, hi

    def profile(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """TensorRT optimization profile: ``(min, opt, max)`` NCHW shapes of the input."""
        lo, opt, hi = self.hw_range()
        return (1, 3, *lo), (self.opt_batch, 3, *opt), (self.max_batch, 3, *hi)

    def signature_sizes(self) -> tuple[HW, ...]:
        """The fixed sizes of a signature-based target (see the class docstring)."""
        if self.sizes:
            return tuple(self.sizes)
        if self.fixed:
            return (self.fixed,)
        hi = self.hw_range()[2]
        twice = (min(2 * self.opt_hw[0], hi[0]), min(2 * self.opt_hw[1], hi[1]))
        return tuple(dict.fromkeys((self.opt_hw, twice)))

    def summary(self, kind: str = "range") -> dict:
        """Manifest fields: ``input_shape`` or ``shape_range``; ``kind="sizes"``: ``signatures``."""
        if kind == "sizes":
            return {"signatures": [[1, 3, h, w] for h, w in self.signature_sizes()]}
        if self.fixed:
            return {"input_shape": [1, 3, *self.fixed]}
        lo, opt, hi = self.hw_range()
        return {"shape_range": {"min": list(lo), "opt": list(opt), "max": list(hi)}}
