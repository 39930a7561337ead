"""A plan drawn as a graph: the trigger, each step, and the edges the engine follows between them.

The edges come from :class:`rapport.campaigns.journeys.engine.Steps` — the very object the engine
moves customers with — so the drawing cannot drift from what runs. Layout is done here, on the
server: a node's row is its longest distance from the trigger, a split's "no" branch opens a new
column to the right, everything else stays in its parent's column (a vertical flow that fits a
phone). Per-step counts come from the engine's own records (see :func:`step_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from rapport.campaigns.journeys.engine import Steps
from rapport.campaigns.models import Enrollment, Plan, SplitDecision, Step

TRIGGER = "trigger"
NODE_WIDTH, NODE_HEIGHT = 164, 100
COLUMN_PITCH, ROW_PITCH = 180, 140
MARGIN = 8


@dataclass(frozen=True)
class Edge:
    """One way out of a node: ``branch`` is "next", "yes" or "no"; ``target`` None means done."""

    source: str
    branch: str
    target: str | None


@dataclass
class Counts:
    """Enrollments per step: entered it, are at it now, moved past it, left the plan at it."""

    entered: int | None = 0
    waiting: int = 0
    passed: int | None = 0
    exited: int = 0
    yes: int = 0
    no: int = 0


@dataclass
class Node:
    key: str
    step: Step | None
    row: int = 0
    column: int = 0
    counts: Counts = field(default_factory=Counts)
    summary: str = ""  # one short line the page writes (what the step does)

    @property
    def x(self) -> int:
        return MARGIN + self.column * COLUMN_PITCH

    @property
    def y(self) -> int:
        return MARGIN + self.row * ROW_PITCH


def edges(steps: Steps) -> list[Edge]:
    """Every edge of the plan, in the engine's own terms (next step, split branches, done)."""
    out = [Edge(TRIGGER, "next", str(steps.ordered[0].position) if steps.ordered else None)]
    for step in steps.ordered:
        if step.kind == Step.Kind.END:
            continue
        if step.kind == Step.Kind.SPLIT:
            for branch in ("yes", "no"):
                target = steps.at(step.config.get(branch), step)
                out.append(Edge(str(step.position), branch, str(target.position) if target else None))
        else:
            target = steps.after(step)
            out.append(Edge(str(step.position), "next", str(target.position) if target else None))
    return out


@dataclass
class Layout:
    nodes: dict[str, Node]
    graph: list[Edge]
    back: set[tuple[str, str]]
    topological: list[str]  # every forward edge goes from an earlier to a later key


def _walk(graph: list[Edge]) -> tuple[list[str], list[str], set[tuple[str, str]]]:
    """Depth first from the trigger ("yes"/"next" before "no"): the visiting order, a
    topological order (reverse finishing order) and the edges that loop back."""
    children: dict[str, list[str]] = {}
    for edge in graph:
        if edge.target is not None:
            children.setdefault(edge.source, []).append(edge.target)
    order: list[str] = []
    finished: list[str] = []
    back: set[tuple[str, str]] = set()
    on_path: set[str] = set()

    def visit(key: str) -> None:
        order.append(key)
        on_path.add(key)
        for child in children.get(key, []):
            if child in on_path:
                back.add((key, child))
            elif child not in order:
                visit(child)
        on_path.discard(key)
        finished.append(key)

    visit(TRIGGER)
    return order, finished[::-1], back


def layout(plan: Plan, steps: Steps | None = None) -> Layout:
    """Nodes with their row and column, the edges, and which edges loop back (drawn beside)."""
    steps = steps or Steps(plan)
    graph = edges(steps)
    order, topological, back = _walk(graph)
    by_position = {str(s.position): s for s in steps.ordered}
    nodes = {key: Node(key, by_position.get(key)) for key in order}
    forward = [e for e in graph if e.target in nodes and (e.source, e.target) not in back]
    placed = {TRIGGER}
    next_column = 1
    for key in order:
        for edge in forward:
            if edge.source != key or edge.target in placed:
                continue
            target = nodes[str(edge.target)]
            if edge.branch == "no":
                target.column, next_column = next_column, next_column + 1
            else:
                target.column = nodes[key].column
            placed.add(target.key)
    for _round in range(len(nodes) + 1):
        for key in topological:  # longest distance from the trigger
            for edge in forward:
                if edge.source == key:
                    child = nodes[str(edge.target)]
                    child.row = max(child.row, nodes[key].row + 1)
        if not _separate(nodes):
            break
    return Layout(nodes, graph, back, topological)


def _separate(nodes: dict[str, Node]) -> bool:
    """Two nodes that landed on one place (branches meeting) move the later one down."""
    taken: set[tuple[int, int]] = set()
    moved = False
    for node in sorted(nodes.values(), key=lambda n: (n.row, n.column)):
        while (node.row, node.column) in taken:
            node.row += 1
            moved = True
        taken.add((node.row, node.column))
    return moved


