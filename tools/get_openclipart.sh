#!/usr/bin/env bash
# Installs Debian's openclipart-png (public-domain clip art, 131 MB download, 162 MB under
# /usr/share/openclipart/png/), the worked example of training on your own images (configs/sagan_openclipart_32.py).
# Not part of tools/setup.sh: only who wants the example pays the download.
set -euo pipefail
if [ -d /usr/share/openclipart/png ]; then
  echo "openclipart-png is installed: /usr/share/openclipart/png"
  exit 0
fi
if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq openclipart-png >/dev/null
echo "installed openclipart-png: $(find -L /usr/share/openclipart/png -name '*.png' | wc -l) PNGs in /usr/share/openclipart/png"
