"""``pngan parity``: every exported artifact under a folder against the torch model it came from."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli


def _sizes(ctx, param, value: str) -> tuple:
    """``128,256`` (squares) or, for --sizes, ``384x512`` (H x W) entries."""
    out: list = []
    for v in (v.strip().lower() for v in value.split(",") if v.strip()):
        try:
            hw = tuple(int(p) for p in v.split("x"))
        except ValueError:
            raise click.BadParameter(f"expected comma-separated sizes, got {value!r}") from None
        if len(hw) not in (1, 2) or (len(hw) == 2 and param.name != "sizes") or min(hw) < 1:
            raise click.BadParameter(f"sizes must be >= 1 (--sizes also takes HxW), got {value!r}")
        out.append(hw[0] if len(hw) == 1 else hw)
    return tuple(out)


@click.command()
@click.option("--artifacts", "root", type=click.Path(path_type=Path), required=True,
              help="Folder of artifact folders written by pngan-export, one artifact folder, or a bare "
                   ".onnx/.xml model file (compared with the shipped weights of the model it names).")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Paired noisy/clean folder. Default: the shipped samples with synthetic noise.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, help="Write the report as JSON.")
@click.option("--markdown", "md_path", type=click.Path(path_type=Path), default=None,
              help="Write the full Markdown table (every column; the terminal shows a compact one).")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None, help="Write a PNG bar chart.")
@click.option("--fp32-db", type=float, default=60.0, show_default=True, help="FP32: minimum output PSNR vs torch.")
@click.option("--fp16-db", type=float, default=45.0, show_default=True, help="FP16: minimum output PSNR vs torch.")
@click.option("--int8-delta-db", type=float, default=0.3, show_default=True,
              help="INT8 denoisers: maximum drop of denoised PSNR vs torch.")
@click.option("--int8-output-db", type=float, default=30.0, show_default=True,
              help="INT8 generators (no clean target): minimum output PSNR vs torch.")
@click.option("--margin-db", "margins", type=(float, float, float), default=(30.0, 10.0, 1.0), show_default=True,
              metavar="FP32 FP16 INT8",
              help="Required margin over the identity baseline PSNR(torch(x), x), so an artifact returning its "
                   "input or with other weights fails (INT8: mean over real images, used when the pairs cannot "
                   "judge).")
@click.option("--int8-keep-gain", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="INT8 denoisers: least fraction of torch's denoising gain (over the noisy input) kept.")
@click.option("--sizes", default="128,256", show_default=True, callback=_sizes,
              help="Output-parity input sizes: N (N x N) or HxW, comma-separated.")
@click.option("--latency-sizes", default="256,512", show_default=True, callback=_sizes, help="Latency input sizes.")
@click.option("--repeats", type=click.IntRange(1), default=5, show_default=True, help="Timed runs per latency.")
@click.option("--threads", type=click.IntRange(1), default=None, help="Threads for every backend (default: theirs).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Use only the first N pairs of --data.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strict", is_flag=True, help="Also fail when an artifact is skipped (backend not runnable here).")
def parity(root: Path, data: Path | None, json_path: Path | None, md_path: Path | None, plot_path: Path | None,
           fp32_db: float, fp16_db: float, int8_delta_db: float, int8_output_db: float,
           margins: tuple[float, float, float], int8_keep_gain: float, sizes: tuple[int, ...],
           latency_sizes: tuple[int, ...], repeats: int, threads: int | None, limit: int | None, seed: int,
           strict: bool) -> None:
    """Compare every artifact under ARTIFACTS with torch; exit 1 when a threshold fails or an artifact is broken."""

    def job() -> None:
        from pngan.errors import PnganError
        from pngan.runtimes.parity import Thresholds, run_parity
        from pngan.runtimes.parity_report import to_table, write_reports

        th = Thresholds(fp32_db, fp16_db, int8_delta_db, int8_output_db, *margins, int8_keep_gain)
        report = run_parity(root, data=data, thresholds=th, sizes=sizes, latency_sizes=latency_sizes,
                            repeats=repeats, threads=threads, seed=seed, limit=limit,
                            progress=lambda m: click.echo(m, err=True))
        click.echo(to_table(report), nl=False)
        for path in write_reports(report, json_path=json_path, md_path=md_path, plot_path=plot_path):
            click.echo(f"wrote {path}")
        verdict = report.verdict(strict)
        if verdict:
            raise PnganError(verdict)

    run_cli(job)
