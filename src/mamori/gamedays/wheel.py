"""Wheel of Misfortune incident lists (a JSON list of {ID, title, scenario, difficulty, inkstory}) as tabletop
GameDay documents: the scenario text is the first clue, and the responders' steps are actions the game master
records. Pure: the list and the people come in, documents (plain data) go out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mamori.core.documents import MAMORI_API


@dataclass(frozen=True)
class Wheel:
    game_master: str
    responders: tuple[str, ...]
    first_response: str = "5m"
    mitigation: str = "30m"


def _name(raw: Any, index: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(raw or index + 1).lower()).strip("-")
    return f"wheel-{slug or index + 1}"[:200]


def to_documents(items: Any, wheel: Wheel) -> list[dict[str, Any]]:
    """One GameDay document per incident; ValueError naming the entry and field that is wrong."""
    if not isinstance(items, list) or not items:
        raise ValueError("expected a non-empty JSON list of incidents")
    docs, seen = [], set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"[{index}] must be an object")
        text = item.get("scenario")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"[{index}].scenario is required: the text read to the responders")
        name = _name(item.get("ID"), index)
        if name in seen:
            raise ValueError(f"[{index}].ID {item.get('ID')!r} is used twice")
        seen.add(name)
        clue = text.strip()
        if isinstance(item.get("inkstory"), str):
            clue += f" (interactive story: {item['inkstory']})"
        labels = {"source": "wheel-of-misfortune", "wheel-id": str(item.get("ID") or index + 1)[:60]}
        if item.get("difficulty") is not None:
            labels["difficulty"] = str(item["difficulty"])[:60]
        title = str(item.get("title") or clue[:80]).strip()[:300]
        docs.append(
            {
                "apiVersion": MAMORI_API,
                "kind": "GameDay",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "title": title,
                    "kind": "tabletop",
                    "participants": [{"user": wheel.game_master, "role": "game-master"}]
                    + [{"user": user, "role": "responder"} for user in wheel.responders],
                    "injects": [{"id": "scenario", "at": "0s", "clue": {"text": clue[:4000]}}],
                    "expectations": [
                        {"id": "first-response", "action": {"name": "first-response", "within": wheel.first_response}},
                        {"id": "mitigation", "action": {"name": "mitigation", "within": wheel.mitigation}},
                    ],
                },
            }
        )
    return docs
