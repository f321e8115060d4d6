"""Which differences between two versions of an event schema break existing consumers.

Additive changes are allowed: a new optional field, a new enum member, a new event type.
Breaking: a removed (or renamed) field, a changed type, a field that became required,
a removed enum member, a removed event type or version.
"""

from typing import Any

Schema = dict[str, Any]


def _resolve(node: Schema, root: Schema) -> Schema:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)
    return node


def _shape(node: Schema, root: Schema) -> Any:
    """What a consumer relies on: types, formats, patterns, constants, nested shapes."""
    node = _resolve(node, root)
    if "anyOf" in node or "oneOf" in node:
        options = node.get("anyOf") or node.get("oneOf") or []
        return ("union", sorted(repr(_shape(n, root)) for n in options))
    if "enum" in node:
        return ("enum", node.get("type"))
    if node.get("type") == "array":
        return ("array", _shape(node.get("items", {}), root))
    keys = ("type", "format", "pattern", "const")
    return tuple((k, node[k]) for k in keys if k in node)


def _enum_removals(
    path: str, old: Schema, new: Schema, old_root: Schema, new_root: Schema
) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    if old.get("type") == "array":
        return _enum_removals(path, old.get("items", {}), new.get("items", {}), old_root, new_root)
    gone = set(old.get("enum", [])) - set(new.get("enum", []))
    return [f"{path}: enum values removed {sorted(gone)}"] if gone else []


def breaking_changes(old: Schema, new: Schema, name: str = "") -> list[str]:
    """Human-readable list of breaking differences from `old` to `new` (empty when compatible)."""
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for field, old_node in old_props.items():
        path = f"{name}.{field}" if name else field
        if field not in new_props:
            problems.append(f"{path}: field removed or renamed")
            continue
        new_node = new_props[field]
        if _shape(old_node, old) != _shape(new_node, new):
            problems.append(f"{path}: type changed")
        problems += _enum_removals(path, old_node, new_node, old, new)
    for field in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        problems.append(
            f"{name}.{field}: new required field" if name else f"{field}: new required field"
        )
    return problems


def catalogue_breaks(old: dict[str, Schema], new: dict[str, Schema]) -> list[str]:
    """Breaking differences between two whole catalogues (file name -> schema)."""
    problems = [f"{n}: event schema removed" for n in sorted(set(old) - set(new))]
    for n in sorted(set(old) & set(new)):
        problems += breaking_changes(old[n], new[n], n)
    return problems
