"""``pngan models``: the registry and the table of shipped weights."""

from __future__ import annotations

import click


@click.command()
def models() -> None:
    """List registered models, their default config and shipped weights, then the shipped weights' table."""
    import json

    from pngan.models import names, shipped_weights, spec
    from pngan.weights import DEFAULT_DENOISER, DEFAULT_GENERATOR, TABLE

    defaults = {DEFAULT_DENOISER: "default denoiser", DEFAULT_GENERATOR: "default generator"}

    for name in names():
        s = spec(name)
        w = shipped_weights(name)
        mark = f"  [{defaults[name]}]" if name in defaults else ""
        click.echo(f"{name:14s} {s.kind:13s} shipped={w.name if w else '-'}  {s.description}{mark}")
        click.echo(f"{'':14s} config={json.dumps(s.defaults, sort_keys=True)}")
    click.echo("\nshipped weights (--weights NAME):")
    for w in TABLE:
        click.echo(f"{w.name:24s} {w.model:10s} {', '.join(w.roles)}")
        click.echo(f"{'':24s} data: {w.data}; recipe: {w.recipe}; selected on: {w.selected_on}")
