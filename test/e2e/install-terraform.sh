#!/bin/bash
# Installs Terraform in the CodeBuild container from HashiCorp's release archive, pinned by
# version and verified by its published SHA-256 (never from a package repository).
# Settings (environment): TERRAFORM_VERSION, TERRAFORM_SHA256, TERRAFORM_ARCH (default linux_arm64),
# INSTALL_DIR (default /usr/local/bin), TERRAFORM_RELEASES_URL (default https://releases.hashicorp.com/terraform).
set -euo pipefail

readonly version="${TERRAFORM_VERSION:?TERRAFORM_VERSION is not set}"
readonly expected_sha256="${TERRAFORM_SHA256:?TERRAFORM_SHA256 is not set}"
readonly arch="${TERRAFORM_ARCH:-linux_arm64}"
readonly install_dir="${INSTALL_DIR:-/usr/local/bin}"
readonly releases_url="${TERRAFORM_RELEASES_URL:-https://releases.hashicorp.com/terraform}"

fail() {
  echo "install-terraform: $*" >&2
  exit 1
}

require_real_checksum() {
  [[ "${expected_sha256}" =~ ^[0-9a-f]{64}$ ]] ||
    fail "TERRAFORM_SHA256 must be the 64-hex SHA-256 published for terraform_${version}_${arch}.zip, got '${expected_sha256}'"
}

download_archive() {
  local url="${releases_url}/${version}/terraform_${version}_${arch}.zip"
  echo "install-terraform: downloading ${url}"
  curl --fail --silent --show-error --location --retry 3 --output "${archive}" "${url}"
}

verify_archive() {
  local actual
  actual="$(sha256sum "${archive}" | cut -d' ' -f1)"
  [[ "${actual}" == "${expected_sha256}" ]] || fail "SHA-256 mismatch for terraform_${version}_${arch}.zip: got ${actual}, expected ${expected_sha256}"
  echo "install-terraform: SHA-256 verified (${actual})"
}

install_binary() {
  unzip -o -q "${archive}" terraform -d "${workdir}"
  install -m 0755 "${workdir}/terraform" "${install_dir}/terraform"
  "${install_dir}/terraform" version
}

main() {
  require_real_checksum
  workdir="$(mktemp -d)"
  archive="${workdir}/terraform.zip"
  trap 'rm -rf "${workdir}"' EXIT
  download_archive
  verify_archive
  install_binary
}

main "$@"
