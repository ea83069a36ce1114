#!/usr/bin/env bash
# Build the Docker image and check a container end to end: readiness, one image through
# /predict, the bundled CSVs through /classify-dataset, the health check, the non-root user
# and a clean stop on SIGTERM. Prints the image size and the run time.
#
# Run it as root on Debian: it installs docker.io, debootstrap and curl when they are
# missing, and starts dockerd (stopped again at exit) when no engine is running. Without a
# reachable image registry it builds a local bookworm base image with debootstrap. The
# service is only contacted on 127.0.0.1.
#
# Environment:
#   SMOKE_BASE_IMAGE       base image for the build, e.g. python:3.11-slim-bookworm where a
#                          registry is reachable (default: a local Debian image, built once)
#   SMOKE_PIP_MIRROR_DIRS  local package index folders, each with simple/ and files/, that
#                          are served on 127.0.0.1 and preferred over PyPI (default: those of
#                          /opt/pypi-more and /opt/pypi that exist; set it empty for PyPI only)
#   SMOKE_PORT             port the service listens on (default: a free port)
#   SMOKE_READY_TIMEOUT_S  seconds to wait for /readyz (default: 300)
#   SMOKE_IMAGE            tag of the built image (default: classify-service:smoke)
#   KEEP_IMAGE=1           keep the built image afterwards
set -euo pipefail

cd "$(dirname "$0")/.."

start_s=$SECONDS
image=${SMOKE_IMAGE:-classify-service:smoke}
local_base=classify-smoke-base:bookworm
container=classify-smoke-$$
ready_timeout_s=${SMOKE_READY_TIMEOUT_S:-300}
# The host's CA bundle, at Debian's path. Behind a TLS-inspecting proxy it must contain the
# proxy's CA, because the base image gets a copy of it.
ca_bundle=/etc/ssl/certs/ca-certificates.crt

work_dir=$(mktemp -d /tmp/docker-smoke.XXXXXX)
dockerd_pid=""
mirror_pid=""
container_started=0
image_built=0

log() {
    printf '[docker-smoke %4ds] %s\n' "$((SECONDS - start_s))" "$*"
}

fail() {
    log "FAILED: $*" >&2
    exit 1
}

# Print the container's log before failing, because that is where the service reports why.
fail_with_logs() {
    if [[ $container_started == 1 ]]; then
        log "container log (last 60 lines):" >&2
        docker logs --tail 60 "$container" >&2 || true
    fi
    fail "$@"
}

