"""``pngan-export``: export a registered model to edge runtimes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pngan.calibration.source import DEFAULT_SAMPLES
from pngan.cli.errors import run_cli
from pngan.cli.options import conventions
from pngan.runtimes.formats import FORMATS, names
from pngan.export.shapes import DEFAULT_MAX, DEFAULT_MIN, DEFAULT_OPT
from pngan.weights import DEFAULT_DENOISER

ET_MAX = FORMATS["executorch"].default_max

TARGET_CHOICES = [*names(), "all"]
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
@click.option("--calib-dir", type=click.Path(path_type=Path), default=None,
              help="INT8: folder of images to calibrate on (random crops): noisy photos are used as they are; "
                   "a paired root (input/ + groundtruth/) also gives clean targets. "
                   "Default: the shipped sample images with synthetic noise (a note says so).")
@click.option("--calib-noise", default="auto", show_default=True, metavar="auto|none|poisson-gaussian|awgn:SIGMA",
              help="INT8: noise added to the calibration crops. auto: none for photos, Poisson-Gaussian for a "
                   "clean set (shipped samples, a folder named groundtruth/clean/gt), AWGN at input_sigma for "
                   "a generator.")
@click.option("--calib-samples", type=click.IntRange(min=1), default=DEFAULT_SAMPLES, show_default=True,
              help="INT8: number of calibration crops.")
@click.option("--clean-calib", is_flag=True, help="INT8: same as --calib-noise none.")
@click.option("--max-accuracy-drop", type=float, default=None, metavar="DB",
              help="OpenVINO INT8: accuracy-controlled quantization keeping the PSNR drop under DB (progress shown).")
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
def main(model_name: str | None, weights: Path | None, targets: tuple[str, ...], precision: str, calib_dir: Path | None,
         calib_noise: str, calib_samples: int, clean_calib: bool, max_accuracy_drop: float | None,
         no_validate: bool, input_shape: tuple[int, int] | None,
         dynamic: bool, min_shape: tuple[int, int], opt_shape: tuple[int, int], max_shape: tuple[int, int] | None,
         max_batch: int, litert_sizes: str | None, seed: int, out: Path, force: bool) -> None:
    """Trace MODEL and write OUT/<target>-<precision>/ with the artifact and a manifest.json."""

    def job() -> None:
        import json
        import warnings

        from pngan.errors import PnganError
        from pngan.export.exporter import PRECISIONS, ValidationFailed, export, export_all
        from pngan.export.shapes import ShapeSpec
        from pngan.export.validate import summary_line
        from pngan.models import default_weights, load_model
        from pngan.weights import resolve

        for target in targets:
            if target not in TARGET_CHOICES:
                raise PnganError(f"unknown target {target!r}; choose one of: {', '.join(TARGET_CHOICES)}")
        if "all" in targets and len(targets) > 1:
            raise PnganError("--target all exports every target; give it alone or list the targets")
        if len(set(targets)) != len(targets):
            raise PnganError(f"--target given twice: {' '.join(targets)}")
        if precision not in PRECISIONS:
            raise PnganError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
        if dynamic and input_shape is not None:
            raise PnganError("--input-shape and --dynamic exclude each other")
        if clean_calib and calib_noise != "auto":
            raise PnganError("--clean-calib and --calib-noise exclude each other (--clean-calib is --calib-noise none)")
        from pngan.calibration.policy import parse_noise

        parse_noise(calib_noise)  # a typo fails before the model is loaded
        from pngan.export.shapes import parse_sizes

        sizes = parse_sizes(litert_sizes) if litert_sizes is not None else None
        if sizes and not {"litert", "all"} & set(targets):
            raise PnganError("--litert-sizes applies to --target litert (or all)")
        shapes = ShapeSpec(fixed=input_shape, min_hw=min_shape, opt_hw=opt_shape, max_hw=max_shape, max_batch=max_batch,
                           sizes=sizes)
        name = DEFAULT_DENOISER if model_name is None and weights is None else model_name
        w = resolve(weights) if weights is not None else default_weights(name)  # a shipped name too
        net = load_model(name, w, name_option="--model")
        warnings.filterwarnings("ignore", category=ValidationFailed)  # said below, with the exit status
        err = sys.stderr  # bound now: backends redirect sys.stderr while they work
        log = lambda m: click.echo(m, file=err)  # noqa: E731
        kw = dict(precision=precision, weights=w, force=force, calib_dir=calib_dir, calib_samples=calib_samples,
                  calib_noise="none" if clean_calib else calib_noise, seed=seed, max_accuracy_drop=max_accuracy_drop,
                  shapes=shapes, validate=not no_validate, log=log)
        if targets == ("all",):
            written, skipped = export_all(net, out, **kw)
        else:
            written, skipped = [export(net, target, out, **kw) for target in targets], {}
        failed = []
        for folder in written:
            m = json.loads((folder / "manifest.json").read_text("utf-8"))
            rec = m.get("validation")
            click.echo(summary_line(folder.name, m.get("size_bytes"), m.get("export_seconds", 0.0), rec))
            if rec and rec["status"] == "fail":
                failed.append((folder, rec))
        for folder in written:
            click.echo(f"wrote {folder}")
        for name, why in skipped.items():
            click.echo(f"skipped {name}: {why}")
        if failed:
            folder, rec = failed[0]
            fix = f"; fix: {rec['fix']}" if rec.get("fix") else ""
            raise PnganError(f"{len(failed)} artifact(s) failed validation (first: {folder.name}: "
                             f"{rec['rule']} not met{fix}); kept in {folder.parent} for inspection")

    run_cli(job)


if __name__ == "__main__":
    main()
