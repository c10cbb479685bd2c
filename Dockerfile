# The agent sidecar image: ghcr.io/chainlink-k8s/chainlink-agent
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agent ./agent
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# Non-root with a numeric UID, so Pod Security "restricted" can verify runAsNonRoot.
RUN useradd --uid 65532 --no-create-home --shell /usr/sbin/nologin agent
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 65532:65532
ENV PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["chainlink-agent"]