cleanup() {
    local status=$?
    set +e

    if [[ $container_started == 1 ]]; then
        docker rm --force --volumes "$container" >/dev/null 2>&1
    fi

    if [[ $image_built == 1 && ${KEEP_IMAGE:-0} != 1 ]]; then
        docker rmi "$image" >/dev/null 2>&1 && log "removed $image (KEEP_IMAGE=1 keeps it)"
        log "build cache kept; 'docker image prune' and 'docker builder prune' free it"
    fi

    if [[ -n $mirror_pid ]]; then
        kill "$mirror_pid" 2>/dev/null
        wait "$mirror_pid" 2>/dev/null
    fi

    if [[ -n $dockerd_pid ]]; then
        log "stopping the dockerd this script started"
        kill "$dockerd_pid" 2>/dev/null
        for _ in $(seq 1 60); do
            kill -0 "$dockerd_pid" 2>/dev/null || break
            sleep 0.5
        done
    fi

    # debootstrap mounts /proc and /sys in its target, and a failed run can leave them mounted.
    findmnt -rno TARGET | grep "^$work_dir/" | sort -r | xargs -r umount --lazy
    rm -rf "$work_dir"

    if [[ $status == 0 ]]; then
        log "PASSED in $((SECONDS - start_s)) s"
    else
        log "FAILED (exit status $status) after $((SECONDS - start_s)) s" >&2
    fi
    exit "$status"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

apt_install() {
    [[ $(id -u) == 0 ]] || fail "missing $*; install them or run this script as root"
    log "installing $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_missing_tools() {
    local packages=()
    command -v curl >/dev/null || packages+=(curl)
    command -v python3 >/dev/null || packages+=(python3)
    if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null; then
        packages+=(docker.io)
    fi
    if [[ -z ${SMOKE_BASE_IMAGE:-} ]] && ! command -v debootstrap >/dev/null; then
        packages+=(debootstrap)
    fi
    if ((${#packages[@]})); then
        apt_install "${packages[@]}"
    fi
}

start_docker_engine() {
    if docker info >/dev/null 2>&1; then
        log "using the running Docker engine"
        return
    fi
    [[ $(id -u) == 0 ]] || fail "no Docker engine answers 'docker info'; start one or run as root"
    # Without iptables rules, because the build and the container use the host network.
    log "starting dockerd (log: $work_dir/dockerd.log)"
    dockerd --iptables=false >"$work_dir/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 120); do
        docker info >/dev/null 2>&1 && return
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 0.5
    done
    tail -n 30 "$work_dir/dockerd.log" >&2
    fail "dockerd did not become ready within 60 s"
}

# A minimal bookworm with Python 3.11, imported as an image, for machines that cannot pull
# python:3.11-slim-bookworm. Built once and reused.
build_local_base() {
    if docker image inspect "$local_base" >/dev/null 2>&1; then
        log "reusing base image $local_base"
        return
    fi
    local rootfs=$work_dir/rootfs
    log "building base image $local_base with debootstrap (log: $work_dir/debootstrap.log)"
    if ! debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$rootfs" http://deb.debian.org/debian >"$work_dir/debootstrap.log" 2>&1; then
        tail -n 30 "$work_dir/debootstrap.log" >&2
        fail "debootstrap failed"
    fi
    # The host's bundle replaces Debian's, so pip inside the build trusts the same CAs as here.
    cp "$ca_bundle" "$rootfs$ca_bundle"
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/*
    tar --numeric-owner -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "ENV SSL_CERT_FILE=$ca_bundle" \
        --change "ENV PIP_CERT=$ca_bundle" \
        --change 'CMD ["python3"]' \
        - "$local_base" >/dev/null
    rm -rf "$rootfs"
}

# Serve local index folders on 127.0.0.1 and set pip_index_args. They go in as extra
# indexes after PyPI because pip's resolver takes an equal version from the last index that
# lists it, so the local copies of torch and the CUDA wheels win over PyPI's.
# NOTE: that tie-break was observed with pip 23.0 and 23.2; pip does not document it.
pip_index_args=()
serve_pip_mirrors() {
    local dirs=() dir
    if [[ -v SMOKE_PIP_MIRROR_DIRS ]]; then
        read -r -a dirs <<<"$SMOKE_PIP_MIRROR_DIRS"
    else
        for dir in /opt/pypi-more /opt/pypi; do
            [[ -d $dir/simple ]] && dirs+=("$dir")
        done
    fi
    if ((${#dirs[@]} == 0)); then
        log "no local package index; pip downloads everything from PyPI"
        return
    fi

    local port root=$work_dir/mirror index_urls=() i=0
    port=$(free_port)
    mkdir "$root"
    for dir in "${dirs[@]}"; do
        [[ -d $dir/simple ]] || fail "SMOKE_PIP_MIRROR_DIRS: $dir has no simple/ folder"
        ln -s "$(realpath "$dir")" "$root/$i"
        index_urls+=("http://127.0.0.1:$port/$i/simple")
        i=$((i + 1))
    done
    python3 -m http.server --bind 127.0.0.1 "$port" --directory "$root" >"$work_dir/mirror.log" 2>&1 &
    mirror_pid=$!
    for _ in $(seq 1 40); do
        curl -sf -o /dev/null "${index_urls[0]}/" && break
        sleep 0.25
    done
    curl -sf -o /dev/null "${index_urls[0]}/" || fail "local package index on port $port did not start"

    pip_index_args=(--build-arg "PIP_EXTRA_INDEX_URL=${index_urls[*]}")
    log "serving ${dirs[*]} as package indexes on 127.0.0.1:$port"
}

wait_until_ready() {
    local url=$1 deadline=$((SECONDS + ready_timeout_s))
    while ((SECONDS < deadline)); do
        if curl -sf -o /dev/null "$url"; then
            return
        fi
        if [[ $(docker inspect -f '{{.State.Running}}' "$container") != true ]]; then
            fail_with_logs "the container exited before it was ready"
        fi
        sleep 1
    done
    fail_with_logs "$url did not return 200 within $ready_timeout_s s"
}

check_predict_image() {
    local base_url=$1 sample=samples/images/cifar10/cat/0000.jpg response
    response=$(curl -sS --fail-with-body -F "file=@$sample" "$base_url/predict?model=cifar10") ||
        fail_with_logs "POST /predict with $sample failed: $response"
    # The class folders of the bundled images are the model's CIFAR-10 class names.
    python3 - "$response" samples/images/cifar10 <<'EOF' || fail_with_logs "unexpected /predict response"
import json
import os
import sys

body = json.loads(sys.argv[1])
classes = sorted(os.listdir(sys.argv[2]))
if body.get("label") not in classes:
    sys.exit(f"label {body.get('label')!r} is not one of {classes}: {body}")
print(f"  /predict: {body['label']} (confidence {body['confidence']:.3f})")
EOF
}

check_classify_csv() {
    local base_url=$1 model=$2 csv=$3 response
    response=$(curl -sS --fail-with-body -F "file=@$csv" \
        "$base_url/classify-dataset?model=$model&format=json") ||
        fail_with_logs "POST /classify-dataset with $csv failed: $response"
    python3 - "$response" "$csv" <<'EOF' || fail_with_logs "unexpected /classify-dataset response for $csv"
import csv
import json
import sys

body = json.loads(sys.argv[1])
with open(sys.argv[2], newline="", encoding="utf-8", errors="replace") as f:
    rows = sum(1 for _ in csv.reader(f)) - 1
if body.get("classified") != rows or body.get("count") != rows:
    sys.exit(f"expected {rows} rows classified, got count={body.get('count')} classified={body.get('classified')}")
accuracy = (body.get("metrics") or {}).get("accuracy")
if not isinstance(accuracy, float) or not 0.0 <= accuracy <= 1.0:
    sys.exit(f"metrics.accuracy is missing or invalid: {body.get('metrics')}")
print(f"  /classify-dataset {sys.argv[2]}: {rows} rows, accuracy {accuracy:.3f}")
EOF
}

wait_until_healthy() {
    # The health check runs every 15 s, and three failed checks mark the container unhealthy.
    local status=starting deadline=$((SECONDS + 120))
    while ((SECONDS < deadline)); do
        status=$(docker inspect -f '{{.State.Health.Status}}' "$container")
        case $status in
            healthy) return ;;
            unhealthy) fail_with_logs "docker reports the container unhealthy" ;;
        esac
        sleep 2
    done
    fail_with_logs "the container did not become healthy within 120 s (status: $status)"
}

install_missing_tools
start_docker_engine

if [[ -n ${SMOKE_BASE_IMAGE:-} ]]; then
    base_image=$SMOKE_BASE_IMAGE
else
    build_local_base
    base_image=$local_base
fi

serve_pip_mirrors

log "building $image on $base_image"
build_start_s=$SECONDS
# The host network lets pip inside the build reach the index served on 127.0.0.1.
docker build --network host --build-arg "BASE_IMAGE=$base_image" "${pip_index_args[@]}" \
    -t "$image" . || fail "docker build failed"
image_built=1
build_s=$((SECONDS - build_start_s))
log "image built in $build_s s"
if [[ -n $mirror_pid ]]; then
    log "wheels served by the local package index: $(grep -c '"GET /[0-9]*/files/' "$work_dir/mirror.log" || true)"
fi

port=${SMOKE_PORT:-$(free_port)}
base_url=http://127.0.0.1:$port
# Host network, because a dockerd started here runs without iptables and published ports
# may not work. The service binds to 127.0.0.1, so nothing listens on other addresses.
docker run -d --name "$container" --network host \
    -e CLASSIFY_HOST=127.0.0.1 -e "CLASSIFY_PORT=$port" "$image" >/dev/null
container_started=1
run_start_s=$SECONDS
wait_until_ready "$base_url/readyz"
log "ready after $((SECONDS - run_start_s)) s"

check_predict_image "$base_url"
check_classify_csv "$base_url" adult-income samples/tabular/adult.csv
check_classify_csv "$base_url" sms-spam samples/text/sms_spam.csv

wait_until_healthy
log "health check: healthy"

uid=$(docker exec "$container" id -u)
[[ $uid != 0 ]] || fail_with_logs "the service runs as root"
log "service user: uid $uid"

# SIGTERM, then up to 30 s to drain before Docker sends SIGKILL.
docker stop --time 30 "$container" >/dev/null
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
[[ $exit_code == 0 ]] || fail_with_logs "the service exited with status $exit_code after SIGTERM"
docker logs "$container" 2>&1 | grep -q "shutdown complete" ||
    fail_with_logs "the log does not show a graceful shutdown"
log "stopped cleanly (exit status 0)"

size_bytes=$(docker image inspect -f '{{.Size}}' "$image")
log "image size: $size_bytes bytes ($(python3 -c "print(f'{$size_bytes / 1e9:.2f}')") GB)"
log "build time: $build_s s; total run time: $((SECONDS - start_s)) s"
