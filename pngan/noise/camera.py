"""Camera-pipeline noise after Brooks et al., "Unprocessing Images for Learned Raw
Denoising" (CVPR 2019).

``unprocess``: sRGB → inverse smoothstep tone curve → inverse gamma 2.2 → sRGB→camera CCM
→ inverse white balance / brightening (highlight-preserving) → clip → RGGB Bayer planes.
``add_raw_noise``: shot/read noise on the raw planes (``Var = shot·x + read``).
``process``: white balance → clip → bilinear demosaic → camera→sRGB CCM → gamma → smoothstep.

Random metadata and noise levels follow the paper's reference implementation: a random convex
combination of four XYZ→camera matrices; red gain U[1.9, 2.4], blue gain U[1.5, 1.9],
brightening 1/N(0.8, 0.1); shot log-uniform in [1e-4, 1.2e-2], read
``log b = 2.18·log a + 1.20 + N(0, 0.26²)``. Unlike the reference ``process``, ours also
re-applies the brightening gain and the smoothstep curve, so ``process(unprocess(x)) ≈ x``
(exact up to highlight/gamut clipping and bilinear demosaicking of fine texture).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

import numpy as np

from pngan.errors import PnganError
from pngan.noise.awgn import RngLike, as_generator, check_image, quantize_8bit

XYZ2CAMS = np.array(
    [
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
        [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
        [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
    ]
)
RGB2XYZ = np.array(  # linear sRGB (D65) -> XYZ
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
SHOT_RANGE = (1e-4, 1.2e-2)
READ_SLOPE, READ_INTERCEPT, READ_JITTER = 2.18, 1.20, 0.26
GAMMA, EPS = 2.2, 1e-8


@dataclass(frozen=True)
class CameraMeta:
    """Random camera metadata drawn by ``unprocess`` and needed by ``process``."""

    rgb2cam: np.ndarray  # 3×3, rows sum to 1
    cam2rgb: np.ndarray  # inverse of rgb2cam
    rgb_gain: float  # brightening
    red_gain: float
    blue_gain: float
    shape: tuple[int, int]  # original H, W (raw planes cover the padded even size)


@dataclass(frozen=True)
class CameraNoiseParams:
    """Raw-domain noise: ``Var[raw] = shot · raw + read``."""

    shot: float
    read: float


def random_meta(rng: RngLike, shape: tuple[int, int]) -> CameraMeta:
    """Random sRGB→camera CCM and white-balance / brightening gains (paper's ranges)."""
    g = as_generator(rng)
    w = g.uniform(1e-8, 1.0, size=len(XYZ2CAMS))
    xyz2cam = np.tensordot(w / w.sum(), XYZ2CAMS, axes=1)
    rgb2cam = xyz2cam @ RGB2XYZ
    rgb2cam = rgb2cam / rgb2cam.sum(axis=1, keepdims=True)
    rgb_gain = 1.0 / float(np.clip(g.normal(0.8, 0.1), 0.5, 1.2))
    red_gain, blue_gain = float(g.uniform(1.9, 2.4)), float(g.uniform(1.5, 1.9))
    return CameraMeta(rgb2cam, np.linalg.inv(rgb2cam), rgb_gain, red_gain, blue_gain, shape)


def sample_noise_params(rng: RngLike) -> CameraNoiseParams:
    """Shot log-uniform in [1e-4, 1.2e-2]; read on the paper's log-log line with jitter."""
    g = as_generator(rng)
    log_shot = g.uniform(np.log(SHOT_RANGE[0]), np.log(SHOT_RANGE[1]))
    log_read = READ_SLOPE * log_shot + READ_INTERCEPT + g.normal(0.0, READ_JITTER)
    return CameraNoiseParams(float(np.exp(log_shot)), float(np.exp(log_read)))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 3.0 * x**2 - 2.0 * x**3


def _inverse_smoothstep(y: np.ndarray) -> np.ndarray:
    y = np.clip(y, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * y) / 3.0)


def _apply_ccm(img: np.ndarray, ccm: np.ndarray) -> np.ndarray:
    return img @ ccm.T


def _mosaic(img: np.ndarray) -> np.ndarray:
    """H×W×3 (H, W even) → H/2×W/2×4 RGGB planes."""
    planes = [img[0::2, 0::2, 0], img[0::2, 1::2, 1], img[1::2, 0::2, 1], img[1::2, 1::2, 2]]
    return np.stack(planes, axis=-1)


def _conv3(p: np.ndarray, k: np.ndarray) -> np.ndarray:
    """3×3 correlation with zero padding."""
    h, w = p.shape
    pp = np.pad(p, 1)
    return sum(k[i, j] * pp[i : i + h, j : j + w] for i in range(3) for j in range(3) if k[i, j])


_K_RB = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
_K_G = np.array([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]])


