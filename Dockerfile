FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /app

# uv at the version and hashes uv.lock records (docs/dependencies.md).
COPY uv.lock ./
COPY scripts/locked_requirement.py ./scripts/
RUN python scripts/locked_requirement.py uv > /tmp/uv.txt \
    && pip install --require-hashes --no-deps -r /tmp/uv.txt && rm /tmp/uv.txt

# The locked runtime set (no dev group): dependencies first, a layer that code edits keep.
COPY pyproject.toml README.md alembic.ini ./
RUN uv sync --locked --no-dev --no-install-project
COPY backend ./backend
COPY migrations ./migrations
RUN uv sync --locked --no-dev --no-editable
ENV PATH=/app/.venv/bin:$PATH

RUN useradd --create-home --uid 10001 dvorik
USER dvorik

EXPOSE 8000
CMD ["dvorik", "serve", "--host", "0.0.0.0", "--port", "8000"]
