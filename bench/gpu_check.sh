#!/usr/bin/env bash
# GPU check for serbias: TensorFlow sees a GPU, multitask training throughput on 128 x 130
# log-mels (batch 64), and the wall time of 4 bootstrap replicas sharing the GPU
# (train.resources num_gpus 0.25 each) on a local Ray started by `serbias train --executor ray`.
#
# It installs nothing. Install first, in the project's virtualenv:
#     pip uninstall -y tensorflow-cpu     # only in an environment made before the gpu extra existed
#     pip install -e ".[gpu,ray]"         # TensorFlow with its CUDA packages, and Ray
# then, from the repository root:
#     bash bench/gpu_check.sh             # PYTHON=path/to/python to pick another interpreter
#
# Everything runs in a temporary directory (corpus, features, MLflow store) removed at the end;
# the whole check is bounded to LIMIT seconds (default 300) and stops with a message past it.
set -euo pipefail

LIMIT=${LIMIT:-300}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PYTHON ]] || PYTHON=$(command -v python3)
SERBIAS=$(dirname "$PYTHON")/serbias
[[ -x $SERBIAS ]] || { echo "gpu_check: no serbias next to $PYTHON (pip install -e \".[gpu,ray]\")" >&2; exit 2; }
INSTALL='pip install -e ".[gpu,ray]"'

WORK=$(mktemp -d "${TMPDIR:-/tmp}/serbias-gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The check's runs go to its own store, never to the user's.
unset MLFLOW_TRACKING_URI DVC_ROOT RAY_ADDRESS
export TF_CPP_MIN_LOG_LEVEL=2

# Run a command within what is left of the LIMIT-second budget.
within_budget() {
    local left=$((LIMIT - SECONDS))
    if ((left <= 0)); then
        echo "gpu_check: stopped, over the ${LIMIT} s budget before: $*" >&2
        exit 3
    fi
    local status=0
    timeout --kill-after=10 "$left" "$@" || status=$?
    ((status != 124)) || echo "gpu_check: stopped, over the ${LIMIT} s budget in: $*" >&2
    return "$status"
}

echo "== TensorFlow and the GPU"
# TensorFlow's start-up logging goes to a file, shown only when the check itself breaks.
status=0
within_budget "$PYTHON" - "$INSTALL" 2>"$WORK/tensorflow.log" <<'EOF' || status=$?
import importlib.metadata as metadata
import sys

install = sys.argv[1]


def installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


if installed("tensorflow-cpu"):
    print("gpu_check: tensorflow-cpu is installed "
          f"({'next to tensorflow, overwriting its files' if installed('tensorflow') else 'it cannot use a GPU'}); "
          f"run `pip uninstall -y tensorflow-cpu tensorflow` then `{install}`", file=sys.stdout)
    sys.exit(2)
import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
if not gpus:
    built = "built with CUDA" if tf.test.is_built_with_cuda() else "built without CUDA"
    print(f"gpu_check: TensorFlow {tf.__version__} ({built}) sees no GPU; check `nvidia-smi` "
          f"and CUDA_VISIBLE_DEVICES, and install with `{install}`")
    sys.exit(2)
for gpu in gpus:
    details = tf.config.experimental.get_device_details(gpu)
    print(f"{gpu.name}: {details.get('device_name', '?')}, "
          f"compute capability {details.get('compute_capability', '?')}")
print(f"TensorFlow {tf.__version__}")
EOF
if ((status != 0)); then
    ((status == 2)) || tail -20 "$WORK/tensorflow.log" >&2
    exit "$status"
fi

echo "== multitask training throughput, 128 x 130 log-mels, batch 64"
within_budget "$PYTHON" "$ROOT/bench/bench_train.py" --configs serbias --steps 200 --warmup 10 \
    --batch-size 64 --n-mels 128 --frames 130

echo "== 4 bootstrap replicas at num_gpus 0.25 on a local Ray"
cd "$WORK"
# The repository's params with 128 x 130 log-mels, short trainings, and a quarter GPU per task.
within_budget "$PYTHON" - "$ROOT/params.yaml" <<'EOF'
import sys
from pathlib import Path

import yaml

from serbias.config import deep_merge

params = yaml.safe_load(Path(sys.argv[1]).read_text(encoding="utf-8"))
params.pop("profiles", None)
overrides = {
    "extract": {"sample_rate": 22050, "logmel": {"n_mels": 128}, "kinds": ["logmel"]},
    "train": {"epochs": 3, "patience": 0, "experiment": "gpu-check",
              "resources": {"num_cpus": 1, "num_gpus": 0.25}},
}
Path("params.yaml").write_text(yaml.safe_dump(deep_merge(params, overrides)), encoding="utf-8")
EOF
within_budget "$SERBIAS" synth data --actors 24 --sentences 2 --force >/dev/null
within_budget "$SERBIAS" split >/dev/null
within_budget "$SERBIAS" extract --kind logmel >/dev/null
clips=$("$PYTHON" -c 'import json; print(len(json.load(open("outputs/split.json"))["train"]))')
start=$(date +%s.%N)
within_budget "$SERBIAS" train --model multitask --bootstrap 4 --executor ray >/dev/null
end=$(date +%s.%N)
"$PYTHON" - "$start" "$end" "$clips" "$(nproc)" <<'EOF'
import sys

start, end, clips, cores = sys.argv[1:]
print(f"4 multitask replicas x 3 epochs ({clips} training clips, 128 x 130), num_gpus 0.25 each, "
      f"local Ray on {cores} CPU cores: {float(end) - float(start):.1f} s wall "
      "(Ray start and MLflow logging included)")
EOF
echo "gpu_check: done in ${SECONDS} s"
