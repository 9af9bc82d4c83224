#!/usr/bin/env bash
# Runs a fixed list of commands on the fixtures and prints each output's
# SHA-256. Tests/IngotTests/OutputPinTests.swift runs the same list and
# compares with Tests/IngotTests/Fixtures/pinned/outputs.tsv, which this
# script wrote before the structure redesign: refactors must not change a byte.
set -euo pipefail
ingot=${1:?usage: tools/pin_outputs.sh INGOT_BINARY}
root="$(cd "$(dirname "$0")/.." && pwd)"
F="$root/Tests/IngotTests/Fixtures"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
while IFS=$'\t' read -r name output args; do
  [ -z "$name" ] && continue
  case "$name" in \#*) continue ;; esac
  eval "set -- $args"
  "$ingot" "$@" >/dev/null 2>&1 || { echo "$name	FAILED"; continue; }
  echo "$name	$(sha256sum "$T/$output" | cut -c1-64)"
done < "$F/pinned/commands.tsv"
