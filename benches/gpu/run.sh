#!/usr/bin/env bash
# GPU figures from binaries built elsewhere (benches/gpu/bundle.sh), on a machine that has a GPU,
# a Vulkan driver and (for the reference) PyTorch with CUDA, but no Rust toolchain. See README,
# "GPU figures".
#
#   bash benches/gpu/run.sh --bundle .gpu --out OUT_DIR          # sized for 8 minutes; not yet
#                                                                # run on a GPU
#   bash benches/gpu/run.sh --bundle .gpu --out OUT_DIR --tiny   # end to end in a few minutes
#                                                                # on Mesa's software driver
#   bash benches/gpu/run.sh --bundle .gpu --check                # only the checks below
#
# It checks that the carried binaries, MNIST, the Vulkan loader and a Vulkan driver are there
# (and says which is missing), then for each build in BUNDLE/bin (wgpu: WGSL through naga;
# vulkan: CubeCL's SPIR-V compiler):
#   1. trains configs/mnist-mlp.json (PyTorch examples/vae settings) for 2 epochs with
#      `vae train --backend wgpu` and reads the test loss and epoch seconds off metrics.csv;
#   2. runs the throughput bench's rows on wgpu (train step at batch 128 and 1024, the conv
#      VAE's step at 128, inference at 1024, the K = 1000 evaluation, matmul), with the PyTorch
#      reference on CUDA beside them;
# and trains PyTorch's examples/vae for 2 epochs on CUDA (benches/pytorch/examples_vae.py).
# Everything lands in OUT_DIR/gpu-table.md (Markdown, for README) and OUT_DIR/run.log.
# A step that fails or runs past its time limit is reported as such in the table and the
# script goes on to the next one.
set -uo pipefail

bundle=.gpu
out=${OUT:-gpu-out}
tiny=0
check_only=0
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=${2:?--bundle needs a folder}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --tiny) tiny=1; shift ;;
    --check) check_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
repo=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "run.sh: $*" >&2; exit 2; }

# ---- checks: everything the run needs, each missing piece named with its fix ----------------
[ -d "$bundle" ] || fail "no bundle folder '$bundle': build it on a machine with Rust with \
'bash benches/gpu/bundle.sh' and carry it along"
bundle=$(cd "$bundle" && pwd)
# Each build's binaries, plain or xz-compressed (bundle.sh compresses them to fit the carry
# limit); compressed ones are unpacked once into $unpacked (xz, else Python's lzma).
unpacked=${TMPDIR:-/tmp}/burn-vae-gpu-bin
unxz() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"; else
    python3 -c 'import lzma, shutil, sys
