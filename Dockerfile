# syntax=docker/dockerfile:1
#
# One image for both Streto Webhooks processes.
#
#   docker build -t streto-webhooks .
#
# Apply the schema once per release, before the processes start:
#   docker run --rm -e DATABASE_URL=postgresql://... streto-webhooks relay migrate
# The API (the default command) serves HTTP on port 8000:
#   docker run -e DATABASE_URL=postgresql://... -p 8000:8000 streto-webhooks
# The relay daemon runs from the same image with another command:
#   docker run -e DATABASE_URL=postgresql://... streto-webhooks relay run
#
# Why an editable install: relay/migrate.py looks for sql/ and migrations/ in
# the parent directory of the relay package. A regular install would copy the
# package into site-packages, away from those directories. So the source tree
# is copied to /app and installed with `pip install -e` into the virtualenv
# /opt/venv: Python imports relay and api from /app, next to sql/ and
# migrations/, and pip puts the `relay` console script in /opt/venv/bin.
#
# The builder stage runs pip, which needs the package index and build tools.
# The runtime stage copies /opt/venv and /app to the same paths, because the
# editable install records /app and the virtualenv links to the interpreter
# of the base image. Both stages therefore use the same base image.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip

WORKDIR /app
COPY setup.cfg pyproject.toml ./
COPY relay/ relay/
COPY api/ api/
COPY sql/ sql/
COPY migrations/ migrations/
COPY wsgi.py ./

# The runtime user cannot write to /app, so compile the bytecode here.
RUN /opt/venv/bin/pip install -e /app \
    && /opt/venv/bin/python -m compileall -q /app/relay /app/api /app/wsgi.py


FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system --gid 10001 webhooks \
    && useradd --system --uid 10001 --gid webhooks --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin webhooks

# Owned by root and read-only for the service user.
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

WORKDIR /app
USER webhooks

EXPOSE 8000

# gunicorn imports wsgi.py from the working directory, /app.
# Alternative command for the relay daemon: `relay run`.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "wsgi:app"]
