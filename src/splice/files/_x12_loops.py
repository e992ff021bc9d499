"""The loops of a few X12 transaction sets, and nesting a transaction set's segments into them.

A loop starts at its trigger segment and takes the segments its table lists (and its own
nested loops) until one it does not take; that one goes to the innermost open loop that takes
it, else to the transaction set itself. Nothing is ever reordered, so flattening the tree in
order gives the segments back as they were. The tables cover the segments these sets commonly
carry (X12 004010/005010), not every optional one: a segment a loop does not list simply closes
it. 856 ship notices nest by their HL segments' parent ids (HL02) instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from splice.files._document import file_invalid


@dataclass(frozen=True, slots=True)
class Loop:
    members: frozenset[str]
    children: dict[str, Loop] = field(default_factory=dict)


def _loop(members: str, **children: Loop) -> Loop:
    return Loop(frozenset(members.split()), children)


_N1 = _loop("N2 N3 N4 REF PER FOB TD1 TD5 TD3 TD4 PKG DMG")
_N9 = _loop("DTM MSG")

LOOPS: dict[str, dict[str, Loop]] = {
    "850": {
        "N9": _N9,
        "N1": _N1,
        "PO1": _loop(
            "CUR PO3 CTP MEA PID PO4 REF PER SAC IT8 CSH ITD DIS TAX FOB SDQ IT3 DTM TC2 TD1 TD5 TD3 TD4 PCT MAN "
            "MSG SPI TXI AMT SCH SLN",
            N9=_N9,
            N1=_N1,
        ),
        "CTT": _loop("AMT"),
    },
    "810": {
        "N1": _N1,
        "N9": _N9,
        "IT1": _loop(
            "CRC QTY CUR IT3 TXI CTP PAM MEA PID PWK PKG PO4 ITD REF YNQ PER SDQ DTM CAD L7 SR SAC SLN LM V1 FA1",
            N1=_N1,
        ),
        "CTT": _loop("AMT"),
    },
    "997": {"AK2": _loop("AK5", AK3=_loop("AK4"))},
}

#: HL03 codes of an 856 and the level they name
HL_LEVELS = {"S": "shipment", "O": "order", "P": "pack", "T": "tare", "I": "item", "F": "feature"}


def nest(kind: str, segments: list[list[Any]], first: int) -> list[Any]:
    """``segments`` (between ST and SE) as a tree of ``{"loop": id, "segments": [...]}`` for a known
    ``kind`` (ST01); ``first`` is the first one's segment number, for errors."""
    if kind == "856":
        return _hierarchy(segments, first)
    table = LOOPS.get(kind)
    if table is None:
        return segments
    top: list[Any] = []
    stack: list[tuple[dict[str, Loop], frozenset[str] | None, list[Any]]] = [(table, None, top)]
    for segment in segments:
        name = segment[0]
        for depth in range(len(stack) - 1, -1, -1):
            children, members, items = stack[depth]
            loop = children.get(name)
            if loop is not None:
                del stack[depth + 1 :]
                node = {"loop": name, "segments": [segment]}
                items.append(node)
                stack.append((loop.children, loop.members, node["segments"]))
                break
            if members is None or name in members:
                del stack[depth + 1 :]
                items.append(segment)
                break
    return top


def _hierarchy(segments: list[list[Any]], first: int) -> list[Any]:
    top: list[Any] = []
    stack: list[tuple[Any, list[Any]]] = [(None, top)]
    for offset, segment in enumerate(segments):
        if segment[0] == "HL":
            own, parent, level = (segment[i] if len(segment) > i else "" for i in (1, 2, 3))
            depth = 0
            if parent:
                depth = next((d for d in range(len(stack) - 1, 0, -1) if stack[d][0] == parent), -1)
                if depth < 0:
                    raise file_invalid(f"HL02 {parent!r} is not an enclosing HL loop (HL01 {own!r})",
                                       segment=first + offset, segment_id="HL")  # fmt: skip
            del stack[depth + 1 :]
            node = {"loop": "HL", "level": HL_LEVELS.get(level, level), "segments": [segment]}
            stack[-1][1].append(node)
            stack.append((own, node["segments"]))
        elif segment[0] == "CTT":
            del stack[1:]
            top.append(segment)
        else:
            stack[-1][1].append(segment)
    return top


def flatten(items: list[Any], out: list[list[Any]]) -> list[list[Any]]:
    """The segments of a (nested) list, in order, appended to ``out``; ValueError for anything else."""
    for item in items:
        if isinstance(item, list):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("segments"), list):
            flatten(item["segments"], out)
        else:
            raise ValueError(f"a segment (a list) or a loop (an object with segments), not {type(item).__name__}")
    return out
