#!/usr/bin/env bash
# Installs what tabtune needs on Debian 12 (bookworm): a software Vulkan driver (lavapipe from
# bookworm-backports; stock bookworm Mesa is too old for Dawn), libvulkan1, Debian's Chromium for
# the browser tests, and the npm packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
APT_ETC=/etc/apt

# bookworm-backports from the machine's own Debian source entries: the same mirror (URIs), components
# and signing key as its `bookworm` entry, suite bookworm-backports. No mirror address of our own.
add_backports_source() {
  local entry=""
  local f
  for f in $APT_ETC/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: print each stanza whose Types has deb and whose Suites has bookworm, with that suite swapped.
    entry="$(awk -v RS= -v ORS='\n\n' '
      /(^|\n)Types:[^\n]*(^|[ \t])deb([ \t]|\n|$)/ && /(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ && !/(^|\n)Enabled:[ \t]*no/ {
        out = ""
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) {
          if (lines[i] ~ /^#/) continue
          if (lines[i] ~ /^Types:/) lines[i] = "Types: deb"
          if (lines[i] ~ /^Suites:/) lines[i] = "Suites: bookworm-backports"
          out = out lines[i] "\n"
        }
        printf "%s\n", out
      }' "$f")"
    if [ -n "$entry" ]; then
      printf '%s\n' "$entry" | $SUDO tee $APT_ETC/sources.list.d/tabtune-bookworm-backports.sources >/dev/null
      return 0
    fi
  done
  # One-line style: `deb [options] URI bookworm components...`.
  entry="$(cat $APT_ETC/sources.list $APT_ETC/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == "bookworm") { $i = "bookworm-backports"; print; break } }' | sort -u)"
  if [ -n "$entry" ]; then
    printf '%s\n' "$entry" | $SUDO tee $APT_ETC/sources.list.d/tabtune-bookworm-backports.list >/dev/null
    return 0
  fi
  echo "install.sh: no Debian bookworm entry in $APT_ETC/sources.list(.d) to derive bookworm-backports from;" >&2
  echo "install.sh: add bookworm-backports for your mirror (https://backports.debian.org/Instructions/) and run this again." >&2
  exit 1
}

need_apt=0
dpkg -s chromium libvulkan1 mesa-vulkan-drivers >/dev/null 2>&1 || need_apt=1
if [ "$need_apt" = 0 ]; then
  # lavapipe from stock bookworm (Mesa 22) fails in Dawn; backports has Mesa 25.
  case "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null)" in 22.*) need_apt=1 ;; esac
fi

if [ "$need_apt" = 1 ]; then
  # Idempotent: an active backports entry (deb822 Suites or a one-line deb) is kept as it is.
  if ! grep -rqsE '^(Suites:.*[[:space:]]bookworm-backports([[:space:]]|$)|deb[[:space:]].*[[:space:]]bookworm-backports([[:space:]]|$))' "$APT_ETC/sources.list" "$APT_ETC/sources.list.d/"; then
    add_backports_source
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  $SUDO apt-get install -y -qq chromium >/dev/null
fi

npm ci --no-audit --no-fund
npm run build
