# Sourced from the repository root by the run-*.sh scripts on the GPU machine (bench/gpu/README.md):
# unpacks the Vulkan loader and GL dispatch libraries (.gl), the Node binary (/tmp/node) and Dawn,
# points the Vulkan loader at the NVIDIA driver, and starts nvidia-smi sampling memory every
# SMI_MS milliseconds (default 250) into $OUT/smi.csv; its pid is in SMI.
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
xz -d -c .gpu/node.xz > /tmp/node && chmod +x /tmp/node
[ -f .gpu/node_modules/webgpu/dist/linux-x64/dawn.node ] || xz -d -k .gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz
nvidia-smi --query-gpu=timestamp,memory.used,clocks.sm --format=csv,noheader -lms "${SMI_MS:-250}" > "$OUT/smi.csv" &
SMI=$!
