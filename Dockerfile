# The comment service under gunicorn. Build and run with Docker Compose (see README.md):
#   docker compose up -d --build
# or alone: docker build -t news-comments . && docker run --env-file .env -p 8000:8000 news-comments

# --- build: install the package and its dependencies into a virtualenv --------------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# README.md is the long description in the package metadata: setuptools reads it.
COPY pyproject.toml README.md ./
COPY service/ service/
# No dev extras: the image carries only what the service needs at run time.
# With the offensive-language model (scikit-learn): the image holds every rule. Versions come
# from pyproject.toml; hadolint takes the local package with an extra for a registry name.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[offensive]'

# --- runtime ------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

# The package is installed in the virtualenv; its settings files are in /app/config.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COMMENTS_CONFIG_DIR=/app/config \
    COMMENTS_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000

# A fixed, unprivileged user; its home holds gunicorn's control socket (~/.gunicorn).
RUN groupadd --system --gid 10001 comments \
    && useradd --system --uid 10001 --gid comments --create-home --home-dir /home/comments \
        --shell /usr/sbin/nologin comments

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY config/ config/

# Fail the build, not the first start, if the settings files would not be found.
RUN test -f "$COMMENTS_CONFIG_DIR/defaults.toml" && test -f "$COMMENTS_CONFIG_DIR/production.toml"

USER 10001:10001

EXPOSE 8000

# Liveness only: the process answers. Readiness (Redis reachable, noeviction) is /readyz, which
# docker-compose.yml uses as the container's health. No curl in the image: Python does the call.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "service.wsgi:app"]
