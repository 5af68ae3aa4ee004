#!/bin/sh
# run_gpu_checks.sh - the whole GPU check of the probe engine in one call (a few
# minutes on an H100): build the compute core with gcc and nvcc only (no
# jansson, xlsxwriter, cmark, Check or gnuplot), run the CPU/GPU parity test,
# then the probe sweep on the GPU beside PyTorch's versions when torch imports.
#
#   sh tests/gpu/run_gpu_checks.sh
#
# Exit status: that of the parity test (0 also when it SKIPs without a device).
# Logs go to $OUT (default build/gpu-check); the last lines are a summary.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-build/gpu-check}
mkdir -p "$OUT"
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$NVCC")")}
PEERS=${PEERS:-../shared/peers}
PY=${PY:-python3}
CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -I. -DMLA_HAVE_CUDA"
LIBS="-L$CUDA_HOME/lib64 -Wl,-rpath,$CUDA_HOME/lib64 -lcudart -lstdc++ -lm -lpthread -ldl -lrt"

echo "== build ($(gcc --version | head -1); $("$NVCC" --version | tail -1))"
set -e
for f in pipeline/util.c stages/probes/probe_backend.c stages/probes/probe_cpu.c stages/probes/probe_cpu_simd.c; do
	gcc $CFLAGS -c "$f" -o "$OUT/$(basename "$f" .c).o"
done
"$NVCC" -O3 -arch=sm_90 -I. -DMLA_HAVE_CUDA -Xptxas -v -c cuda/probe_cuda.cu -o "$OUT/probe_cuda.o" \
	2> "$OUT/ptxas.txt"
CORE="$OUT/util.o $OUT/probe_backend.o $OUT/probe_cpu.o $OUT/probe_cpu_simd.o $OUT/probe_cuda.o"
gcc $CFLAGS tests/gpu/parity.c $CORE -o "$OUT/parity" $LIBS
gcc $CFLAGS tests/bench/bench_probe_sweep.c $CORE -o "$OUT/bench_probe_sweep" $LIBS
set +e
grep -E "spill|stack frame" "$OUT/ptxas.txt" | grep -v " 0 bytes spill stores, 0 bytes spill loads" | head -5

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 | head -3

echo "== parity"
timeout 180 "$OUT/parity" > "$OUT/parity.txt" 2>&1
parity=$?
cat "$OUT/parity.txt"
[ "$parity" -eq 0 ] && grep -q '^SKIP' "$OUT/parity.txt" && skipped=1 || skipped=0

if [ "$skipped" -eq 0 ]; then
	echo "== probe sweep on the GPU (1M x 32, 32 probes 32-64-2, Adam, batch 4096, 2 epochs)"
	MLA_PROBE_CUDA_TIMING=1 timeout 120 "$OUT/bench_probe_sweep" --backend cuda --repeat 5 2>&1 | tee "$OUT/sweep_cuda.txt"
	echo "== the same without the CUDA graph"
	MLA_PROBE_CUDA_GRAPH=0 MLA_PROBE_CUDA_TIMING=1 timeout 120 "$OUT/bench_probe_sweep" --backend cuda --repeat 3 \
		2>&1 | grep -E "train_s|run |cuda_train" | tee "$OUT/sweep_cuda_nograph.txt"
	echo "== 128 probes"
	timeout 120 "$OUT/bench_probe_sweep" --backend cuda --probes 128 --repeat 3 2>&1 | grep -E "train_s|run " \
		| tee "$OUT/sweep_cuda_128.txt"
	if "$PY" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null && [ -e "$PEERS/probe_sweep_torch.py" ]; then
		echo "== PyTorch peer ($PEERS/probe_sweep_torch.py)"
		OUT_JSON="$OUT" timeout 240 "$PY" -u "$PEERS/probe_sweep_torch.py" 2>&1 | tee "$OUT/peer.txt"
	else
		echo "== PyTorch peer: SKIP (no torch with CUDA, or $PEERS/probe_sweep_torch.py missing)"
	fi
fi

echo "== summary"
grep -E "^parity:|^SKIP" "$OUT/parity.txt"
if [ "$skipped" -eq 0 ]; then
	ours=$(awk '$1 == "train_s" {print $2}' "$OUT/sweep_cuda.txt")
	echo "ours: train_s $ours (median of 5, includes uploading X and the setup; see cuda_train lines)"
	grep -E "cuda_train" "$OUT/sweep_cuda.txt" | tail -1
	if [ -f "$OUT/peer.txt" ]; then
		for k in bmm_T32_fp32_eager_s bmm_T32_fp32_graph_s bmm_T32_tf32_graph_s; do
			v=$(awk -v k="$k" '$1 == k {print $2}' "$OUT/peer.txt")
			[ -n "$v" ] && [ -n "$ours" ] && echo "peer $k $v s: ratio $(awk -v a="$v" -v b="$ours" 'BEGIN {printf "%.2f", a / b}')x"
		done
	fi
fi
exit "$parity"
