"""The runners of :mod:`streams.pipeline`: the Faust worker (thin adapters: an agent, a
feedback task, timers) and ``vigil replay``; and the command line that starts them.

Import :func:`register` (not the modules one by one) to attach the worker's agents,
tasks and timers to the app.
"""


def register() -> None:
    from agents import broker_watch, feedback, lifecycle, observability, worker  # noqa: F401
