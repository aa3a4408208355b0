#!/usr/bin/env bash
# Checks that the three published crates package as crates.io would take them: each ships its
# README.md and both license files, the facade leaves the workspace-only parts out (tests,
# benches, scripts, the example library), the example library is `publish = false`, and
# `cargo package` succeeds for all three together (cargo resolves the path dependencies through a
# local overlay of the just-packaged crates).
#
#   bash scripts/package.sh           # package and build each crate from its .crate (minutes)
#   bash scripts/package.sh --quick   # package without building (seconds)
#
# The "ignoring test/benchmark/example … not included in the published package" warnings are
# expected: those targets stay in the repository. Uncommitted changes are packaged too
# (--allow-dirty), so the check runs before a commit.
set -euo pipefail
cd "$(dirname "$0")/.."

verify=()
case "${1:-}" in
  --quick) verify=(--no-verify) ;;
  "") ;;
  *) echo "usage: bash scripts/package.sh [--quick]" >&2; exit 2 ;;
esac

fail() { echo "package.sh: $*" >&2; exit 1; }

for crate in traced-chat traced-chat-macros traced-chat-runtime; do
  list="$(cargo package --list --allow-dirty --package "$crate")" || fail "cargo package --list failed for $crate"
  for file in README.md LICENSE-MIT LICENSE-APACHE; do
    grep -qx "$file" <<<"$list" || fail "$crate does not ship $file"
  done
  if [ "$crate" = traced-chat ]; then
    grep -qx CHANGELOG.md <<<"$list" || fail "traced-chat does not ship CHANGELOG.md"
    if grep -E '^(tests|benches|scripts|\.ci|examples/chat-lib)/|^examples/library_feature\.rs$' \
        <<<"$list"; then
      fail "traced-chat ships workspace-only files (above)"
    fi
  fi
done

publish="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print([p["publish"] for p in json.load(sys.stdin)["packages"] if p["name"] == "chat-lib"])')"
[ "$publish" = "[[]]" ] || fail "examples/chat-lib must be publish = false (found $publish)"

cargo package --workspace --exclude chat-lib --allow-dirty "${verify[@]}"
echo "package.sh: ok"
