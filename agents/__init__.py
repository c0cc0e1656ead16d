"""Faust agents: thin adapters that feed records through :mod:`agents.steps`.

Import :func:`register` (not the modules one by one) to attach every agent to the app.
"""


def register() -> None:
    from agents import detect, escalate, feedback, normalize, observability, score  # noqa: F401
