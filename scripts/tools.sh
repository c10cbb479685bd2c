#!/usr/bin/env bash
# Builds the bench's pinned tools from the Go module proxy into a versioned cache outside the repo.
# Already-built tools are skipped, so a second run costs a few stat calls.
#   scripts/tools.sh              build what is missing, print what is built
#   scripts/tools.sh bin-dir      print the directory holding the binaries (builds nothing)
#   scripts/tools.sh node-bin     print the path of the real Chainlink node binary (builds nothing)
#   scripts/tools.sh cache-dir    print the cache's root (images and downloads live there too)
# CHAINLINK_K8S_REAL_NODE=0 skips the real node's build (about 12 min cold); CI always builds it.
set -euo pipefail

K8S_VERSION=v1.34.4          # kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy
ETCD_VERSION=v3.6.4          # the etcd that k8s.io/kubernetes v1.34.4 requires in its go.mod
KWOK_VERSION=v0.7.0
HELM_VERSION=v3.19.5         # built against the k8s 1.34 libraries
CT_VERSION=v3.14.0
HELM_UNITTEST_VERSION=v1.1.2
COREDNS_VERSION=v1.13.2      # the real-pod lane's cluster DNS; requires client-go v0.34, like K8S_VERSION
PROMETHEUS_VERSION=v3.16.0   # promtool (alert rule tests) and the server behind docs/dashboard.png
VERSITYGW_VERSION=v1.8.0     # the bench's S3 server (devkit/cluster/objectstore.py): Apache-2.0, its LICENSE's line 1
AGE_VERSION=v1.3.2           # age and age-keygen, the backups' encryption: BSD-3-Clause
KUBE_SCORE_VERSION=v1.20.0   # the chart lane's outside linter (tests/chart/test_kube_score.py): MIT
# The bench's dev chain (devkit/cluster/devchain.py): geth is GPL-3.0 (COPYING; its library LGPL-3.0), run
# here as a separate program and shipped in no image.
GETH_VERSION=v1.17.10
# The newest github.com/smartcontractkit/chainlink/v2 the Go module proxy serves here (v2.24+ answer 403).
CHAINLINK_VERSION=v2.23.0

CACHE_ROOT=${CHAINLINK_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chainlink-k8s}
TOOLS_DIR=$CACHE_ROOT/tools/k8s-$K8S_VERSION.etcd-$ETCD_VERSION.kwok-$KWOK_VERSION.helm-$HELM_VERSION.ct-$CT_VERSION.unittest-$HELM_UNITTEST_VERSION.coredns-$COREDNS_VERSION
BIN=$TOOLS_DIR/bin

NODE_BIN=$CACHE_ROOT/chainlink-node/$CHAINLINK_VERSION/bin/chainlink
# Prometheus has a versioned directory of its own, linked into $BIN: its version in TOOLS_DIR's name would
# rebuild every other tool whenever only Prometheus moves.
PROMETHEUS_DIR=$CACHE_ROOT/tools/prometheus-$PROMETHEUS_VERSION
VERSITYGW_DIR=$CACHE_ROOT/tools/versitygw-$VERSITYGW_VERSION  # the same for the ones below
AGE_DIR=$CACHE_ROOT/tools/age-$AGE_VERSION
KUBE_SCORE_DIR=$CACHE_ROOT/tools/kube-score-$KUBE_SCORE_VERSION
GETH_DIR=$CACHE_ROOT/tools/geth-$GETH_VERSION

if [[ ${1:-} == bin-dir ]]; then echo "$BIN"; exit 0; fi
if [[ ${1:-} == node-bin ]]; then echo "$NODE_BIN"; exit 0; fi
if [[ ${1:-} == cache-dir ]]; then echo "$CACHE_ROOT"; exit 0; fi

