#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent: Python venv with the project and its dev tools, Go if
# absent (the toolchain zip from the Go module proxy), and the bench binaries (scripts/tools.sh).
# Prints the venv's activate path last.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }
GO_VERSION=1.26.8
# sha256 of the proxy's golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64.zip, checked before it is unpacked
# (the go command checks it against the checksum database, which does not answer here). Recorded on 2026-12-04.
GO_ZIP_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
GO_MIN_MINOR=26  # helm-unittest v1.1.2's go.mod says go 1.26; GOTOOLCHAIN=local forbids auto-upgrades

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  log "installing python3 and venv from Debian"
  apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
fi

# The real-node lane runs a throwaway Postgres from Debian's server binaries (devkit/realnode/postgres.py).
if [[ ${CHAINLINK_K8S_REAL_NODE:-1} != 0 ]] && ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; then
  log "installing Debian's postgresql for the real-node lane"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# The real-pod lane: a kubelet node on containerd (devkit/cluster/kubelet.py), images made with mmdebstrap and
# buildah (devkit/cluster/images.py). CHAINLINK_K8S_REAL_PODS=0 skips it (and the lane's tests).
not_installed() {
  local p
  for p; do dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || echo "$p"; done
}
if [[ ${CHAINLINK_K8S_REAL_PODS:-1} != 0 ]]; then
  missing=$(not_installed containerd runc containernetworking-plugins iptables conntrack mmdebstrap buildah)
  if [[ -n $missing ]]; then
    log "installing Debian's $(echo $missing) for the real-pod lane"
    # shellcheck disable=SC2086
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

VENV=${CHAINLINK_K8S_VENV:-.venv}
if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
stamp=$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -e $stamp ]]; then
  log "installing the agent and dev tools into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e '.[dev]'
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi

go_ok() {
  command -v go >/dev/null && [[ $(go env GOVERSION) =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= GO_MIN_MINOR))
}
if ! go_ok; then
  godir=${CHAINLINK_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chainlink-k8s}/go-$GO_VERSION
  if [[ ! -x $godir/bin/go ]]; then
    # The proxy serves Go toolchains as the module golang.org/toolchain (what GOTOOLCHAIN downloads).
    log "installing Go $GO_VERSION from the Go module proxy (found: $(go env GOVERSION 2>/dev/null || echo none))"
    "$VENV/bin/python" - "$godir" "$GO_VERSION" "$GO_ZIP_SHA256" <<'PY'
import hashlib, io, os, sys, urllib.request, zipfile
target, version, sha256 = sys.argv[1], sys.argv[2], sys.argv[3]
url = f"https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go{version}.linux-amd64.zip"
data = urllib.request.urlopen(url, timeout=300).read()
if hashlib.sha256(data).hexdigest() != sha256:
    sys.exit(f"setup: the Go {version} toolchain zip's sha256 is {hashlib.sha256(data).hexdigest()}, not the pinned {sha256}")
prefix = f"golang.org/toolchain@v0.0.1-go{version}.linux-amd64/"
with zipfile.ZipFile(io.BytesIO(data)) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        path = os.path.join(target, info.filename[len(prefix):])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(z.read(info))
        os.chmod(path, (info.external_attr >> 16) or 0o644)
PY
  fi
  export PATH=$godir/bin:$PATH
fi

bash scripts/tools.sh
if [[ ${CHAINLINK_K8S_REAL_PODS:-1} != 0 && ${CHAINLINK_K8S_REAL_NODE:-1} != 0 ]]; then
  "$VENV/bin/python" -m devkit.cluster images >/dev/null  # cached by recipe: seconds when nothing changed
fi
echo "$VENV/bin/activate"
