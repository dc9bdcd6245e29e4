"""``pngan-export``: export a registered model to edge runtimes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pngan.calibration.source import DEFAULT_SAMPLES
from pngan.cli.errors import run_cli
from pngan.cli.options import conventions
from pngan.errors import PnganError
from pngan.export.request import TARGET_CHOICES, ExportRequest, run_request
from pngan.export.shapes import DEFAULT_MAX, DEFAULT_MIN, DEFAULT_OPT
from pngan.runtimes.formats import FORMATS
from pngan.runtimes.parity_rules import DEFAULT_MAX_DROP
from pngan.weights import DEFAULT_DENOISER

ET_MAX = FORMATS["executorch"].default_max

HW = click.Tuple([click.IntRange(min=1), click.IntRange(min=1)])


@conventions  # --calib-dir or --calib_dir; --model in any case, checked before torch is imported
@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", "model_name", default=None,
              help="Registered model name (see `pngan models`). Default: the model a --weights .safetensors names, "
                   f"else the default denoiser ({DEFAULT_DENOISER}).")
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="Weights (.safetensors or official .pth). Default: the shipped weights of --model.")
@click.option("--target", "targets", multiple=True, default=("onnx",), show_default=True,
              metavar="|".join(TARGET_CHOICES),
              help="Export target, repeatable (--target onnx --target openvino exports both); 'all' exports every "
                   "target available here and lists the skipped ones. "
                   + "; ".join(f"{f.name}: {f.runs_on}" for f in FORMATS.values()) + ".")
@click.option("--precision", default="fp32", show_default=True, metavar="fp32|fp16|int8")
@click.option("--calib-dir", type=click.Path(path_type=Path), multiple=True,
              help="INT8: folder of images to calibrate on (random crops), repeatable: the crops are shared among "
                   "the folders (mix DSLR and phone photos to cover both noise levels). Noisy photos are used as "
                   "they are; a paired root (input/ + groundtruth/) also gives clean targets. "
                   "Default: the shipped sample images with synthetic noise (a note says so).")
@click.option("--calib-noise", default="auto", show_default=True, metavar="auto|none|poisson-gaussian|awgn:SIGMA",
              help="INT8: noise added to the calibration crops. auto: none for photos, Poisson-Gaussian for a "
                   "clean set (shipped samples, a folder named groundtruth/clean/gt), AWGN at input_sigma for "
                   "a generator.")
@click.option("--calib-samples", type=click.IntRange(min=1), default=DEFAULT_SAMPLES, show_default=True,
              help="INT8: number of calibration crops.")
@click.option("--clean-calib", is_flag=True, help="INT8: same as --calib-noise none.")
@click.option("--val-pairs", type=click.Path(path_type=Path), multiple=True,
              help="Denoisers: paired folder (input/ + groundtruth/) to validate each artifact on, repeatable; the "
                   "denoised-PSNR change vs torch is reported per folder. Default: the shipped samples at three "
                   "noise levels (DSLR, mid, phone). Never the calibration crops.")
@click.option("--max-drop", type=float, default=DEFAULT_MAX_DROP, show_default=True, metavar="DB",
              help="Denoisers: the denoised PSNR any validation folder may lose vs torch; over it the export "
                   "fails naming the folder (the artifact is kept for inspection).")
@click.option("--allow-drop", is_flag=True,
              help="Keep an artifact over --max-drop and exit 0 (its manifest says it is over budget).")
@click.option("--mixed", is_flag=True,
              help="INT8 (openvino, onnx): rank the layers by what their quantization costs on the validation "
                   "pairs and keep the fewest of them in float that meet --max-drop (progress shown).")
@click.option("--no-validate", is_flag=True,
              help="Skip the check that runs each artifact on a few images against torch.")
@click.option("--input-shape", type=HW, default=None, metavar="H W", help="Fix the input height and width.")
@click.option("--dynamic", "dynamic", is_flag=True, help="Dynamic height and width (the default).")
@click.option("--min-shape", type=HW, default=DEFAULT_MIN, show_default=True, metavar="H W",
              help="Dynamic: smallest H W (TensorRT profile, Core ML range).")
@click.option("--opt-shape", type=HW, default=DEFAULT_OPT, show_default=True, metavar="H W",
              help="Dynamic: H W to tune for (TensorRT profile, Core ML default) and the calibration crop size.")
@click.option("--max-shape", type=HW, default=None, metavar="H W",
              help=f"Dynamic: largest H W (TensorRT profile, Core ML range, ExecuTorch upper bound: XNNPACK "
                   f"reserves memory for it; larger inputs are tiled by the runner). Default: {DEFAULT_MAX[0]} "
                   f"{DEFAULT_MAX[1]}, ExecuTorch {ET_MAX[0]} {ET_MAX[1]}.")
@click.option("--max-batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="TensorRT profile: largest batch.")
@click.option("--litert-sizes", default=None, metavar="HxW[,HxW...]",
              help="LiteRT: the fixed input sizes (one signature each, weights shared), e.g. 256x256,512x512; "
                   "other sizes are padded or tiled by the runner. Default: --input-shape, else the opt shape "
                   "and twice it.")
@click.option("--seed", type=int, default=0, show_default=True, help="Calibration crop/noise seed.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Output folder; one sub-folder per artifact.")
@click.option("--force", is_flag=True, help="Replace an existing artifact folder.")
def main(**options: Any) -> None:
    """Trace MODEL and write OUT/<target>-<precision>/ with the artifact and a manifest.json."""
    request = ExportRequest(**options)  # the parameters above, by name
    err = sys.stderr  # bound now: backends redirect sys.stderr while they work

    def job() -> None:
        outcome = run_request(request, log=lambda m: click.echo(m, file=err))
        for line in outcome.lines:
            click.echo(line)
        if outcome.failure:
            raise PnganError(outcome.failure)

    run_cli(job)


if __name__ == "__main__":
    main()