command -v go >/dev/null || { echo "tools.sh: Go is required (https://go.dev/dl); none is on PATH" >&2; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$BIN" "$TOOLS_DIR/build"
log() { printf '[tools] %s\n' "$*" >&2; }

# Wrapper module for a release whose go.mod replaces sibling modules with local paths (k8s staging repos,
# etcd's api/client modules), which makes `go install mod@version` fail. Each such local replace is
# redirected to the sibling's published tag ($3); replaces of modules the release does not require
# (etcd's FORBIDDEN_DEPENDENCY guard) are dropped; other replaces carry over unchanged.
wrapper_module() {
  local dir=$1 module=$2 sibling_version=$3 version=$4 gomod
  rm -rf "$dir" && mkdir -p "$dir"
  gomod=$(go mod download -json "$module@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  (
    cd "$dir"
    go mod init "wrapper.local/$(basename "$dir")" 2>/dev/null
    go mod edit -json "$gomod" | python3 -c '
import json, sys
mod = json.load(sys.stdin)
sibling = sys.argv[1]
required = {r["Path"] for r in mod.get("Require") or []}
for r in mod.get("Replace") or []:
    old, new = r["Old"]["Path"], r["New"]
    if new["Path"].startswith((".", "/")):
        if old in required:
            print(f"-replace={old}={old}@{sibling}")
    else:
        old_v = "@" + r["Old"]["Version"] if r["Old"].get("Version") else ""
        new_path, new_v = new["Path"], new["Version"]
        print(f"-replace={old}{old_v}={new_path}@{new_v}")
' "$sibling_version" | xargs -r go mod edit
    go get "$module@$version"
  )
}

build_kubernetes() {
  local names=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy) missing=0 n
  for n in "${names[@]}"; do [[ -x $BIN/$n ]] || missing=1; done
  ((missing)) || return 0
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local staging=v0.${K8S_VERSION#v1.} dir=$TOOLS_DIR/build/kubernetes
  log "building ${names[*]} $K8S_VERSION (staging modules at $staging)"
  wrapper_module "$dir" k8s.io/kubernetes "$staging" "$K8S_VERSION"
  # Without these the binaries report v0.0.0-master, which breaks helm's and kwok's version checks.
  local v date ldflags="-s -w"
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
    ldflags+=" -X $v.gitTreeState=clean -X $v.buildDate=$date"
  done
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$dir/out/" \
    "${names[@]/#/k8s.io/kubernetes/cmd/}")
  for n in "${names[@]}"; do mv "$dir/out/$n" "$BIN/$n"; done
}

# Builds $4 from a wrapper module around $2@$3 (and local replaces pointing at $5, default $3). ct goes
# this way too: `go install ct@v3.14.0` asks the proxy for the module's version list to check for a
# deprecation notice, and the proxy answers that list with 403.
build_wrapped() {
  local name=$1 module=$2 version=$3 pkg=$4 sibling=${5:-$3}
  [[ -x $BIN/$name ]] && return 0
  log "building $name from $pkg@$version"
  local dir=$TOOLS_DIR/build/$name
  wrapper_module "$dir" "$module" "$sibling" "$version"
  (cd "$dir" && go build -trimpath -ldflags "-s -w ${LDFLAGS_EXTRA:-}" -o "$dir/$name" "$pkg")
  mv "$dir/$name" "$BIN/$name"
}

# go install for modules without local replaces; $3.. are extra go flags.
install_tool() {
  local name=$1 pkg=$2; shift 2
  [[ -x $BIN/$name ]] && return 0
  log "building $name from $pkg"
  GOBIN=$TOOLS_DIR/build/gobin go install -trimpath "$@" "$pkg"
  mv "$TOOLS_DIR/build/gobin/$(basename "${pkg%@*}")" "$BIN/$name"
}

build_helm() {
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  install_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" -ldflags "-s -w
    -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
}

# The real node, built as its Makefile does (version stamped with -ldflags, or it reports "unset") from the
# module zip, so that the module's own replace lines apply. The checksum database does not answer for this
# module: verification is skipped for its path alone; its go.sum still pins every dependency.
build_chainlink_node() {
  [[ -x $NODE_BIN ]] && return 0
  local module=github.com/smartcontractkit/chainlink/v2 dir zip
  dir=$(dirname "$(dirname "$NODE_BIN")")/build
  log "building the Chainlink node $CHAINLINK_VERSION (about 12 min cold on 2 cores, 20 s warm)"
  zip=$(GONOSUMDB=$module go mod download -json "$module@$CHAINLINK_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Zip"])')
  rm -rf "$dir" && mkdir -p "$dir" "$(dirname "$NODE_BIN")"
  (cd "$dir" && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall()' "$zip" && chmod -R u+w .)
  local static=$module/core/static
  (cd "$dir/$module@$CHAINLINK_VERSION" && CGO_ENABLED=1 GONOSUMDB=$module go build -trimpath \
    -ldflags "-s -w -X $static.Version=${CHAINLINK_VERSION#v} -X $static.Sha=modproxy-$CHAINLINK_VERSION" \
    -o "$NODE_BIN.tmp" .)
  mv "$NODE_BIN.tmp" "$NODE_BIN"
  rm -rf "$dir"
}

# promtool and prometheus, stamped with their version as Prometheus's own build (promu) does. Prometheus 3.x is
# published as Go module versions v0.3MM.P (v3.16.0 is v0.316.0). Without the `builtinassets` tag the server
# has no web UI; its HTTP API, all that the tests and the dashboard picture use, works without it.
build_prometheus() {
  local n
  if [[ ! -x $PROMETHEUS_DIR/promtool || ! -x $PROMETHEUS_DIR/prometheus ]]; then
    local major minor patch module_version
    IFS=. read -r major minor patch <<<"${PROMETHEUS_VERSION#v}"
    module_version=v0.$((major * 100 + minor)).$patch
    log "building promtool and prometheus $PROMETHEUS_VERSION (module $module_version)"
    GOBIN=$PROMETHEUS_DIR go install -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" \
      "github.com/prometheus/prometheus/cmd/promtool@$module_version" \
      "github.com/prometheus/prometheus/cmd/prometheus@$module_version"
  fi
  for n in promtool prometheus; do ln -sfn "$PROMETHEUS_DIR/$n" "$BIN/$n"; done
}

# Tools in a versioned directory of their own ($1), linked into $BIN like Prometheus: $2 the binaries it
# holds (space-separated), the rest go install's arguments.
install_linked() {
  local dir=$1 names=$2 n missing=0; shift 2
  for n in $names; do [[ -x $dir/$n ]] || missing=1; done
  if ((missing)); then
    log "building $names into $dir"
    GOBIN=$dir go install -trimpath "$@"
  fi
  for n in $names; do ln -sfn "$dir/$n" "$BIN/$n"; done
}

build_wrapped etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
build_helm
install_tool kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" -ldflags "-s -w"
install_tool coredns "github.com/coredns/coredns@$COREDNS_VERSION" -ldflags "-s -w"
LDFLAGS_EXTRA="-X github.com/helm/chart-testing/v3/ct/cmd.Version=$CT_VERSION" \
  build_wrapped ct github.com/helm/chart-testing/v3 "$CT_VERSION" github.com/helm/chart-testing/v3/ct
# Called directly as `helm-unittest CHART`: nothing is registered in the user's helm plugin directory.
build_wrapped helm-unittest github.com/helm-unittest/helm-unittest "$HELM_UNITTEST_VERSION" \
  github.com/helm-unittest/helm-unittest/cmd/helm-unittest
build_kubernetes
build_prometheus
# versitygw's Makefile stamps main.Version and main.Build (a git hash, which a module zip does not have).
install_linked "$VERSITYGW_DIR" versitygw -ldflags "-s -w -X main.Version=$VERSITYGW_VERSION
  -X main.Build=modproxy-$VERSITYGW_VERSION" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
# `age --version` reads the module version from the build info.
install_linked "$AGE_DIR" "age age-keygen" -ldflags "-s -w" \
  "filippo.io/age/cmd/age@$AGE_VERSION" "filippo.io/age/cmd/age-keygen@$AGE_VERSION"
# kube-score stamps main.version (goreleaser's default); without it `kube-score version` says "development".
install_linked "$KUBE_SCORE_DIR" kube-score -ldflags "-s -w -X main.version=${KUBE_SCORE_VERSION#v}" \
  "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
# geth's go.mod has no replace lines; its version string comes from params/version.go (1.17.10-stable).
# About 2 min 40 s cold on 2 cores.
install_linked "$GETH_DIR" geth -ldflags "-s -w" "github.com/ethereum/go-ethereum/cmd/geth@$GETH_VERSION"
rm -rf "$TOOLS_DIR/build"
log "all tools present in $BIN"
if [[ ${CHAINLINK_K8S_REAL_NODE:-1} != 0 ]]; then
  build_chainlink_node
  log "real node present: $NODE_BIN"
fi
