"""Editing a plan's steps the way the canvas shows them: add a step on an edge, change one, delete one.

A plan's steps are a numbered list in which a step leads to the next number unless it names
another (``next`` on any step, ``yes``/``no`` on a split, "end" to finish). Inserting into that
list renumbers everything after, so each edit first turns every reference into a link to a step
itself, changes the links, then numbers the steps again and writes back only the references the
numbering does not already imply. Steps no longer reachable from the start (a deleted split's
"no" branch) go with the edit. The result is the same ``[{"kind", "config"}]`` list the API and
the form send, so :func:`rapport.campaigns.services.save_plan` checks and saves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.campaigns.models import Step
from rapport.core.errors import InvalidInput

START = "trigger"
BRANCHES = ("next", "yes", "no")
ROUTING = ("next", "yes", "no")


@dataclass
class _Node:
    uid: int
    kind: str
    config: dict[str, Any]
    links: dict[str, int | None] = field(default_factory=dict)  # branch → uid, None = done
    send_step: int | None = None  # an engagement split's send step, as a uid


def _target(value: Any, index: int, count: int) -> int | None:
    """The list index a reference leads to (None: done); empty means the next index."""
    if value in (None, "", "next"):
        return index + 1 if index + 1 < count else None
    if value == "end":
        return None
    position = int(value)
    return position - 1 if 1 <= position <= count else None


def _nodes(steps: Sequence[Mapping[str, Any]]) -> list[_Node]:
    count = len(steps)
    nodes = []
    for index, step in enumerate(steps):
        config = dict(step.get("config") or {})
        node = _Node(index, str(step["kind"]), {k: v for k, v in config.items() if k not in ROUTING})
        if node.kind == Step.Kind.SPLIT:
            node.links = {b: _target(config.get(b), index, count) for b in ("yes", "no")}
            if config.get("send_step") not in (None, ""):
                node.send_step = int(config["send_step"]) - 1
        elif node.kind != Step.Kind.END:
            node.links = {"next": _target(config.get("next"), index, count)}
        nodes.append(node)
    return nodes


def _write(nodes: list[_Node], start: int | None) -> list[dict[str, Any]]:
    """Number the steps reachable from ``start`` (it first) and write their references."""
    return _numbered(nodes, start)[0]


def _numbered(nodes: list[_Node], start: int | None) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The written steps and each kept node's new number (by its uid)."""
    by_uid = {n.uid: n for n in nodes}
    reachable: set[int] = set()
    pending = [start] if start is not None else []
    while pending:
        uid = pending.pop()
        if uid in reachable or uid not in by_uid:
            continue
        reachable.add(uid)
        pending.extend(t for t in by_uid[uid].links.values() if t is not None)
    kept = [n for n in nodes if n.uid in reachable]
    kept.sort(key=lambda n: n.uid != start)  # the start first; the others keep their order
    position = {n.uid: i + 1 for i, n in enumerate(kept)}
    written = []
    for index, node in enumerate(kept):
        config = dict(node.config)
        following = kept[index + 1].uid if index + 1 < len(kept) else None
        for branch, target in node.links.items():
            if target == following and target is not None:
                continue  # the numbering already leads there
            if target is None and following is None and branch == "next":
                continue
            config[branch] = position[target] if target is not None else "end"
        if node.send_step is not None:
            config["send_step"] = position.get(node.send_step)
        written.append({"kind": node.kind, "config": config})
    return written, position


def _edge(nodes: list[_Node], source: str, branch: str) -> tuple[_Node | None, int | None]:
    """The node an edge leaves from (None for the trigger) and where it leads now."""
    if source == START:
        return None, (nodes[0].uid if nodes else None)
    index = _position(source, len(nodes), "source") - 1
    node = nodes[index]
    if branch not in node.links:
        raise InvalidInput.single("branch", "invalid", f"step {source} has no {branch!r} way out")
    return node, node.links[branch]


def _position(value: Any, count: int, name: str) -> int:
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= count:
        raise InvalidInput.single(name, "invalid", f"a step number from 1 to {count}")
    return int(text)


def insert(
    steps: Sequence[Mapping[str, Any]], *, source: str, branch: str, kind: str, config: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """A new step on the edge that leaves ``source`` (a step number or "trigger") by ``branch``;
    it leads on to where that edge led. Answers the steps and the new step's number."""
    if kind not in Step.Kind.values:
        raise InvalidInput.single("kind", "invalid", f"one of: {', '.join(Step.Kind.values)}")
    if branch not in BRANCHES:
        raise InvalidInput.single("branch", "invalid", f"one of: {', '.join(BRANCHES)}")
    nodes = _nodes(steps)
    origin, target = _edge(nodes, source, branch)
    new = _Node(len(nodes), kind, {k: v for k, v in config.items() if k not in ROUTING})
    if kind == Step.Kind.SPLIT:
        new.links = {"yes": target, "no": target}
        if config.get("send_step") not in (None, ""):
            new.send_step = _position(config["send_step"], len(nodes), "send_step") - 1
    elif kind != Step.Kind.END:
        new.links = {"next": target}
    at = 0 if origin is None else nodes.index(origin) + 1
    nodes.insert(at, new)
    if origin is not None:
        origin.links[branch] = new.uid
    written, position = _numbered(nodes, new.uid if origin is None else nodes[0].uid)
    return written, position[new.uid]


def change(steps: Sequence[Mapping[str, Any]], *, position: Any, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Step ``position`` with new settings; where it leads stays as it was."""
    index = _position(position, len(steps), "position") - 1
    changed = [dict(s) for s in steps]
    routing = {k: v for k, v in (steps[index].get("config") or {}).items() if k in ROUTING}
    changed[index] = {"kind": steps[index]["kind"], "config": {**dict(config), **routing}}
    return changed


def remove(steps: Sequence[Mapping[str, Any]], *, position: Any) -> list[dict[str, Any]]:
    """Without step ``position``: what led to it leads where it led (a split: its "yes" way);
    steps only its other branch reached go too."""
    nodes = _nodes(steps)
    index = _position(position, len(nodes), "position") - 1
    gone = nodes[index]
    onward = gone.links.get("next", gone.links.get("yes"))
    for node in nodes:
        for branch, target in node.links.items():
            if target == gone.uid:
                node.links[branch] = onward
    start = onward if index == 0 else nodes[0].uid
    return _write([n for n in nodes if n is not gone], start)
