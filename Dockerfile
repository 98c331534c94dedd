FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY backend ./backend
COPY migrations ./migrations
RUN pip install --upgrade pip && pip install .

RUN useradd --create-home --uid 10001 dvorik
USER dvorik

EXPOSE 8000
CMD ["dvorik", "serve", "--host", "0.0.0.0", "--port", "8000"]
