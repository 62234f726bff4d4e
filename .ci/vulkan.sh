#!/usr/bin/env bash
# Software Vulkan for the webgpu tests: Mesa's lavapipe 25 from bookworm-backports (Debian 12's own
# Mesa 22.3 is rejected by Dawn), unpacked under .cache/vulkan without touching the system's apt
# sources. Source it: it exports the variables Dawn's Vulkan loader reads. Idempotent (the cache
# is reused); fetching needs Debian's archive, running needs the system's libLLVM-15.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vk="$root/.cache/vulkan"
mesa="mesa-vulkan-drivers=25.0.7-2~bpo12+1"
if [ ! -f "$vk/ok" ]; then (
  set -euo pipefail
  rm -rf "$vk" && mkdir -p "$vk/sources" "$vk/lists/partial" "$vk/cache/archives/partial" "$vk/debs"
  cat > "$vk/sources/backports.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_o=(-o "Dir::Etc::SourceParts=$vk/sources" -o Dir::Etc::SourceList=/dev/null
    -o "Dir::State::Lists=$vk/lists" -o "Dir::Cache=$vk/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_o[@]}" -qq update
  (cd "$vk/debs" && apt-get "${apt_o[@]}" -qq download "$mesa" libvulkan1 \
    libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports)
  for f in "$vk"/debs/*.deb; do dpkg -x "$f" "$vk/root"; done
  rm -rf "$vk/lists" "$vk/cache" "$vk/debs"
  touch "$vk/ok"
) || return 1 2>/dev/null || exit 1
fi
export LD_LIBRARY_PATH="$vk/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export VK_ICD_FILENAMES="$vk/root/usr/share/vulkan/icd.d/lvp_icd.json"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
