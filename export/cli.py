"""``pngan-export``: export a registered model to edge runtimes."""

from __future__ import annotations

from pathlib import Path

import click

from pngan.cli.errors import run_cli


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", "model_name", required=True, help="Registered model name (see `pngan models`).")
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="Weights (.safetensors or official .pth). Default: the shipped weights of --model.")
@click.option("--target", type=click.Choice(["onnx"]), default="onnx", show_default=True,
              help="Export target.")
@click.option("--precision", type=click.Choice(["fp32"]), default="fp32", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder; one sub-folder per artifact.")
@click.option("--force", is_flag=True, help="Replace an existing artifact folder.")
def main(model_name: str, weights: Path | None, target: str, precision: str, out: Path, force: bool) -> None:
    """Trace MODEL and write OUT/<target>-<precision>/ with the artifact and a manifest.json."""

    def job() -> None:
        from pngan.export import export
        from pngan.models import default_weights, load_model

        w = weights if weights is not None else default_weights(model_name)
        net = load_model(model_name, w)
        folder = export(net, target, out, precision=precision, weights=w, force=force)
        click.echo(f"wrote {folder}")

    run_cli(job)


if __name__ == "__main__":
    main()
