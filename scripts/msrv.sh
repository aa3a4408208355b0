#!/usr/bin/env bash
# Checks the declared minimum Rust version (`rust-version` in Cargo.toml) against the dependency
# tree: only one toolchain exists here, so instead of building with the old compiler this finds
# the highest `rust-version` declared by any crate that the three published crates depend on
# (normal and build dependencies, all features, every target platform, as locked in Cargo.lock)
# and fails if it is above ours. Crates that declare none are counted, not judged.
#
# What it cannot see: our own code using a newer std API or language feature. Clippy's
# `incompatible_msrv` lint (on by default, reads `rust-version`) reports std API use newer than
# the declared version; `cargo clippy` in scripts/test runs it. Language features are checked by
# neither: the newest ones our code uses are let-chains (`if let … && let …`, stable in 1.88 for
# edition 2024) and `#[diagnostic::on_unimplemented]` (1.78), both within 1.88.
#
#   bash scripts/msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."

metadata="$(mktemp)"
trap 'rm -f "$metadata"' EXIT
cargo metadata --format-version 1 --all-features >"$metadata"

python3 - "$metadata" <<'PY'
import json
import sys

PUBLISHED = ("traced-chat", "traced-chat-macros", "traced-chat-runtime")

meta = json.load(open(sys.argv[1]))
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
members = set(meta["workspace_members"])


def version(text):
    parts = [int(x) for x in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


roots = [i for i in members if packages[i]["name"] in PUBLISHED]
declared = {packages[i]["name"]: packages[i].get("rust_version") for i in roots}
if len(roots) != len(PUBLISHED) or None in declared.values():
    sys.exit(f"msrv.sh: every published crate needs a rust-version: {declared}")
ours = max(version(v) for v in declared.values())
ours_text = ".".join(map(str, ours))

# Everything reachable through normal and build dependencies (not dev-dependencies).
seen, stack = set(), list(roots)
while stack:
    node = nodes[stack.pop()]
    for dep in node["deps"]:
        kinds = {k["kind"] for k in dep["dep_kinds"]}
        if kinds & {None, "build"} and dep["pkg"] not in seen:
            seen.add(dep["pkg"])
            stack.append(dep["pkg"])
deps = [packages[i] for i in seen if i not in members]

known = sorted(
    ((version(p["rust_version"]), p["name"], p["version"]) for p in deps if p.get("rust_version")),
    reverse=True,
)
unknown = sorted(p["name"] for p in deps if not p.get("rust_version"))
print(f"our rust-version: {ours_text}; {len(deps)} dependencies, "
      f"{len(known)} declare a rust-version, {len(unknown)} do not")
print("highest declared:")
for v, name, pkg_version in known[:8]:
    print(f"  {'.'.join(map(str, v)):>8}  {name} {pkg_version}")
too_new = [(v, n, pv) for v, n, pv in known if v > ours]
if too_new:
    print(f"msrv.sh: {len(too_new)} dependencies need a newer Rust than {ours_text}:")
    for v, name, pkg_version in too_new:
        print(f"  {'.'.join(map(str, v))}  {name} {pkg_version}")
    sys.exit(1)
print(f"msrv.sh: ok, nothing in the tree declares more than {ours_text}")
PY
