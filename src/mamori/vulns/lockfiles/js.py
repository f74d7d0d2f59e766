"""npm ecosystem lockfiles: package-lock.json (v1-v3), yarn.lock (v1 and Berry), pnpm-lock.yaml (v5-v9)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mamori.vulns.components import Component
from mamori.vulns.lockfiles.base import LockfileError, expect_mapping, read_json, read_text, read_yaml


def _split_spec(spec: str) -> tuple[str, str]:
    """`@scope/name@range` -> (name, range)."""
    at = spec.find("@", 1)
    return (spec, "") if at < 0 else (spec[:at], spec[at + 1 :])


def _npm_alias(name: str, version: str) -> tuple[str, str]:
    if version.startswith("npm:"):
        return _split_spec(version[4:])
    if ":" in version:
        # git/github:/file: specs are not versions (and git URLs may carry credentials): no version to match
        return name, ""
    return name, version


def parse_package_lock(path: Path) -> list[Component]:
    data = expect_mapping(read_json(path), path, "the lockfile")
    src = str(path)
    packages = data.get("packages")
    if isinstance(packages, dict) and packages:
        root = expect_mapping(packages.get("", {}), path, "packages['']")
        direct = {
            *root.get("dependencies", {}),
            *root.get("devDependencies", {}),
            *root.get("optionalDependencies", {}),
        }
        out = []
        for key, entry in packages.items():
            if not key or not isinstance(entry, dict) or entry.get("link"):
                continue
            # a package outside node_modules is a local folder (a `file:` dependency, often a vendored copy of a
            # public package): reported under its own name, or the folder's, with the version it declares
            dir_name = key.rsplit("node_modules/", 1)[1] if "node_modules/" in key else key.rsplit("/", 1)[-1]
            name = entry.get("name") or dir_name
            version = str(entry.get("version", ""))
            name, version = _npm_alias(name, version)
            top = key == f"node_modules/{dir_name}"
            out.append(
                (
                    str(entry.get("resolved", "")),
                    Component(
                        "npm",
                        name,
                        version,
                        src,
                        direct=top and dir_name in direct,
                        dev=bool(entry.get("dev") or entry.get("devOptional")),
                    ),
                )
            )
        return _one_per_version(out)
    return _one_per_version(_walk_v1(expect_mapping(data.get("dependencies"), path, "dependencies"), src, top=True))


def _one_per_version(components: Any) -> list[Component]:
    """Nested copies of one name@version (from one source) are one package: direct if any copy is, dev only if
    every copy is. Copies resolved from different places (git commits) stay apart."""
    merged: dict[tuple[str, str, str], Component] = {}
    for resolved, c in components:
        key = (c.name, c.version, resolved)
        seen = merged.get(key)
        if seen is None:
            merged[key] = c
            continue
        direct = True if True in (seen.direct, c.direct) else (None if None in (seen.direct, c.direct) else False)
        merged[key] = Component(
            c.ecosystem, c.name, c.version, c.source_file, direct=direct, dev=bool(seen.dev and c.dev)
        )
    return list(merged.values())


def _walk_v1(deps: dict[str, Any], src: str, *, top: bool) -> Any:
    for name, entry in deps.items():
        if not isinstance(entry, dict):
            continue
        spec = str(entry.get("version", ""))
        real, version = _npm_alias(name, spec)
        component = Component("npm", real, version, src, direct=None if top else False, dev=bool(entry.get("dev")))
        # git copies at different commits stay apart even though neither has a version
        yield str(entry.get("resolved") or spec), component
        yield from _walk_v1(entry.get("dependencies") or {}, src, top=False)


_YARN_VERSION = re.compile(r'^\s+"?version"?:?\s+"?([^"\s]+)"?\s*$')


def parse_yarn_lock(path: Path) -> list[Component]:
    text = read_text(path)
    src = str(path)
    out: list[Component] = []
    header: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            header = line.rstrip().rstrip(":")
            continue
        m = _YARN_VERSION.match(line)
        if m and header is not None and line.startswith("  ") and not line.startswith("   "):
            component = _yarn_component(header, m.group(1), src)
            if component is not None:
                out.append(component)
            header = None
    return out


def _yarn_component(header: str, version: str, src: str) -> Component | None:
    first = header.split(",", maxsplit=1)[0].strip().strip('"')
    if first == "__metadata":
        return None
    name, rng = _split_spec(first)
    if rng.startswith("npm:") and "@" in rng[5:]:
        name, _ = _split_spec(rng[4:])
    if "@workspace:" in first or rng.startswith(("workspace:", "portal:")):
        return None
    if version == "0.0.0-use.local":
        return None
    return Component("npm", name, version, src)


_PNPM_PEERS = re.compile(r"[(_].*$")


def _pnpm_key(key: str, version_field: str | None, *, v5: bool = False) -> tuple[str, str] | None:
    if v5 and not key.startswith("/"):
        host, _, rest = key.partition("/")
        if rest and "." in host and "@" not in host:  # `registry.example/name/version`: a package from that host
            key = "/" + rest
    registry_path = v5 and key.startswith("/")
    key = key.lstrip("/")
    if "@" in key[1:] and not (registry_path and "/" in key[1:]):
        name, version = _split_spec(key)  # v6+: name@version(peers)
        if "/" in version and not version[:1].isdigit():  # tarball/git-like keys carry no version here
            return name, version_field or ""
    else:
        name, _, version = key.rpartition("/")  # v5: name/version_peers
    version = _PNPM_PEERS.sub("", version)
    return name, version_field if version_field and not version else version


def parse_pnpm_lock(path: Path) -> list[Component]:
    data = expect_mapping(read_yaml(path), path, "the lockfile")
    src = str(path)
    packages = expect_mapping(data.get("packages"), path, "packages")
    importers = data.get("importers") or {".": data}
    direct: set[str] = set()
    dev_direct: set[str] = set()
    for imp in importers.values():
        if isinstance(imp, dict):
            direct |= set(imp.get("dependencies") or {}) | set(imp.get("optionalDependencies") or {})
            dev_direct |= set(imp.get("devDependencies") or {})
    # up to v5 keys read /name/version_peers (peers may contain '@'); from v6 /name@version(peers)
    v5 = str(data.get("lockfileVersion", "")).split(".", 1)[0] in ("3", "4", "5")
    out = []
    for key, raw_entry in packages.items():
        entry = raw_entry if isinstance(raw_entry, dict) else {}
        if entry.get("name") and entry.get("version"):
            # git, tarball and local-directory packages: pnpm writes their real name and version out
            name, version = str(entry["name"]), str(entry["version"])
        elif str(key).startswith("file:"):
            continue  # a local directory without a name: pnpm always writes one, so nothing to report
        else:
            parsed = _pnpm_key(str(key), entry.get("version"), v5=v5)
            if parsed is None or not parsed[0]:
                raise LockfileError(f"{path}: invalid package path {key!r}")
            if v5 and not parsed[1][:1].isdigit():
                continue  # `/name/not-a-version` or a git path without one: nothing a version range can match
            name = str(entry.get("name") or parsed[0])
            version = parsed[1]
        is_direct = name in direct or name in dev_direct
        dev = entry.get("dev") if "dev" in entry else (name in dev_direct and name not in direct) if is_direct else None
        out.append(Component("npm", name, version, src, direct=is_direct, dev=dev))
    return out
