"""Image-quality metrics (PSNR, SSIM) and the noise-realism metric AKLD."""

from pngan.metrics.akld import akld, akld_image, gauss_blur, gaussian_kernel_1d, kl_gauss_zero_center, noise_variance_map
from pngan.metrics.paper import psnr_paper, rgb_to_y, ssim_paper
from pngan.metrics.quality import psnr, psnr_float, ssim

__all__ = [
    "psnr", "psnr_float", "ssim", "psnr_paper", "ssim_paper", "rgb_to_y",
    "akld", "akld_image", "kl_gauss_zero_center", "noise_variance_map", "gauss_blur", "gaussian_kernel_1d",
]
