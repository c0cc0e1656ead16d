"""``vigil serve``: Perspective-compatible scoring over HTTP (:mod:`agents.api.app`), with
API keys (:mod:`agents.api.keys`), micro-batched inference (:mod:`agents.api.batcher`)
and the same learning loop as the worker (:mod:`agents.api.learning`)."""
