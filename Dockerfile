# One image for every bridge process (api, workers, beat, migrate). The OPD directory is not in
# it: docker-compose.yml mounts config/ at /app/config (see config/README.md).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY setup.cfg pyproject.toml README.md ./
COPY bridge ./bridge
COPY workers ./workers
COPY schemas ./schemas
# DejaVu: the font drawn on Instagram cards and the weekly report's chart.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --quiet . \
    && useradd --system --home /app bridge \
    && mkdir -p /app/instance/metrics /app/config && chown -R bridge /app/instance
USER bridge
EXPOSE 8000
CMD ["wadule-bridge", "serve", "--bind", "0.0.0.0:8000"]
