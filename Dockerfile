# The agent sidecar image: ghcr.io/chainlink-k8s/chainlink-agent
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agent ./agent
# Every dependency and the build backend come pinned by sha256 (agent/requirements.lock, made from
# pyproject.toml by pip-compile --generate-hashes; docs/security.md "Supply chain"): a changed or substituted
# package fails the build. The agent's own wheel is built with that setuptools, not one fetched unchecked.
RUN pip install --no-cache-dir --require-hashes -r agent/requirements.lock \
 && pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r agent/requirements.lock \
 && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
# Non-root with a numeric UID, so Pod Security "restricted" can verify runAsNonRoot.
RUN useradd --uid 65532 --no-create-home --shell /usr/sbin/nologin agent
COPY --from=build /wheels /wheels
# Only the checked wheels: no index is asked.
RUN pip install --no-cache-dir --no-index --find-links /wheels chainlink-agent && rm -rf /wheels
USER 65532:65532
ENV PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["chainlink-agent"]
