#!/usr/bin/env bash
# The JAX training path on a GPU machine without TensorFlow (the `device` tool's machine):
#   sketch train --keras-backend jax --device auto --max-minutes 2 on the 15 benchmark categories.
# Needs, beside the repository: .gpu/whl (keras, namex, optree wheels for that machine's Python)
# and .gpu/data/datasets (the 15 x 450 dataset made by `sketch download` here). Writes the run
# and the log under $OUT (or bench/results/gpu); score the test split once, here, afterwards:
#   sketch evaluate $OUT/run --data-dir .gpu/data --split test
set -euo pipefail
OUT=${OUT:-bench/results/gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
python3 -c "import tensorflow" 2>/dev/null && echo "TensorFlow is installed here" || echo "no TensorFlow here"
nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader || true
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
start=$(date +%s)
python3 -m sketchrnn_cli.cli train --keras-backend jax --device auto --max-minutes "${MINUTES:-2}" \
    --data-dir .gpu/data --run-dir "$OUT/run" ${EXTRA:-} 2>&1 | tee "$OUT/train.log"
echo "wall seconds: $(( $(date +%s) - start ))" | tee -a "$OUT/train.log"
rm -rf "$OUT/run/checkpoint"
