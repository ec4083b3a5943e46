FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 MALLOC_ARENA_MAX=2
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
COPY data/sample ./data/sample
# `python -m bot` runs as `python -OO` (KHOOSHE_OPTIMIZE): its byte code is compiled here, once,
# because PYTHONDONTWRITEBYTECODE keeps every start from writing it.
RUN pip install . && python -OO -m compileall -q /app /usr/local/lib/python3.11 && useradd --create-home --uid 10001 khooshe && chown -R khooshe /app/data

USER khooshe
ENV KHOOSHE_DB=/app/data/khooshe.db
VOLUME ["/app/data"]
CMD ["python", "-m", "bot"]
