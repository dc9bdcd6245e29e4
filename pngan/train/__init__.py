"""PNGAN reference trainer: three stages (denoiser, pngan, finetune) behind ``pngan train``."""
