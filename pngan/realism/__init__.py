"""How real generated noise is: the ``pngan eval-noise`` report, its terminal summary, JSON and figures."""
