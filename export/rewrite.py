"""Export-time rewrites: the same function in ops every mobile converter takes.

``subpixel_upsampling(net)`` replaces every transposed convolution whose output is exactly
``stride x`` its input (SMNet's ``ConvTranspose2d(3, stride=2, padding=1, output_padding=1)``)
by a stride-1 convolution producing the ``stride**2`` output phases, then ``PixelShuffle``.
LiteRT cannot legalize the transposed form (``mhlo.convolution`` with ``lhs_dilation``); the
sub-pixel form is the same linear map with the same trained weights, rearranged:

    y[s*m + r] = sum_k x[m + (r + p - k) / s] * w[k]   over taps k with (r + p - k) % s == 0

so phase ``r`` is a correlation of ``x`` with the taps ``w[k]`` at offsets ``d = (r + p - k) / s``.
The model is copied; the original is untouched.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F


def _phase_taps(k: int, s: int, p: int) -> list[list[tuple[int, int]]]:
    """Per output phase ``r``: ``[(offset d, tap k)]`` of a 1-D transposed convolution."""
    return [[((r + p - t) // s, t) for t in range(k) if (r + p - t) % s == 0] for r in range(s)]


def rewritable(m: nn.Module) -> bool:
    """Whether ``m`` is a transposed convolution the sub-pixel form reproduces exactly."""
    if not isinstance(m, nn.ConvTranspose2d) or m.groups != 1 or m.dilation != (1, 1):
        return False
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        return False
    if m.stride[0] != m.stride[1]:
        return False
    for i in range(2):
        k, s, p = m.kernel_size[i], m.stride[i], m.padding[i]
        offsets = [d for taps in _phase_taps(k, s, p) for d, _ in taps]
        if k + m.output_padding[i] - 2 * p != s or min(offsets) > 0 or max(offsets) < 0:
            return False
    return True


class SubPixelConvTranspose2d(nn.Module):
    """``ConvTranspose2d`` (output = stride x input) as zero-pad, stride-1 conv to s*s phases, PixelShuffle."""

    def __init__(self, ct: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not rewritable(ct):
            raise ValueError(f"cannot rewrite {ct} as a sub-pixel convolution")
        (kh, kw), (sh, sw), (ph, pw) = ct.kernel_size, ct.stride, ct.padding
        rows, cols = _phase_taps(kh, sh, ph), _phase_taps(kw, sw, pw)
        dr = [d for taps in rows for d, _ in taps]
        dc = [d for taps in cols for d, _ in taps]
        self.lo_h, self.lo_w = min(dr), min(dc)
        self.hi_h, self.hi_w = max(dr), max(dc)
        self.s = sh
        w = ct.weight.detach()  # C_in, C_out, kh, kw
        cin, cout = w.shape[0], w.shape[1]
        kernel = torch.zeros(cout, sh, sw, cin, self.hi_h - self.lo_h + 1, self.hi_w - self.lo_w + 1, dtype=w.dtype)
        for r, taps_r in enumerate(rows):
            for q, taps_c in enumerate(cols):
                for d, t in taps_r:
                    for e, u in taps_c:
                        kernel[:, r, q, :, d - self.lo_h, e - self.lo_w] = w[:, :, t, u].t()
        self.conv = nn.Conv2d(cin, cout * sh * sw, kernel.shape[-2:], bias=ct.bias is not None)
        self.conv.weight.data.copy_(kernel.reshape(cout * sh * sw, cin, *kernel.shape[-2:]))
        if ct.bias is not None:
            self.conv.bias.data.copy_(ct.bias.detach().repeat_interleave(sh * sw))
        self.shuffle = nn.PixelShuffle(sh)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = (-self.lo_w, self.hi_w, -self.lo_h, self.hi_h)  # zeros outside x, as the transposed form sees
        return self.shuffle(self.conv(F.pad(x, pad) if any(pad) else x))


def subpixel_upsampling(net: nn.Module) -> tuple[nn.Module, int]:
    """A copy of ``net`` with every rewritable transposed convolution in sub-pixel form, and how many.

    The copy keeps ``pngan_name``/``pngan_config``/``pad_multiple``; with nothing to rewrite
    ``net`` itself is returned.
    """
    if not any(rewritable(m) for m in net.modules()):
        return net, 0
    out = copy.deepcopy(net)
    n = 0
    for parent in list(out.modules()):
        for name, child in list(parent.named_children()):
            if rewritable(child):
                setattr(parent, name, SubPixelConvTranspose2d(child))
                n += 1
    return out.eval(), n
