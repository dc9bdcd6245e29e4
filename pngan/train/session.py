"""Where and how a run executes: device, threads, autocast, DDP, logging (rank 0 only)."""

from __future__ import annotations

import contextlib
import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn

from pngan.errors import PnganError
from pngan.train.config import RunConfig


@dataclass
class Session:
    """Per-process run context."""

    device: torch.device
    rank: int = 0
    world: int = 1
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False
    out: Path = Path("runs")
    writer: Any = None
    _csv_fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def any_rank(self, flag: bool) -> bool:
        """``flag`` or-ed over every process (one tiny all-reduce when distributed), so all ranks stop together."""
        if self.world <= 1 or not dist.is_initialized():
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def to_device(self, t: torch.Tensor) -> torch.Tensor:
        t = t.to(self.device, non_blocking=True)
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last else t

    def prepare(self, model: nn.Module, train: bool = True, compile: bool = False) -> nn.Module:
        """Move to device (channels_last on CUDA), optionally compile, wrap in DDP when distributed."""
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if compile:
            model = torch.compile(model)
        if train and self.world > 1:
            model = nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        return model

    def log(self, step: int, scalars: dict[str, float], csv_name: str = "losses.csv") -> None:
        """Append scalars to ``out/<csv_name>`` and TensorBoard (rank 0)."""
        if not self.is_main:
            return
        row = {"step": step, **{k: f"{v:.6g}" for k, v in scalars.items()}}
        path = self.out / csv_name
        new = not path.exists()
        fields = self._csv_fields.setdefault(csv_name, list(row))
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
        if self.writer is not None:
            for k, v in scalars.items():
                self.writer.add_scalar(k, v, step)

    def open_writer(self) -> None:
        """TensorBoard under ``out/tb`` (rank 0, with the 'train' extra): only once the run has started."""
        if not self.is_main or self.writer is not None:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return  # the 'train' extra (tensorboard) is optional; CSV is always written
        self.writer = SummaryWriter(str(self.out / "tb"))

    def log_images(self, step: int, tag: str, grid: torch.Tensor) -> None:
        if self.is_main and self.writer is not None:
            self.writer.add_image(tag, grid.clamp(0, 1), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DDP / torch.compile wrappers."""
    model = getattr(model, "module", model)
    return getattr(model, "_orig_mod", model)


def process_rank() -> int:
    """This process's rank (``RANK``, set by torchrun); 0 alone writes the run folder."""
    return int(os.environ.get("RANK", "0"))


def start_session(run: RunConfig, out: Path) -> Session:
    """Pick the device, threads and autocast; join the process group when launched by torchrun.

    Rank 0 creates ``out`` and checks it is writable; the TensorBoard writer comes with ``open_writer()``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = process_rank()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    want = run.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        raise PnganError("run.device=cuda but no CUDA device is available")
    device = torch.device(f"cuda:{local}" if want == "cuda" else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    else:
        cores = os.cpu_count() or 1
        torch.set_num_threads(run.threads or max(1, cores // max(1, world)))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    amp = {"auto": torch.bfloat16 if device.type == "cuda" else None, "bf16": torch.bfloat16,
           "fp16": torch.float16, "off": None}
    if run.amp not in amp:
        raise PnganError(f"run.amp must be one of {', '.join(amp)}, got {run.amp!r}")
    s = Session(device=device, rank=rank, world=world, amp_dtype=amp[run.amp],
                channels_last=run.channels_last and device.type == "cuda", out=out)
    if s.is_main:
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise PnganError(f"{out}: output folder is not writable ({e.strerror})") from None
    return s
