"""``pngan app``: build the browser reference app (examples/web) with exported ONNX models, and serve it.

The builder and the server are :mod:`pngan.web.app`; this module parses, calls and prints.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from pngan.cli.errors import run_cli
from pngan.errors import PnganError
from pngan.web.app import DEFAULT_PORT, build_app, serve_app


@click.command()
@click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None, metavar="OUT",
              help="Export dncnn (FP32, INT8) and smnet-s (FP32) to ONNX and write the page with them to OUT.")
@click.option("--serve", "serve_dir", is_flag=False, flag_value="", default=None, metavar="[DIR]",
              help="Serve a built app folder (default: the --build folder) on http://HOST:PORT/.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="0 picks a free port.")
@click.option("--web-dir", type=click.Path(path_type=Path), default=None,
              help="Page sources with node_modules (default: examples/web of this source checkout).")
@click.option("--artifacts", "artifacts", type=click.Path(path_type=Path), multiple=True,
              help="--build with these pngan-export ONNX artifact folders (or folders holding them) instead of "
                   "exporting the shipped models; repeatable.")
@click.option("--force", is_flag=True, help="Replace an existing --build folder.")
def app(build_dir: Path | None, serve_dir: str | None, host: str, port: int, web_dir: Path | None,
        artifacts: tuple[Path, ...], force: bool) -> None:
    """Browser reference app: onnxruntime-web runs the exported denoiser and noise generator."""

    def job() -> None:
        if build_dir is None and serve_dir is None:
            raise PnganError("nothing to do: pass --build OUT and/or --serve [DIR]")
        if artifacts and build_dir is None:
            raise PnganError("--artifacts needs --build OUT")
        if serve_dir == "" and build_dir is None:
            raise PnganError("--serve needs a folder (or --build OUT to serve the build)")
        if build_dir is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                built = build_app(build_dir, web_dir=web_dir, force=force, artifacts=artifacts, echo=click.echo)
            click.echo(f"wrote {built.path}")
        if serve_dir is not None:
            folder = Path(serve_dir) if serve_dir else build_dir
            serve_app(folder, host, port, on_ready=lambda url: click.echo(f"serving {folder} at {url} "
                                                                          f"(Ctrl-C to stop)"))
            click.echo("stopped")

    run_cli(job)
