#!/bin/sh
# bench_probe_sweep.sh - the probe sweep of issue 3 on the CPU, beside PyTorch's
# CPU versions measured in the same run on the same cores.
#
#   sh tests/bench/bench_probe_sweep.sh            # 1M rows, full sweep
#   ROWS=200000 sh tests/bench/bench_probe_sweep.sh
#
# Builds bench_probe_sweep with the compute core only (gcc, libm, pthread), runs
# it REPEAT times (median), then the peers when `import torch` works:
#   - one probe after another: the first figure of ../shared/peers/python_stack_anchor.py
#     (torch_seq_probe_train_s: nn.Sequential + Adam per learning rate);
#   - the 32 probes stacked in batched matmuls: the first figure of
#     ../shared/peers/probe_sweep_torch.py (bmm_T32_fp32_eager_s).
# Both scripts go on to measure more; the rest is cut off once the figure is
# printed. The peers run with PEER_THREADS threads (default 1: on this 2-core
# box PyTorch 1.13 was fastest single-threaded, see RESULTS.md). When the system
# BLAS is Debian's reference libblas and OpenBLAS is found (OPENBLAS_DIR), the
# peers use OpenBLAS through LD_LIBRARY_PATH: the strongest PyTorch we can run.
# Prints "key value" lines and a markdown row for RESULTS.md.
set -eu
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-1000000}
REPEAT=${REPEAT:-3}
PEER_THREADS=${PEER_THREADS:-1}
PEERS=${PEERS:-../shared/peers}
PY=${PY:-/usr/bin/python3}
OPENBLAS_DIR=${OPENBLAS_DIR:-/usr/lib/x86_64-linux-gnu/openblas-pthread}
OUT=${OUT:-build/bench}
mkdir -p "$OUT"

CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -I."
gcc $CFLAGS -o "$OUT/bench_probe_sweep" tests/bench/bench_probe_sweep.c stages/probes/probe_backend.c \
	stages/probes/probe_cpu.c stages/probes/probe_cpu_simd.c pipeline/util.c -lm -lpthread

echo "machine $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
"$OUT/bench_probe_sweep" --backend cpu --rows "$ROWS" --repeat "$REPEAT" | tee "$OUT/ours.txt"
ours=$(awk '$1 == "train_s" {print $2}' "$OUT/ours.txt")

seq_s=""
bmm_s=""
if "$PY" -c "import torch" 2>/dev/null; then
	if [ -e "$OPENBLAS_DIR/libblas.so.3" ]; then
		export LD_LIBRARY_PATH="$OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	fi
	export OMP_NUM_THREADS="$PEER_THREADS" OPENBLAS_NUM_THREADS="$PEER_THREADS" MKL_NUM_THREADS="$PEER_THREADS"
	echo "peer_torch $("$PY" -c 'import torch; print(torch.__version__)')"
	echo "peer_threads $PEER_THREADS"
	echo "peer_gemm_512_gflops $("$PY" -c '
import torch, time
a = torch.randn(512, 512); b = torch.randn(512, 512)
for _ in range(3): a @ b
t = time.perf_counter()
for _ in range(20): a @ b
print(round(2 * 512 ** 3 * 20 / (time.perf_counter() - t) / 1e9, 1))')"
	# the figure KEY printed by SCRIPT, which is stopped right after (it goes on
	# to other measurements we do not need)
	first() { # KEY SCRIPT
		log="$OUT/peer_$1.txt"
		N="$ROWS" DEV=cpu "$PY" -u "$2" > "$log" 2>&1 &
		pid=$!
		while kill -0 "$pid" 2>/dev/null; do
			if grep -q "^$1 " "$log"; then
				kill "$pid" 2>/dev/null
				break
			fi
			sleep 1
		done
		wait "$pid" 2>/dev/null || true
		awk -v k="$1" '$1 == k {print $2; exit}' "$log"
	}
	if [ -e "$PEERS/python_stack_anchor.py" ]; then
		seq_s=$(first torch_seq_probe_train_s "$PEERS/python_stack_anchor.py")
		echo "peer_seq_s $seq_s"
	fi
	if [ -e "$PEERS/probe_sweep_torch.py" ]; then
		bmm_s=$(first bmm_T32_fp32_eager_s "$PEERS/probe_sweep_torch.py")
		echo "peer_bmm_s $bmm_s"
	fi
else
	echo "peer: SKIP (python3 cannot import torch)"
fi

if [ -n "$seq_s$bmm_s" ]; then
	best=$(printf '%s\n%s\n' "$seq_s" "$bmm_s" | awk 'NF && ($1 < m || m == "") {m = $1} END {print m}')
	ratio=$(awk -v a="$best" -v b="$ours" 'BEGIN {printf "%.2f", a / b}')
	echo "ratio_vs_faster_peer $ratio"
	echo "| $(date -u +%Y-%m-%d) | $(getconf _NPROCESSORS_ONLN)-core $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ //") | $ROWS | $ours s | ${seq_s:-?} s | ${bmm_s:-?} s | ${ratio}x |"
fi
