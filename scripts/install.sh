#!/usr/bin/env bash
# Installs what tabtune needs on Debian 12 (bookworm): a software Vulkan driver (lavapipe from
# bookworm-backports; stock bookworm Mesa is too old for Dawn), libvulkan1, Debian's Chromium for
# the browser tests, and the npm packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

need_apt=0
dpkg -s chromium libvulkan1 mesa-vulkan-drivers >/dev/null 2>&1 || need_apt=1
if [ "$need_apt" = 0 ]; then
  # lavapipe from stock bookworm (Mesa 22) fails in Dawn; backports has Mesa 25.
  case "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null)" in 22.*) need_apt=1 ;; esac
fi

if [ "$need_apt" = 1 ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if [ -f /etc/apt/sources.list.d/debian.sources ] && grep -q '^Suites: bookworm bookworm-updates$' /etc/apt/sources.list.d/debian.sources; then
      $SUDO sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' /etc/apt/sources.list.d/debian.sources
    else
      echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
    fi
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  $SUDO apt-get install -y -qq chromium >/dev/null
fi

npm ci --no-audit --no-fund
npm run build
