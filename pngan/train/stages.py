"""The three training stages: ``denoiser`` (real pairs), ``pngan`` (adversarial SMNet), ``finetune`` (generated pairs)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from pngan.data.clean import clean_images
from pngan.data.pairs import Pair, find_pairs
from pngan.errors import PnganError
from pngan.generate.sampler import noise_input
from pngan.models.inputs import sample_seed
from pngan.io.images import read_image
from pngan.metrics import akld, psnr
from pngan.models import build, load_model
from pngan.models.smnet_cond import takes_fingerprint
from pngan.models.smnet_noise import takes_noise
from pngan.realism.condition import per_image_vectors
from pngan.train.blind import BlindMix, blind_bank
from pngan.train.config import TrainConfig
from pngan.train.data import CropBank, folder_and_repeat, step_generator, training_pairs
from pngan.train.qat import check_qat_session, qat_graph
from pngan.train.loss_table import StepTerms, stage_losses, weighted_sum
from pngan.train.losses import content_change_loss, ragan_d_loss
from pngan.train.session import Session, unwrap


def _schedule(opt: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    steps, floor = max(1, cfg.optim.steps), cfg.optim.min_lr_ratio
    if cfg.optim.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    if cfg.optim.schedule != "cosine":
        raise PnganError(f"optim.schedule must be 'cosine' or 'constant', got {cfg.optim.schedule!r}")
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))


def _val_pairs(cfg: TrainConfig) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Held-out (id, noisy, clean) centre crops of ``run.val_crop`` (0: whole images); the training pairs
    when no val_dir is set."""
    root = cfg.data.val_dir or folder_and_repeat(cfg.data.train_dir, "data.train_dir")[0]  # PATH*K: PATH
    if not root:
        return []
    out = []
    crop = cfg.run.val_crop
    for p in find_pairs(root):
        n, c = read_image(p.noisy), read_image(p.clean)
        if crop > 0:
            h, w = n.shape[:2]
            top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
            n, c = n[top:top + crop, left:left + crop], c[top:top + crop, left:left + crop]
        out.append((Path(p.clean).name, n, c))  # named as eval-noise names samples (by the clean file)
    return out


def bank_fingerprints(bank: CropBank) -> np.ndarray:
    """(images, COND_DIM) the fingerprint of each noisy image of a bank, each distinct image measured once."""
    first: dict[int, int] = {}
    for i, t in enumerate(bank.noisy):
        first.setdefault(id(t), i)
    distinct = sorted(set(first.values()))
    imgs = [bank.noisy[i].permute(1, 2, 0).cpu().numpy().astype(np.float32) / 255.0 for i in distinct]
    vecs = dict(zip(distinct, per_image_vectors(imgs, [f"training image {i + 1}" for i in distinct])))
    return np.stack([vecs[first[id(t)]] for t in bank.noisy])


def _adam(params, lr: float, cfg: TrainConfig, device: torch.device) -> torch.optim.Adam:
    """Adam with the config's betas; the fused kernel on CUDA (one launch for all parameters)."""
    return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.optim.betas),
                            fused=cfg.optim.fused and device.type == "cuda")


def _to_batch(img: np.ndarray, s: Session) -> torch.Tensor:
    return s.to_device(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None])


