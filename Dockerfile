# LexiQuery in a container: the whole API in one process by default, or any fleet service with
# another command (docker-compose.yml runs one container per service, see `lexiquery up`).
#   docker build -t lexiquery .
#   docker run --rm -p 127.0.0.1:8000:8000 -v lexiquery-data:/data lexiquery
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Journeys, runbooks, catalogs, the agent registry: one volume, shared by the fleet.
    LEXIQUERY_DATA_DIR=/data \
    # No library telemetry leaves the container (Chroma's is also off in code).
    ANONYMIZED_TELEMETRY=False

WORKDIR /app
# Metadata first, so a change in the sources does not invalidate the dependency layer's cache
# more than needed; `pip install .` then builds the package itself.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /app/src /app/build

# Run as an unprivileged user; the data directory is created (and owned) before it becomes a
# volume, so a fresh named volume starts owned by that user too.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin lexiquery \
    && mkdir -p /data && chown lexiquery:lexiquery /data
USER lexiquery
VOLUME ["/data"]
WORKDIR /data

# core 8000, protocol interface 8001, SOP engine 8002, planner 9000, knowledge 9010-9011,
# data agents 9020-9022, validator 9030.
EXPOSE 8000 8001 8002 9000 9010 9011 9020 9021 9022 9030

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4); sys.exit(0)"

CMD ["lexiquery", "serve", "--host", "0.0.0.0", "--port", "8000"]
