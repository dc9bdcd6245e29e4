"""``pngan models``: the registry and the shipped weights."""

from __future__ import annotations

import click


@click.command()
def models() -> None:
    """List registered models, their default config and shipped weights."""
    import json

    from pngan.models import names, shipped_weights, spec

    for name in names():
        s = spec(name)
        w = shipped_weights(name)
        click.echo(f"{name:14s} {s.kind:13s} shipped={w.name if w else '-'}  {s.description}")
        click.echo(f"{'':14s} config={json.dumps(s.defaults, sort_keys=True)}")
