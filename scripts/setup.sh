#!/usr/bin/env bash
# One-command set-up for ledgerguard on Debian with Go: installs the Debian
# packages it needs, builds Hyperledger Fabric's binaries from the pinned
# Fabric Go module (network/tools), fetches the pinned ONNX Runtime shared
# library from the npm registry, vendors the chaincode's dependencies and
# downloads the root module's. Idempotent: each step checks whether its
# result is already current and says so.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# chromium: the console's browser end-to-end tests drive it headless
# (test/e2e/console_test.go, through chromedp).
readonly DEBIAN_PACKAGES=(jq curl util-linux openssl ca-certificates chromium)
readonly ORT_NPM_PACKAGE="onnxruntime-node@1.24.1"
readonly ORT_TGZ_SHA256="57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772"
readonly ORT_LIB_SHA256="53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4"
readonly ORT_LIB_IN_TGZ="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
readonly FABRIC_CMDS=(
  github.com/hyperledger/fabric/cmd/peer
  github.com/hyperledger/fabric/cmd/orderer
  github.com/hyperledger/fabric/cmd/osnadmin
  github.com/hyperledger/fabric/cmd/configtxgen
  github.com/hyperledger/fabric/cmd/cryptogen
  github.com/hyperledger/fabric/cmd/configtxlator
  github.com/hyperledger/fabric/cmd/discover
  github.com/hyperledger/fabric-ca/cmd/fabric-ca-server
  github.com/hyperledger/fabric-ca/cmd/fabric-ca-client
)