with lzma.open(sys.argv[1]) as src, open(sys.argv[2], "wb") as dst: shutil.copyfileobj(src, dst)' \
      "$1" "$2"; fi
}
builds=()
declare -A bin_of=()
for dir in "$bundle"/bin/*/; do
  [ -d "$dir" ] || continue
  name=$(basename "$dir")
  bin_of[$name]=${dir%/}
  for exe in vae throughput; do
    [ -x "$dir/$exe" ] && continue
    [ -f "$dir/$exe.xz" ] || fail "missing binary: $dir$exe (the bundle is incomplete: \
rebuild it with 'bash benches/gpu/bundle.sh')"
    bin_of[$name]=$unpacked/$name
  done
  if [ "${bin_of[$name]}" != "${dir%/}" ]; then
    mkdir -p "$unpacked/$name"
    for exe in vae throughput; do
      if [ -x "$dir/$exe" ]; then cp "$dir/$exe" "$unpacked/$name/$exe"; else
        unxz "$dir/$exe.xz" "$unpacked/$name/$exe" || fail "cannot unpack $dir$exe.xz \
(a damaged or partly copied bundle? rebuild it with 'bash benches/gpu/bundle.sh')"
      fi
      chmod +x "$unpacked/$name/$exe"
    done
  fi
  # Built on another machine: its C library must be recent enough here.
  ran=$("${bin_of[$name]}/vae" --help 2>&1 >/dev/null) || fail "the $name build's vae does \
not run here: ${ran:-no message} (a binary built against a newer glibc? build the bundle on a \
system no newer than this one)"
  builds+=("$name")
done
[ "${#builds[@]}" -gt 0 ] || fail "missing binaries: $bundle/bin/<build>/vae and throughput \
(none found; build them with 'bash benches/gpu/bundle.sh')"

data=""
for candidate in "$bundle/mnist" "${VAE_MNIST_DIR:-}"; do
  [ -n "$candidate" ] || continue
  if [ -e "$candidate/train-images-idx3-ubyte.gz" ] || [ -e "$candidate/train-images-idx3-ubyte" ]; then
    data=$candidate
    break
  fi
done
[ -n "$data" ] || fail "missing MNIST: neither $bundle/mnist nor \$VAE_MNIST_DIR holds the \
IDX files (train-images-idx3-ubyte[.gz] ...); bundle.sh copies them"
data=$(cd "$data" && pwd)

# grep reads all of ldconfig's list (no -q): quitting early would kill ldconfig with SIGPIPE,
# which pipefail then reports as a missing loader.
has_loader() { ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; }
if ! has_loader && compgen -G "$bundle/gl/*.deb" >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    for deb in "$bundle"/gl/*.deb; do dpkg -x "$deb" /; done
    ldconfig
  else
    echo "run.sh: the bundle's Vulkan loader needs root to unpack; not unpacked" >&2
  fi
fi
has_loader || fail "missing Vulkan loader: libvulkan.so.1 is not in ldconfig's cache. Install \
libvulkan1, or carry its .deb in $bundle/gl (bundle.sh downloads it)"

# The driver: an ICD manifest named by the environment, or in the standard folders, or the one
# NVIDIA's container runtime puts under /usr/local/nvidia.
icds=()
named=${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-}}
if [ -n "$named" ]; then
  IFS=: read -r -a listed <<<"$named"
  for icd in "${listed[@]}"; do
    [ -f "$icd" ] || fail "missing Vulkan driver: VK_DRIVER_FILES/VK_ICD_FILENAMES names $icd, \
which does not exist"
    icds+=("$icd")
  done
else
  for folder in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    for icd in "$folder"/*.json; do [ -f "$icd" ] && icds+=("$icd"); done
  done
  nvidia=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ "${#icds[@]}" -eq 0 ] && [ -f "$nvidia" ]; then
    export VK_DRIVER_FILES=$nvidia
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    icds+=("$nvidia")
  fi
fi
[ "${#icds[@]}" -gt 0 ] || fail "missing Vulkan driver: no ICD manifest in VK_DRIVER_FILES, \
/usr/share/vulkan/icd.d, /etc/vulkan/icd.d or /usr/local/nvidia/share/vulkan/icd.d (install \
the GPU vendor's driver, or mesa-vulkan-drivers for a software one)"

python=${VAE_BENCH_PYTHON:-python3}
torch_device=""
torch_note="not run: no Python with torch ($python)"
if torch_info=$("$python" -c 'import torch; print(torch.__version__, torch.cuda.is_available())' 2>/dev/null); then
  if [ "${torch_info##* }" = "True" ]; then
    torch_device=cuda
  elif [ "$tiny" -eq 1 ]; then
    torch_device=cpu
  fi
  torch_note="PyTorch ${torch_info% *} on ${torch_device:-no CUDA device: not run}"
fi
gpu_name=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu_name" ] || gpu_name="unknown (no nvidia-smi)"

echo "builds: ${builds[*]}"
echo "MNIST: $data"
echo "Vulkan driver: ${icds[*]}"
echo "GPU: $gpu_name"
echo "reference: $torch_note"
[ "$check_only" -eq 1 ] && exit 0

# ---- the run ----------------------------------------------------------------------------------
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$out/run.log
: >"$log"
if [ "$tiny" -eq 1 ]; then
  # Mesa's software driver compiles every kernel on the CPU: the first steps take minutes.
  config=$repo/configs/smoke.json epochs=2 train_limit=300 bench_limit=300 torch_limit=120
  bench_args=(--batches 32 --images-per-repeat 64 --repeats 1 --workloads train,infer)
  torch_train_args=(--train-images 512 --test-images 128)
else
  config=$repo/configs/mnist-mlp.json epochs=2 train_limit=120 bench_limit=150 torch_limit=60
  bench_args=(--batches 128,1024 --repeats 5 --workloads matmul,train,conv,infer,evaluate)
  torch_train_args=()
fi
# CubeCL autotunes each kernel the first time it runs; on a software driver keep that short.
[ "$tiny" -eq 1 ] && export CUBECL_AUTOTUNE_LEVEL=${CUBECL_AUTOTUNE_LEVEL:-minimal}

# Runs "$@" under a time limit, appending its output to the log; prints ok / failed / timed out.
step() {
  local limit=$1; shift
  echo "== $* (limit ${limit} s)" >>"$log"
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  case $rc in
    0) echo ok ;;
    124|137) echo "timed out after $limit s" ;;
    *) echo "failed (exit $rc, see run.log)" ;;
  esac
}

# Epoch seconds and test loss off a run's metrics.csv (valid_loss: column 5, seconds: column 9).
metrics_cells() {
  awk -F, 'NR > 1 { s = s sprintf("%s%.1f", (NR > 2 ? " / " : ""), $9); loss = $5 }
    END { if (NR > 1) printf "%.2f | %s", loss, s; else printf "– | –" }' "$1"
}

train_rows=()
bench_tables=()
for build in "${builds[@]}"; do
  bin=${bin_of[$build]}
  label="burn-vae wgpu ($build build)"
  [ "$build" = vulkan ] && label="burn-vae wgpu, SPIR-V (vulkan build)"
  [ "$build" = wgpu ] && label="burn-vae wgpu, WGSL (wgpu build)"
  echo "training on $build ..."
  status=$(step "$train_limit" "$bin/vae" train --config "$config" --backend wgpu \
    --epochs "$epochs" --run-dir "$work/run-$build" --data-dir "$data")
  metrics=$work/run-$build/metrics.csv
  if [ -f "$metrics" ]; then cells=$(metrics_cells "$metrics"); else cells="– | –"; fi
  train_rows+=("| $label | $cells | $status |")

  echo "bench on $build ..."
  reference=(--no-pytorch)
  if [ "$build" = "${builds[0]}" ] && [ -n "$torch_device" ]; then
    reference=(--pytorch-device "$torch_device")
  fi
  VAE_BENCH_PYTHON=$python step "$bench_limit" "$bin/throughput" --backends wgpu --epochs 0 \
    --rounds 1 --data-dir "$data" "${bench_args[@]}" "${reference[@]}" >"$work/status"
  status=$(cat "$work/status")
  # The bench prints its header and table last: keep them from the log.
  table=$(awk '/^== /{block=""} {block = block $0 "\n"} END {printf "%s", block}' "$log" \
    | awk '/^burn-vae throughput/{keep=1} keep')
  bench_tables+=("### $label: throughput bench ($status)

${table:-no table: see run.log}")
done

if [ -n "$torch_device" ]; then
  echo "PyTorch training on $torch_device ..."
  status=$(step "$torch_limit" "$python" "$repo/benches/pytorch/examples_vae.py" \
    --data-dir "$data" --epochs "$epochs" --device "$torch_device" "${torch_train_args[@]}")
  cells=$(awk -F, '/^epoch,train_loss/ {on=1; next} on && NF == 4 {
      s = s sprintf("%s%.1f", (n++ ? " / " : ""), $4); loss = $3 }
    END { if (n) printf "%.2f | %s", loss, s; else printf "– | –" }' \
    <(awk '/^== .*examples_vae/{on=1} on' "$log"))
  train_rows+=("| PyTorch examples/vae on $torch_device | $cells | $status |")
fi

commit=$(cat "$bundle/BUILD" 2>/dev/null | head -1)
{
  echo "## GPU figures, $(date -u +%Y-%m-%d)"
  echo
  echo "GPU: $gpu_name. Vulkan driver: ${icds[*]}. Reference: $torch_note."
  echo "Binaries: ${commit:-unknown build}. Mode: $([ "$tiny" -eq 1 ] && echo tiny || echo full)."
  echo
  echo "### Training: $(basename "$config"), $epochs epochs"
  echo
  echo "| run | test loss after the last epoch | seconds per epoch (1st includes kernel compilation and autotuning) | status |"
  echo "|---|---:|---|---|"
  printf '%s\n' "${train_rows[@]}"
  for table in "${bench_tables[@]}"; do
    echo
    echo "$table"
  done
} >"$out/gpu-table.md"
echo "wrote $out/gpu-table.md"
cat "$out/gpu-table.md"