def _to_img(t: torch.Tensor) -> np.ndarray:
    return t[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


class Stage:
    """Common parts: config, session, the batch source and what gets checkpointed."""

    name = "stage"

    def __init__(self, cfg: TrainConfig, session: Session) -> None:
        self.cfg, self.s = cfg, session
        self.scaler = torch.amp.GradScaler(enabled=session.amp_dtype == torch.float16)
        self.losses = stage_losses(self.name)  # this stage's rows of the loss table

    def _bank(self, **kwargs: Any) -> CropBank:
        """The step-indexed crop source; on CUDA with ``data.on_device`` the images live on the GPU."""
        d = self.cfg.data
        bank = CropBank(patch=d.patch, batch=d.batch, seed=self.cfg.run.seed, rank=self.s.rank, align=d.crop_align,
                        **kwargs)
        return bank.to(self.s.device) if d.on_device and self.s.device.type == "cuda" else bank

    def _step_opt(self, loss: torch.Tensor, opt: torch.optim.Optimizer, params) -> None:
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(opt)
        if self.cfg.optim.grad_clip > 0:
            nn.utils.clip_grad_norm_(params, self.cfg.optim.grad_clip)
        self.scaler.step(opt)

    def modules(self) -> dict[str, Any]:
        raise NotImplementedError

    def arch(self) -> dict[str, Any]:
        raise NotImplementedError

    def export_model(self) -> tuple[nn.Module, dict[str, Any]]:
        raise NotImplementedError


class DenoiserStage(Stage):
    """Train or finetune a denoiser with L1 on (noisy, clean) pairs."""

    name = "denoiser"
    best_metric = ("val/psnr", 1.0)  # higher is better

    def __init__(self, cfg: TrainConfig, session: Session, pairs: list[Pair] | None = None) -> None:
        super().__init__(cfg, session)
        m = cfg.model
        if m.denoiser_weights:
            net = load_model(m.denoiser, None if m.denoiser_weights == "shipped" else m.denoiser_weights)
        else:
            net = build(m.denoiser, **m.denoiser_config)
        self.net_plain = net.train()
        self.net = session.prepare(net, compile=cfg.run.compile)
        self.qat = None  # model.qat: the training forward with INT8 fake quantization, sharing self.net's weights
        if m.qat:
            check_qat_session(session.amp_dtype, session.world, cfg.run.compile)
            self.qat = qat_graph(self.net, cfg.data.patch, cfg.data.batch, session.device, cfg.experimental.qat_ranges)
        self.opt = _adam(self.net.parameters(), cfg.optim.lr_g, cfg, session.device)
        self.sched = _schedule(self.opt, cfg)
        if pairs is None:
            pairs = training_pairs(cfg.data.train_dir, cfg.data.train_more)
        if BlindMix.from_config(cfg).synthetic:  # real pairs mixed with generator/camera pairs
            self.bank = blind_bank(cfg, pairs, session.rank)
        else:
            self.bank = self._bank(pairs=pairs)
        self.val = _val_pairs(cfg)

    def forward_train(self, noisy: torch.Tensor) -> torch.Tensor:
        """The training forward: the network, or with ``model.qat`` its fake-quantized graph."""
        return self.net(noisy) if self.qat is None else self.qat(noisy)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        noisy, clean = self.s.to_device(batch["noisy"]), self.s.to_device(batch["clean"])
        loss, terms = weighted_sum(self.losses, self.cfg, StepTerms(self, step, noisy, clean))
        self._step_opt(loss, self.opt, self.net.parameters())
        self.scaler.update()
        self.sched.step()
        return {**{f"loss/{k}": v.item() for k, v in terms.items()}, "lr": self.sched.get_last_lr()[0]}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        net = unwrap(self.net).eval()
        before, after = [], []
        for name, noisy, clean in self.val:
            with self.s.autocast():
                y = _to_img(net(_to_batch(noisy, self.s)))
            if not np.isfinite(y).all():  # e.g. activations that overflow on a whole image the crops never showed
                raise PnganError(f"validation: the model's output on {name} is not finite (the training diverged); "
                                 f"the last checkpoint is kept")
            before.append(psnr(noisy, clean))
            after.append(psnr(y, clean))
        net.train()
        return {"val/psnr_noisy": float(np.mean(before)), "val/psnr": float(np.mean(after))} if self.val else {}

    def modules(self) -> dict[str, Any]:
        return {"net": unwrap(self.net), "opt": self.opt, "sched": self.sched, "scaler": self.scaler,
                "qat": self.qat}

    def arch(self) -> dict[str, Any]:
        n = unwrap(self.net)
        return {"denoiser": n.pngan_name, "config": n.pngan_config, **({"qat": "int8"} if self.qat is not None else {})}

    def export_model(self) -> tuple[nn.Module, dict[str, Any]]:
        return unwrap(self.net), {"stage": self.name}


class FinetuneStage(DenoiserStage):
    """Generate noisy images from clean folders with a trained generator, then finetune a denoiser on them."""

    name = "finetune"

    def __init__(self, cfg: TrainConfig, session: Session) -> None:
        from pngan.generate.sampler import generate
        from pngan.io.images import write_image

        if not cfg.data.clean_dir:
            raise PnganError("data.clean_dir is not set (clean images to generate noisy ones from)")
        if not cfg.model.generator_weights:
            raise PnganError("model.generator_weights is not set (weights of a trained generator)")
        gen = load_model(None, cfg.model.generator_weights).to(session.device)
        out = Path(cfg.run.out_dir) / "generated"
        pairs = []
        for f in clean_images(cfg.data.clean_dir):
            clean = read_image(f)
            for k in range(cfg.run.finetune_samples):
                noisy_path = out / "input" / f"{f.stem}_{k}.png"
                if not noisy_path.exists():
                    write_image(noisy_path, generate(gen, clean, seed=sample_seed(cfg.run.seed, f.name, k),
                                                         device=str(session.device)))
                pairs.append(Pair(f"{f.stem}_{k}", noisy_path, Path(f)))
        super().__init__(cfg, session, pairs=pairs)


class PnganStage(Stage):
    """Adversarial training of the generator with a pixel-level discriminator and a frozen real denoiser."""

    name = "pngan"
    best_metric = ("val/akld", -1.0)  # lower is better

    def __init__(self, cfg: TrainConfig, session: Session) -> None:
        super().__init__(cfg, session)
        m, o = cfg.model, cfg.optim
        g = build(m.generator, **m.generator_config)
        if m.generator_weights:  # start from a trained generator (same architecture and config)
            from pngan.models import load_weights
            from pngan.weights import resolve

            load_weights(g, resolve(m.generator_weights))
        d = build(m.discriminator, **m.discriminator_config)
        dn = load_model(m.denoiser, None if m.denoiser_weights in ("", "shipped") else m.denoiser_weights)
        for p in dn.parameters():
            p.requires_grad_(False)
        self.g = session.prepare(g, compile=cfg.run.compile)
        self.d = session.prepare(d, compile=cfg.run.compile)
        self.dn = session.prepare(dn.eval(), train=False, compile=cfg.run.compile)
        self.opt_g = _adam(self.g.parameters(), o.lr_g, cfg, session.device)
        self.opt_d = _adam(self.d.parameters(), o.lr_d, cfg, session.device)
        self.sched_g, self.sched_d = _schedule(self.opt_g, cfg), _schedule(self.opt_d, cfg)
        if not cfg.data.train_dir:
            raise PnganError("data.train_dir is not set (a folder with input/ and groundtruth/)")
        self.bank = self._bank(pairs=training_pairs(cfg.data.train_dir, cfg.data.train_more))
        self.val = _val_pairs(cfg)
        self.val_cond = None  # smnet-c: each image's own fingerprint, as at training
        if takes_fingerprint(g):
            self.bank.cond = torch.from_numpy(bank_fingerprints(self.bank))
            self.val_cond = per_image_vectors([n for _, n, _ in self.val], [k for k, _, _ in self.val])
        self._cond: torch.Tensor | None = None  # this step's fingerprints (one per crop)
        self.sigma = m.input_sigma / 255.0
        self.sharp = self._sharp_bank(cfg) if cfg.experimental.sharp_content else None

    @staticmethod
    def _sharp_bank(cfg: TrainConfig) -> CropBank:
        """Clean-only crops for ``experimental.sharp_content`` (own seed stream, same patch and batch)."""
        if not cfg.data.clean_dir:
            raise PnganError("experimental.sharp_content needs data.clean_dir (a folder of clean images)")
        return CropBank(clean=clean_images(cfg.data.clean_dir), patch=cfg.data.patch, batch=cfg.data.batch,
                        seed=cfg.run.seed + 7919, align=cfg.data.crop_align)

    def generator_input(self, clean: torch.Tensor, step: int, stream: int = 1) -> torch.Tensor:
        g = step_generator(self.cfg.run.seed, self.s.rank, step, stream=stream, device=clean.device)
        return clean + self.sigma * torch.randn(clean.shape, generator=g, device=clean.device, dtype=clean.dtype)

    def fake(self, clean: torch.Tensor, step: int, stream: int = 1, net: nn.Module | None = None) -> torch.Tensor:
        """The generator's sample of ``clean`` (input noise stream ``stream`` of ``step``): ``g(clean + sigma z)``,
        or ``g(clean, z)`` for a generator given its noise (smnet-n)."""
        net = self.g if net is None else net
        if not takes_noise(net):
            return net(self.generator_input(clean, step, stream))
        g = step_generator(self.cfg.run.seed, self.s.rank, step, stream=stream, device=clean.device)
        n, _, h, w = clean.shape
        z = torch.randn((n, unwrap(net).noise_channels, h, w), generator=g, device=clean.device, dtype=clean.dtype)
        if takes_fingerprint(net):
            return net(clean, z, self._cond[:n])
        return net(clean, z)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        """One discriminator step, then one generator step on the loss table's pngan rows."""
        real, clean = self.s.to_device(batch["noisy"]), self.s.to_device(batch["clean"])
        self._cond = self.s.to_device(batch["cond"]) if "cond" in batch else None
        with self.s.autocast():
            fake = self.fake(clean, step)
        loss_d = self._step_d(real, fake)
        # Generator: the discriminator is frozen (its terms call it unwrapped: no DDP reduction for it).
        d_plain = unwrap(self.d)
        d_plain.requires_grad_(False)
        loss_g, terms = weighted_sum(self.losses, self.cfg, StepTerms(self, step, real, clean, fake))
        self._step_opt(loss_g, self.opt_g, self.g.parameters())
        d_plain.requires_grad_(True)
        self.scaler.update()
        self.sched_g.step()
        self.sched_d.step()
        # each term's column is named after its weight's key (loss/d, loss/g: the totals)
        return {"loss/d": loss_d.item(), "loss/g": loss_g.item(), **{f"loss/{k}": v.item() for k, v in terms.items()},
                "lr/g": self.sched_g.get_last_lr()[0]}

    def _step_d(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The discriminator's step: one forward over [real; fake] (one DDP forward per backward)."""
        n = real.shape[0]
        with self.s.autocast():
            logits = self.d(torch.cat([real, fake.detach()])).float()
        loss_d = ragan_d_loss(logits[:n], logits[n:])
        self._step_opt(loss_d, self.opt_d, self.d.parameters())
        return loss_d

    def second_sample(self, clean: torch.Tensor, step: int) -> torch.Tensor:
        """Another sample of the same crops (input noise stream 2), in float32 with gradients. With it,
        ``experimental.texture_on = "stochastic"`` shows the texture losses only ``(fake - fake2) / sqrt(2)``,
        what changes with the seed, and ``experimental.content_change`` estimates the part that does not."""
        with self.s.autocast():
            fake2 = self.fake(clean, step, stream=2)
        return fake2.float()

    def sharp_content(self, step: int, real: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """:func:`content_change_loss` on two samples of this step's clean-only crops, scaled by the real
        pairs' noise power: no real noisy image is needed to forbid a fixed change of the content."""
        sc = self.s.to_device(self.sharp[step]["clean"])
        with self.s.autocast():
            f1 = self.fake(sc, step, stream=3)
            f2 = self.fake(sc, step, stream=4)
        return content_change_loss(f1.float(), f2.float(), real, clean, source=sc)

    @torch.no_grad()
    def sample(self, clean: np.ndarray, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        """One fake for a clean image (with ``cond``: its fingerprint vector): the same sampling as
        ``pngan generate``."""
        x = _to_batch(clean, self.s)
        g, net = torch.Generator().manual_seed(seed), unwrap(self.g)
        with self.s.autocast():
            if takes_noise(net):  # pngan generate's draw
                extra = () if cond is None else (self.s.to_device(torch.from_numpy(cond)[None]),)
                y = net(x, noise_input(clean, seed, net.noise_channels)[1].to(x.device, x.dtype), *extra)
            else:
                y = net(x + self.sigma * torch.randn(x.shape, generator=g).to(x.device, x.dtype))
        return np.round(_to_img(y) * 255) / 255

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        if not self.val:
            return {}
        g = unwrap(self.g).eval()
        k = max(1, self.cfg.run.val_samples)
        conds = [None] * len(self.val) if self.val_cond is None else list(self.val_cond)
        fakes = [[self.sample(c, sample_seed(self.cfg.run.seed, name, j), v) for j in range(k)]
                 for (name, _, c), v in zip(self.val, conds)]
        mean, _ = akld([c for _, _, c in self.val], [n for _, n, _ in self.val], fakes)
        content = [psnr(f[0], c) for f, (_, _, c) in zip(fakes, self.val)]
        real_psnr = [psnr(n, c) for _, n, c in self.val]
        g.train()
        return {"val/akld": float(mean), "val/psnr_fake_vs_clean": float(np.mean(content)),
                "val/psnr_real_vs_clean": float(np.mean(real_psnr))}

    def images(self, batch: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        """A clean | real | fake grid of the first batch item."""
        with torch.no_grad():
            clean = self.s.to_device(batch["clean"][:1])
            real = self.s.to_device(batch["noisy"][:1])
            self._cond = self.s.to_device(batch["cond"][:1]) if "cond" in batch else None
            fake = self.fake(clean, step, net=unwrap(self.g)).float()
        return torch.cat([clean, real, fake.clamp(0, 1)], dim=3)[0].cpu()

    def modules(self) -> dict[str, Any]:
        return {"g": unwrap(self.g), "d": unwrap(self.d), "opt_g": self.opt_g, "opt_d": self.opt_d,
                "sched_g": self.sched_g, "sched_d": self.sched_d, "scaler": self.scaler}

    def arch(self) -> dict[str, Any]:
        g, d = unwrap(self.g), unwrap(self.d)
        return {"g": g.pngan_name, "g_config": g.pngan_config, "d": d.pngan_name, "d_config": d.pngan_config}

    def export_model(self) -> tuple[nn.Module, dict[str, Any]]:
        return unwrap(self.g), {"stage": self.name, "input_sigma": self.cfg.model.input_sigma}


STAGES = {"denoiser": DenoiserStage, "pngan": PnganStage, "finetune": FinetuneStage}
