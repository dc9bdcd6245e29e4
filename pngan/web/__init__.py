"""The browser reference app (``pngan app``): its page, artifacts and local server."""
