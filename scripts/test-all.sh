#!/bin/bash
# The whole test suite: type check, lint, unit tests (synth assertions), the network-namespace lab
# (needs root: it fails loudly without it), the npm package as a consumer installs it, the real-Terraform suite (moto),
# and the offline validation of every synthesized stack.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1
echo "== type check"
npx tsc --noEmit -p .
echo "== lint (ESLint with the TypeScript rules, Prettier)"
npm run --silent lint
echo "== unit and lab tests"
npx jest --selectProjects unit lab --ci
echo "== the npm package: packed, installed offline by a fresh cdktf project, synthesized"
npx jest --selectProjects package --ci
echo "== the real Terraform CLI and AWS provider against the emulated AWS API"
# Several test files at once: each has its own emulator, and much of their time is Terraform
# waiting on the provider's pollers.
npm run --silent test:terraform -- --ci
echo "== offline validation of every synthesized stack"
npm run --silent validate
