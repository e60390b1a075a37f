# The platform image: the `erp` CLI, Dagster, the fork server and everything the run workers need. It has no
# ENTRYPOINT, so Dagster's Helm chart can start `dagster code-server start ...` in it (docker-compose.yml and
# the chart name the command to run).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ERP_HOME=/var/lib/erp
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq5 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY erp_platform ./erp_platform
COPY sdk_builder ./sdk_builder
COPY code_locations ./code_locations
RUN pip install --no-cache-dir . \
    && useradd --system --home /var/lib/erp --create-home erp
USER erp
EXPOSE 3000 4000-4999
CMD ["erp", "--help"]
