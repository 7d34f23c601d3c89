# syntax=docker/dockerfile:1
#
# One image for both Streto Webhooks processes.
#
#   docker build -t streto-webhooks .
#
# Apply the schema once per release; it is safe while older relays run:
#   docker run --rm -e DATABASE_URL=postgresql://... streto-webhooks relay migrate
# The API (the default command) serves HTTP on port 8000:
#   docker run -e DATABASE_URL=postgresql://... -p 8000:8000 streto-webhooks
# The relay daemon runs from the same image with another command:
#   docker run -e DATABASE_URL=postgresql://... streto-webhooks relay run
# docker-compose.yml runs all three next to a PostgreSQL server.
#
# The builder stage turns the source tree into a wheel, which carries the
# packages, wsgi.py, and the migrations and SQL functions as data files
# (relay migrate finds them under /opt/venv/share/streto-webhooks). The
# runtime stage installs that wheel and its dependencies into /opt/venv and
# keeps neither the source tree nor the build tools.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY relay/ relay/
COPY api/ api/
COPY sql/ sql/
COPY migrations/ migrations/
COPY wsgi.py ./

RUN pip wheel --no-deps --wheel-dir /wheels /src


FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# pip compiles the bytecode at install time, while the files are still
# writable; the service user below cannot write to /opt/venv.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/venv \
    && /opt/venv/bin/pip install /wheels/*.whl

RUN groupadd --system --gid 10001 webhooks \
    && useradd --system --uid 10001 --gid webhooks --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin webhooks

WORKDIR /app
COPY gunicorn.conf.py ./

USER webhooks

# 8000: the API. 9120: the relay's /metrics when WEBHOOKS_METRICS_PORT=9120.
EXPOSE 8000 9120

# The API. The relay daemon uses the same image with the command
# `relay run`; gunicorn.conf.py sets up the workers' shared metrics.
CMD ["gunicorn", "-c", "/app/gunicorn.conf.py", "--bind", "0.0.0.0:8000", "wsgi:app"]
