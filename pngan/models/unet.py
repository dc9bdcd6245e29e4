"""The U-Net skeleton the blind denoiser families share (NAFUNet, ResUNet); each supplies its block.

    x ─ pad to 2**levels ─ intro 3x3 ─┬─ blocks ─ down ─┬─ blocks ─ down ─ ... ─ middle blocks
                                      │ (skip)          │ (skip)                     │
    out = x + crop(ending 3x3 ─ blocks ─ (up + skip) ─ ... ─ blocks ─ (up + skip) ───┘)

    down = 2x2 conv, stride 2 (channels x2)
    up   = 1x1 conv (channels x2) + PixelShuffle(2) (channels /2 overall)
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn

from pngan.models.padding import crop_to, pad_to_multiple


class Down(nn.Module):
    """2x2 convolution with stride 2: half the size, twice the channels."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, 2 * c, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Up(nn.Module):
    """1x1 convolution to twice the channels, then PixelShuffle(2): twice the size, half the channels."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, 2 * c, 1, bias=False)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def block_counts(value: Sequence[int] | int, name: str) -> list[int]:
    """``value`` as a non-empty list of integers >= 0; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name} must be a non-empty list of block counts, got {value!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise ValueError(f"{name} must hold integers >= 0, got {value!r}")
    return list(value)


def positive_int(value: int, name: str) -> int:
    """``value`` if it is an integer >= 1; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


class UNet(nn.Module):
    """``out = x + ending(decoder(middle(encoder(intro(x)))))``; any H x W (padded to ``2**levels``, cropped back).

    ``enc_blocks``/``dec_blocks`` give the blocks per level (top level first, one count per level
    each), ``middle_blocks`` those at the lowest resolution; channels are ``width * 2**level``.
    ``stack(c, n)`` builds ``n`` blocks of ``c`` channels.
    """

    def __init__(self, in_channels: int, width: int, enc_blocks: Sequence[int], middle_blocks: int,
                 dec_blocks: Sequence[int], stack: Callable[[int, int], nn.Module]) -> None:
        super().__init__()
        in_channels, width = positive_int(in_channels, "in_channels"), positive_int(width, "width")
        enc, dec = block_counts(enc_blocks, "enc_blocks"), block_counts(dec_blocks, "dec_blocks")
        if len(enc) != len(dec):
            raise ValueError(f"enc_blocks and dec_blocks need one count per level each, got {enc} and {dec}")
        if isinstance(middle_blocks, bool) or not isinstance(middle_blocks, int) or middle_blocks < 0:
            raise ValueError(f"middle_blocks must be an integer >= 0, got {middle_blocks!r}")
        self.pad_multiple = 2 ** len(enc)
        # widest activation per input pixel, for pngan.runtimes.autotile's memory estimate: lower levels hold
        # 2x the channels on 1/4 the pixels, so the full-resolution width bounds it (families with wider
        # blocks override it)
        self.widest_per_pixel = width
        self.intro = nn.Conv2d(in_channels, width, 3, padding=1)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        c = width
        for n in enc:
            self.encoders.append(stack(c, n))
            self.downs.append(Down(c))
            c *= 2
        self.middle = stack(c, middle_blocks)
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        for n in reversed(dec):
            self.ups.append(Up(c))
            c //= 2
            self.decoders.append(stack(c, n))
        self.ending = nn.Conv2d(width, in_channels, 3, padding=1)
        nn.init.normal_(self.ending.weight, std=1e-3)  # start near the identity: out ≈ input
        nn.init.zeros_(self.ending.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.intro(pad_to_multiple(x, self.pad_multiple))
        skips = []
        for enc, down in zip(self.encoders, self.downs):
            h = enc(h)
            skips.append(h)
            h = down(h)
        h = self.middle(h)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            h = dec(up(h) + skip)
        return x + crop_to(self.ending(h), x)