def demosaic(raw: np.ndarray) -> np.ndarray:
    """Bilinear demosaic of h×w×4 RGGB planes to 2h×2w×3 (normalized convolution at borders)."""
    h, w, _ = raw.shape
    out = np.empty((2 * h, 2 * w, 3), dtype=raw.dtype)
    sites = {0: [(0, 0, 0)], 1: [(1, 0, 1), (2, 1, 0)], 2: [(3, 1, 1)]}  # channel: (plane, dy, dx)
    for c, planes in sites.items():
        cfa = np.zeros((2 * h, 2 * w), dtype=np.float64)
        mask = np.zeros_like(cfa)
        for plane, dy, dx in planes:
            cfa[dy::2, dx::2] = raw[..., plane]
            mask[dy::2, dx::2] = 1.0
        k = _K_G if c == 1 else _K_RB
        out[..., c] = _conv3(cfa, k) / _conv3(mask, k)
    return out


def unprocess(img: np.ndarray, rng: RngLike) -> tuple[np.ndarray, CameraMeta]:
    """sRGB H×W×3 in [0, 1] → (ceil(H/2)×ceil(W/2)×4 RGGB linear raw in [0, 1], metadata)."""
    x = check_image(img).astype(np.float64)
    h, w, _ = x.shape
    meta = random_meta(rng, (h, w))
    pad = ((0, h % 2), (0, w % 2), (0, 0))
    x = np.pad(x, pad, mode="reflect" if min(h, w) > 1 else "edge")
    x = np.maximum(_inverse_smoothstep(x), EPS) ** GAMMA
    x = _apply_ccm(x, meta.rgb2cam)
    gains = np.array([1.0 / meta.red_gain, 1.0, 1.0 / meta.blue_gain]) / meta.rgb_gain
    gray = x.mean(axis=-1, keepdims=True)
    mask = (np.maximum(gray - 0.9, 0.0) / 0.1) ** 2  # keep highlights from being dimmed
    x = x * np.maximum(mask + (1.0 - mask) * gains, gains)
    return _mosaic(np.clip(x, 0.0, 1.0)).astype(np.float32), meta


def process(raw: np.ndarray, meta: CameraMeta) -> np.ndarray:
    """h×w×4 RGGB raw → sRGB H×W×3 float32 in [0, 1] (cropped to ``meta.shape``)."""
    if raw.ndim != 3 or raw.shape[2] != 4:
        raise PnganError(f"expected h×w×4 RGGB planes, got shape {raw.shape}")
    gains = np.array([meta.red_gain, 1.0, 1.0, meta.blue_gain]) * meta.rgb_gain
    x = np.clip(raw.astype(np.float64) * gains, 0.0, 1.0)
    x = _apply_ccm(demosaic(x), meta.cam2rgb)
    x = np.maximum(np.clip(x, 0.0, 1.0), EPS) ** (1.0 / GAMMA)
    x = np.clip(_smoothstep(x), 0.0, 1.0)
    h, w = meta.shape
    return x[:h, :w].astype(np.float32)


def add_raw_noise(raw: np.ndarray, params: CameraNoiseParams, rng: RngLike) -> np.ndarray:
    """``raw + sqrt(shot·raw + read) · n`` (the paper's heteroscedastic Gaussian model)."""
    var = np.maximum(params.shot * raw + params.read, 0.0)
    n = as_generator(rng).standard_normal(raw.shape)
    return (raw + np.sqrt(var) * n).astype(np.float32)


ParamsLike = Union[CameraNoiseParams, Mapping[str, float], tuple, None]


def _resolve(params: ParamsLike, rng: np.random.Generator) -> CameraNoiseParams:
    if params is None:
        return sample_noise_params(rng)
    try:
        if isinstance(params, CameraNoiseParams):
            p = params
        elif isinstance(params, Mapping):
            p = CameraNoiseParams(float(params["shot"]), float(params["read"]))
        else:
            shot, read = params
            p = CameraNoiseParams(float(shot), float(read))
    except (KeyError, TypeError, ValueError):
        raise PnganError(f"camera params must give shot and read, got {params!r}") from None
    if not (np.isfinite(p.shot) and np.isfinite(p.read) and p.shot >= 0 and p.read >= 0):
        raise PnganError(f"camera noise shot/read must be finite and >= 0, got {p}")
    return p


def add_camera_noise(
    img: np.ndarray,
    rng: RngLike,
    params: ParamsLike = None,
    quantize: bool = True,
) -> np.ndarray:
    """Realistic camera noise: unprocess → raw shot/read noise → process (→ 8-bit quantize).

    ``params``: ``CameraNoiseParams``, ``{"shot", "read"}`` or ``(shot, read)``; random if None.
    """
    g = as_generator(rng)
    raw, meta = unprocess(img, g)
    noisy = add_raw_noise(raw, _resolve(params, g), g)
    out = process(noisy, meta)
    return quantize_8bit(out) if quantize else out
