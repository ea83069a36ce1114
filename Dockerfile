# Classification service image: the pinned torch/torchvision (PyPI's CUDA builds, which also
# run on the CPU), the installed project, and the default models.
#
# Both stages start from BASE_IMAGE, so the venv's python symlink stays valid in the final
# stage. Any Debian-based image with Python 3.11 and its venv module works, because the build
# only calls `python3`, which the official image has in /usr/local/bin and Debian in /usr/bin.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder

# Package indexes, for example a local mirror of the torch and CUDA wheels. Empty values
# leave pip's default (PyPI). pip reads both from the environment, as RUN sees build args.
ARG PIP_INDEX_URL=""
ARG PIP_EXTRA_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python3 -m venv /opt/venv

WORKDIR /src

# Dependencies get their own layer, read from pyproject.toml, so a code change does not
# reinstall torch.
COPY pyproject.toml ./
RUN /opt/venv/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt

# A regular (non-editable) install, so the final stage needs no source tree.
COPY . ./
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps .

# Import the entry points from outside /src, so the build fails when a package the service
# imports is missing from the wheel.
WORKDIR /
RUN /opt/venv/bin/python -c "import app.main, app.cli, training.cli"


FROM ${BASE_IMAGE}

# A fixed UID and GID (10001), so host folders mounted as volumes can be given to this user.
RUN groupadd --gid 10001 classify \
    && useradd --uid 10001 --gid classify --create-home --shell /usr/sbin/nologin classify \
    && mkdir -p /var/lib/classify/jobs \
    && chown classify:classify /var/lib/classify/jobs

COPY --from=builder /opt/venv /opt/venv

# Models stay owned by root: the service only reads them, and a TorchScript file can run code.
WORKDIR /srv/classify
COPY models/ ./models/

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CLASSIFY_HOST=0.0.0.0 \
    CLASSIFY_PORT=8000 \
    CLASSIFY_MODEL_DIR=/srv/classify/models \
    CLASSIFY_JOBS_DIR=/var/lib/classify/jobs

# Job uploads and results. A named volume or host folder keeps finished jobs across containers.
VOLUME ["/var/lib/classify/jobs"]

USER 10001:10001
EXPOSE 8000

# /readyz returns 200 once every model is loaded and warmed up, and urlopen raises on any
# other status. The 120 s start period is an estimate with room for CUDA initialisation,
# which was not measured. On 2 CPU cores the service was ready 2 s after start.
# NOTE: the check connects to 127.0.0.1, so it fails when CLASSIFY_HOST binds another address.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CLASSIFY_PORT', '8000') + '/readyz', timeout=4)"]

# Exec form: classify-serve (uvicorn) is PID 1 and receives SIGTERM from `docker stop`, then
# finishes queued requests before it exits.
CMD ["classify-serve"]
