"""The on-call console, served by ``vigil serve``: incidents raised by the workers, live,
with one-click actions and labels that go through the same records as every other path.
:mod:`~agents.console.feed` (incidents from ``escalations``), :mod:`~agents.console.auth`
(users, sessions, CSRF), :mod:`~agents.console.pages` (HTML), :mod:`~agents.console.routes`."""
