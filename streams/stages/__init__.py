"""The pipeline's stages, one module each: normalize, score, detect, escalate, learn.

Each stage is a small class holding its own soft state, with the shapes of the data it
takes and gives in its module docstring. Stages are pure synchronous logic over
``models/``: no Faust, Kafka, aiohttp or connector is imported here (a test proves it),
and nothing here logs or records metrics; :mod:`streams.pipeline` composes them.
"""
