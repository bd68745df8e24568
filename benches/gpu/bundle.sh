#!/usr/bin/env bash
# Builds what benches/gpu/run.sh needs on a GPU machine without a Rust toolchain, into one folder
# (default .gpu, ignored by git) to carry there:
#
#   BUNDLE/bin/wgpu/{vae,throughput}.xz    the test feature set (flex, wgpu, remote): WGSL
#                                           kernels
#   BUNDLE/bin/vulkan/{vae,throughput}.xz  the same plus `vulkan`: CubeCL's SPIR-V kernels
#   BUNDLE/mnist/                          the four MNIST IDX files
#   BUNDLE/gl/libvulkan1_*.deb             the Vulkan loader, for a machine that lacks it
#   BUNDLE/BUILD                           commit, date and toolchain of the binaries
#
#   bash benches/gpu/bundle.sh [--bundle DIR] [--no-vulkan] [--no-loader] [--no-compress]
#
# The wgpu build shares .ci/run's target folder ($CARGO_TARGET_DIR, default
# /var/tmp/burn-vae-target); the vulkan build is a second feature set of Burn and gets its own
# ($VULKAN_TARGET_DIR, default /var/tmp/burn-vae-vulkan-target): about 35 minutes the first
# time on a 2-core machine. Binaries are stripped and xz-compressed (run.sh unpacks them) to
# fit the GPU machine's 64 MiB carry limit: uncompressed, the wgpu build alone made a 222 MB
# bundle (2026-12-02). README, "GPU figures", has the measured sizes.
set -euo pipefail
cd "$(dirname "$0")/../.."

bundle=.gpu
vulkan=1
loader=1
compress=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=${2:?--bundle needs a folder}; shift 2 ;;
    --no-vulkan) vulkan=0; shift ;;
    --no-loader) loader=0; shift ;;
    --no-compress) compress=0; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bundle.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mnist=${VAE_MNIST_DIR:-../shared/datasets/mnist}
[ -e "$mnist/train-images-idx3-ubyte.gz" ] || [ -e "$mnist/train-images-idx3-ubyte" ] || {
  echo "bundle.sh: no MNIST IDX files in $mnist: set VAE_MNIST_DIR" >&2
  exit 2
}

# Builds the `vae` binary and the throughput bench with the given target folder and features,
# and copies both, stripped, into BUNDLE/bin/NAME.
build() {
  local name=$1 target=$2; shift 2
  echo "== building the $name binaries (target folder $target)"
  CARGO_TARGET_DIR=$target cargo build --release --workspace "$@"
  mkdir -p "$bundle/bin/$name"
  install -m 755 "$target/release/vae" "$bundle/bin/$name/vae"
  local bench
  bench=$(CARGO_TARGET_DIR=$target cargo bench --workspace --bench throughput --no-run \
    --message-format=json "$@" | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and message["target"]["name"] == "throughput":
        print(message["executable"])')
  [ -n "$bench" ] || { echo "bundle.sh: cargo built no throughput bench" >&2; exit 1; }
  install -m 755 "$bench" "$bundle/bin/$name/throughput"
  strip "$bundle/bin/$name/vae" "$bundle/bin/$name/throughput"
  # xz rather than zstd: the GPU machine's Python unpacks it with its standard library alone.
  if [ "$compress" -eq 1 ]; then
    echo "== compressing the $name binaries (xz -9, a few minutes)"
    xz -9 -T0 -f "$bundle/bin/$name/vae" "$bundle/bin/$name/throughput"
  fi
}

rm -rf "$bundle/bin"
build wgpu "${CARGO_TARGET_DIR:-/var/tmp/burn-vae-target}"
if [ "$vulkan" -eq 1 ]; then
  build vulkan "${VULKAN_TARGET_DIR:-/var/tmp/burn-vae-vulkan-target}" --features vae-train/vulkan
fi

mkdir -p "$bundle/mnist"
for stem in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
  t10k-labels-idx1-ubyte; do
  if [ -e "$mnist/$stem.gz" ]; then cp "$mnist/$stem.gz" "$bundle/mnist/"; else
    gzip -c "$mnist/$stem" >"$bundle/mnist/$stem.gz"; fi
done

if [ "$loader" -eq 1 ]; then
  # Debian's amd64 Vulkan loader, whatever this machine's architecture (as the device notes say).
  mkdir -p "$bundle/gl" /tmp/burn-vae-apt-amd64/partial
  options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64
    -oDir::State::Lists=/tmp/burn-vae-apt-amd64)
  apt-get "${options[@]}" update -qq
  (cd "$bundle/gl" && rm -f ./*.deb && apt-get "${options[@]}" download libvulkan1)
fi

{
  echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (uncommitted changes)'), built $(date -u +%Y-%m-%d), $(rustc --version)"
  echo "builds: $(ls "$bundle/bin" | tr '\n' ' ')"
} >"$bundle/BUILD"
du -sh "$bundle"/* | sed 's/^/  /'
echo "bundle ready: $bundle ($(du -sh "$bundle" | cut -f1)); run it with bash benches/gpu/run.sh --bundle $bundle"
