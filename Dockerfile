# One image for every Samverkan process: the services and the `deploy topics` job.
# The command is chosen per container in docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

RUN groupadd --system --gid 10001 samverkan \
    && useradd --system --uid 10001 --gid samverkan --home-dir /app --no-create-home samverkan

COPY pyproject.toml ./
COPY contracts ./contracts
COPY services ./services
COPY deploy ./deploy

# Installs the dependencies (no dev extras). The processes run from /app with `python -m`, so
# they import the copied source tree, which also carries its data files (migrations, agencies).
RUN pip install . && rm -rf build ./*.egg-info

USER samverkan
