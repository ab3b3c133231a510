# facio: one image for the gateway and the workers (compose.yaml runs both).
#
#   docker build -t facio .
#   docker run --rm facio --help
#
# Two stages: the first installs facio and its pinned dependencies into a
# virtual environment, the second copies only that environment, so the image
# carries no build tools and no source tree.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/facio
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY bots ./bots
COPY channels ./channels
COPY workers ./workers
COPY facio ./facio
# [data]: numpy, pandas and matplotlib for the agent's code actions (docs/code-actions.md).
RUN /opt/facio/bin/pip install ".[data]"

FROM python:3.11-slim
# PYTHONUNBUFFERED: log lines reach `docker compose logs` as they are written.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/facio/bin:$PATH \
    FACIO_CONFIG=/config/config.json
COPY --from=build /opt/facio /opt/facio
# A fixed, unprivileged uid; the workspace belongs to it, so a named volume
# mounted there starts out writable by it.
RUN groupadd --system --gid 10001 facio \
    && useradd --system --uid 10001 --gid facio --home-dir /home/facio --create-home facio \
    && mkdir -p /workspace /config \
    && chown facio:facio /workspace
USER facio
WORKDIR /home/facio
VOLUME ["/workspace"]
EXPOSE 8765
# The gateway's health: 200 while Redis answers, 503 (urlopen raises) when not.
# Worker containers have no HTTP server: compose.yaml disables this check for them.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=4)"]
ENTRYPOINT ["facio"]
CMD ["gateway", "--config", "/config/config.json"]
