"""Model registry: ``build``, ``names``, and weights I/O.

Importing this package registers every architecture (one module each).
"""

from pngan.models.registry import build, names, register, spec  # noqa: F401
from pngan.models import dncnn  # noqa: F401  (registers)
from pngan.models import mirnet, ridnet  # noqa: F401
from pngan.models import smnet, discriminator  # noqa: F401
from pngan.models import nafunet, resunet  # noqa: F401
from pngan.models import smnet_noise, smnet_cond  # noqa: F401
from pngan.models.weights import load, load_weights, read_metadata, save_weights, sha256  # noqa: F401
from pngan.models.shipped import default_weights, load_model, shipped_weights  # noqa: F401

__all__ = ["build", "names", "register", "spec", "load", "load_weights", "save_weights",
           "read_metadata", "sha256", "default_weights", "load_model", "shipped_weights"]
