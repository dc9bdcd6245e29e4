"""``python -m pngan.cli`` = ``pngan``."""

from pngan.cli import main

if __name__ == "__main__":
    main()