install_debian_packages() {
  local missing=() p
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "${p}" >/dev/null 2>&1 || missing+=("${p}")
  done
  if ((${#missing[@]} == 0)); then
    log "debian packages: present (${DEBIAN_PACKAGES[*]})"
    return 0
  fi
  log "debian packages: installing ${missing[*]}"
  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_go() {
  command -v go >/dev/null || die "Go is required (go.mod names the version)"
  log "go: $(go version | cut -d' ' -f3)"
}

tools_stamp() {
  cat "${LG_NET}/tools/go.mod" "${LG_NET}/tools/go.sum" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1
}

build_fabric() {
  local stamp_file="${LG_BIN}/.fabric-tools.stamp" stamp
  stamp="$(tools_stamp)"
  if [[ -f "${stamp_file}" && "$(cat "${stamp_file}")" == "${stamp}" ]]; then
    local b ok=true
    for b in peer orderer osnadmin configtxgen cryptogen configtxlator discover fabric-ca-server fabric-ca-client; do
      [[ -x "${LG_BIN}/${b}" ]] || ok=false
    done
    if [[ "${ok}" == true ]]; then
      log "fabric ${LG_FABRIC_VERSION} binaries: current in bin/"
      return 0
    fi
  fi
  log "fabric ${LG_FABRIC_VERSION} + fabric-ca binaries: building from the pinned Go modules (cold: about 3 minutes and 600 MB of module cache; warm: seconds)"
  mkdir -p "${LG_BIN}"
  (cd "${LG_NET}/tools" && GOFLAGS=-mod=readonly go build -trimpath \
    -ldflags "-X github.com/hyperledger/fabric/common/metadata.Version=${LG_FABRIC_VERSION}" \
    -o "${LG_BIN}/" "${FABRIC_CMDS[@]}")
  echo "${stamp}" >"${stamp_file}"
  log "fabric binaries built: $(cd "${LG_BIN}" && ls peer orderer osnadmin configtxgen cryptogen configtxlator discover fabric-ca-server fabric-ca-client | tr '\n' ' ')"
}

install_onnxruntime() {
  local lib_dir="${LG_ROOT}/bin/onnxruntime" lib
  lib="${lib_dir}/libonnxruntime.so.1"
  if [[ -f "${lib}" ]] && [[ "$(sha256sum "${lib}" | cut -d' ' -f1)" == "${ORT_LIB_SHA256}" ]]; then
    log "onnx runtime 1.24.1: present (bin/onnxruntime/libonnxruntime.so.1)"
    return 0
  fi
  command -v npm >/dev/null || die "npm is required to fetch the ONNX Runtime library (package ${ORT_NPM_PACKAGE})"
  log "onnx runtime: fetching ${ORT_NPM_PACKAGE} with npm pack (85 MB, not npm install: its install script would download GPU libraries)"
  local tmp
  tmp="$(mktemp -d "${LG_ROOT}/bin/.ort.XXXXXX")"
  (cd "${tmp}" && npm pack --silent "${ORT_NPM_PACKAGE}" >/dev/null)
  local tgz
  tgz="$(ls "${tmp}"/*.tgz)"
  [[ "$(sha256sum "${tgz}" | cut -d' ' -f1)" == "${ORT_TGZ_SHA256}" ]] || { rm -rf "${tmp}"; die "sha256 of ${ORT_NPM_PACKAGE} does not match the pinned value"; }
  tar -xzf "${tgz}" -C "${tmp}" "${ORT_LIB_IN_TGZ}"
  [[ "$(sha256sum "${tmp}/${ORT_LIB_IN_TGZ}" | cut -d' ' -f1)" == "${ORT_LIB_SHA256}" ]] || { rm -rf "${tmp}"; die "sha256 of libonnxruntime.so.1 does not match the pinned value"; }
  mkdir -p "${lib_dir}"
  mv "${tmp}/${ORT_LIB_IN_TGZ}" "${lib}"
  rm -rf "${tmp}"
  log "onnx runtime 1.24.1: installed bin/onnxruntime/libonnxruntime.so.1 (sha256 verified)"
}

vendor_chaincode() {
  local cc="${LG_ROOT}/chaincode"
  if [[ -f "${cc}/vendor/modules.txt" && "${cc}/vendor/modules.txt" -nt "${cc}/go.mod" && "${cc}/vendor/modules.txt" -nt "${cc}/go.sum" ]]; then
    log "chaincode vendor/: current"
    return 0
  fi
  log "chaincode vendor/: vendoring dependencies (go mod vendor)"
  (cd "${cc}" && go mod download && go mod vendor)
}

download_root_modules() {
  log "root module dependencies: go mod download"
  (cd "${LG_ROOT}" && go mod download)
}

# install_python_tools REQUIREMENTS VENV: the pinned third-party checkers the
# Go tests run (OASIS taxii2-client, stix2-validator) in a virtual
# environment; a stamp of the requirements' sha256 makes a rerun a no-op.
install_python_tools() {
  local req=$1 venv=$2 stamp
  stamp="$(sha256sum "${req}" | cut -d' ' -f1)"
  if [[ -f "${venv}/.requirements.sha256" && "$(cat "${venv}/.requirements.sha256")" == "${stamp}" ]]; then
    log "python test tools: current in ${venv#"${LG_ROOT}/"}"
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is required for the TAXII/STIX conformance tests"
  log "python test tools: installing ${req#"${LG_ROOT}/"} into ${venv#"${LG_ROOT}/"}"
  rm -rf "${venv}"
  python3 -m venv "${venv}"
  # --no-deps: every dependency is pinned in the file; pip check proves none is missing.
  "${venv}/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "${req}"
  "${venv}/bin/pip" check >/dev/null || die "python test tools: ${req#"${LG_ROOT}/"} misses a dependency (pip check)"
  echo "${stamp}" >"${venv}/.requirements.sha256"
}

# install_training_env: the pinned training pipeline's virtual environment
# (models/.venv, models/requirements.txt), which `make models` and
# `ledgerguard models retrain` run; models/Makefile's stamp makes a rerun a
# no-op.
install_training_env() {
  command -v python3 >/dev/null || die "python3 is required for the training pipeline (models/)"
  log "training pipeline: models/.venv from models/requirements.txt"
  make -s -C "${LG_ROOT}/models" venv >/dev/null || die "installing models/requirements.txt into models/.venv failed"
}

main() {
  local started=${SECONDS}
  install_debian_packages
  check_go
  build_fabric
  install_onnxruntime
  vendor_chaincode
  download_root_modules
  install_python_tools "${LG_ROOT}/test/python/requirements.txt" "${LG_ROOT}/.cache/pyenv"
  install_training_env
  log "setup complete in $((SECONDS - started)) s"
}

main "$@"
