FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY setup.cfg pyproject.toml README.md ./
COPY bridge ./bridge
COPY workers ./workers
COPY schemas ./schemas
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
    && pip install . && useradd --system --home /app bridge && mkdir -p /app/instance && chown bridge /app/instance
COPY examples ./examples
USER bridge
EXPOSE 8000
CMD ["wadule-bridge", "serve", "--bind", "0.0.0.0:8000"]