def step_counts(plan: Plan, drawing: Layout) -> None:
    """Fill each node's counts from the engine's records: two aggregate queries for the plan.

    * waiting / exited — enrollments whose current step is this one, still moving / taken out
      (a cancelled plan leaves its customers at the step they had reached);
    * yes / no — the split decisions written as enrollments left a split;
    * entered — what the edges bring in (the trigger brings everyone not held out), and
      passed = entered − waiting − exited, carried along the edges in the drawing's order.
      A loop has no such order: nodes on one show only what is at them (entered/passed unknown).
    """
    nodes = drawing.nodes
    at_steps = (
        Enrollment.objects.filter(plan=plan, step__isnull=False)
        .values("step__position")
        .annotate(
            waiting=Count("pk", filter=Q(state__in=(Enrollment.State.ACTIVE, Enrollment.State.WAITING))),
            exited=Count("pk", filter=Q(state=Enrollment.State.EXITED)),
        )
    )
    for row in at_steps:
        node = nodes.get(str(row["step__position"]))
        if node is not None:
            node.counts.waiting, node.counts.exited = row["waiting"], row["exited"]
    decisions = SplitDecision.objects.filter(step__plan=plan).values("step__position", "branch").annotate(n=Count("pk"))
    for row in decisions:
        node = nodes.get(str(row["step__position"]))
        if node is not None:
            setattr(node.counts, row["branch"], row["n"])
    entered = Enrollment.objects.filter(plan=plan).exclude(state=Enrollment.State.HELD_OUT).count()
    trigger = nodes[TRIGGER]
    trigger.counts = Counts(entered=entered, passed=entered)
    _carry(drawing)


def _carry(drawing: Layout) -> None:
    nodes = drawing.nodes
    incoming: dict[str, list[Edge]] = {}
    for edge in drawing.graph:
        if edge.target in nodes:
            incoming.setdefault(edge.target, []).append(edge)
    looping = {target for _source, target in drawing.back} | {source for source, _target in drawing.back}
    for key in drawing.topological:
        node = nodes[key]
        if key == TRIGGER:
            continue
        if node.key in looping or any(nodes[e.source].counts.passed is None for e in incoming.get(node.key, [])):
            node.counts.entered = node.counts.passed = None
            continue
        node.counts.entered = sum(_through(nodes[e.source], e) for e in incoming.get(node.key, []))
        node.counts.passed = max(node.counts.entered - node.counts.waiting - node.counts.exited, 0)


def _through(source: Node, edge: Edge) -> int:
    """How many went along ``edge``: a split's branch count, else all that passed its source."""
    if edge.branch in ("yes", "no"):
        return int(getattr(source.counts, edge.branch))
    return source.counts.passed or 0


def canvas(plan: Plan) -> dict[str, Any]:
    """Everything the canvas template draws: placed nodes with counts, edge paths, the size."""
    drawing = layout(plan)
    step_counts(plan, drawing)
    nodes = drawing.nodes
    drawn = [_edge_path(nodes, edge, (edge.source, edge.target or "") in drawing.back) for edge in drawing.graph]
    width = max(n.x for n in nodes.values()) + NODE_WIDTH + MARGIN + 24
    height = max(n.y for n in nodes.values()) + ROW_PITCH + 2 * MARGIN  # room for a last "end" mark
    return {
        "nodes": sorted(nodes.values(), key=lambda n: (n.row, n.column)),
        "edges": drawn,
        "width": width,
        "height": height,
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
    }


@dataclass
class DrawnEdge:
    """An edge's SVG path, where its yes/no label and its "add a step here" button go, and the
    end mark when it leads out of the plan."""

    edge: Edge
    path: str
    label_x: int
    label_y: int
    add_x: int
    add_y: int
    end_x: int | None = None
    end_y: int | None = None


def _edge_path(nodes: dict[str, Node], edge: Edge, loops_back: bool) -> DrawnEdge:
    source = nodes[edge.source]
    sx = source.x + NODE_WIDTH // 2 + {"yes": -30, "no": 30}.get(edge.branch, 0)
    sy = source.y + NODE_HEIGHT
    if edge.target is None or edge.target not in nodes:
        # Done: a short stub down to a small "end" mark below the source.
        ey = sy + ROW_PITCH - NODE_HEIGHT
        return DrawnEdge(edge, f"M{sx},{sy} L{sx},{ey - 8}", sx + 4, sy + 12, sx, (sy + ey) // 2 + 2, sx, ey)
    target = nodes[edge.target]
    tx, ty = target.x + NODE_WIDTH // 2, target.y
    if loops_back:
        side = max(source.x, target.x) + NODE_WIDTH + 12
        path = (
            f"M{sx},{sy} C{sx},{sy + 20} {side},{sy + 20} {side},{sy} "
            f"L{side},{ty - 10} C{side},{ty - 20} {tx},{ty - 20} {tx},{ty}"
        )
        return DrawnEdge(edge, path, sx + 4, sy + 12, side, (sy + ty) // 2)
    middle = (sy + ty) // 2
    path = f"M{sx},{sy} C{sx},{middle} {tx},{middle} {tx},{ty}"
    return DrawnEdge(edge, path, sx + 4, sy + 12, (sx + tx) // 2, middle)
