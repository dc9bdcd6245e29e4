"""Helpers shared by the targets that go through ``torch.export`` (ExecuTorch, LiteRT)."""

from __future__ import annotations

import re

import torch.nn as nn

from pngan.errors import PnganError, first_line


def size_step(net: nn.Module) -> int:
    """The multiple H and W must be for exact parity (the network's down-sampling factor; 1 for DnCNN)."""
    return max(1, int(getattr(net, "pad_multiple", 1)))


def operator_error(e: BaseException, what: str) -> PnganError:
    """One line for a model a converter cannot take, naming the operator when the message does."""
    op = re.search(r"aten[._:]+\w+(?:\.\w+)?", str(e))
    if op:
        return PnganError(f"{what}: operator {op.group(0).replace('::', '.')} is not supported "
                          f"({first_line(e, 160)})")
    return PnganError(f"{what}: {first_line(e, 240)}")
