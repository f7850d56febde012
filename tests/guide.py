"""Read the code blocks of docs/writing-a-plugin.md (shared by the guide's tests; not a test module)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "writing-a-plugin.md"
EXAMPLE = ROOT / "examples" / "liter-llm-acme"

_FENCE = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)\n```", re.S)


@attrs.frozen
class Block:
    """One fenced block: its language, its text, and the repository file it shows (if any)."""

    lang: str
    body: str
    file: str | None


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced code block of the guide, in order."""
    source = GUIDE.read_text() if text is None else text
    return [Block(m["lang"], m["body"], m["file"]) for m in _FENCE.finditer(source)]


def files() -> dict[str, str]:
    """The files the guide shows, each assembled from its blocks (joined by two blank lines)."""
    parts: dict[str, list[str]] = {}
    for block in blocks():
        if block.file is not None:
            parts.setdefault(block.file, []).append(block.body)
    return {path: "\n\n\n".join(chunks) + "\n" for path, chunks in parts.items()}


def write_project(target: Path) -> Path:
    """Write the example project exactly as the guide shows it under ``target``; return its folder."""
    prefix = "examples/liter-llm-acme/"
    for path, text in files().items():
        assert path.startswith(prefix), path
        out = target / path.removeprefix(prefix)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    (target / "src" / "liter_llm_acme" / "py.typed").touch()
    return target


def after(block: Block, lang: str) -> Iterator[Block]:
    """The block of language ``lang`` right after ``block`` (its shown output)."""
    seq = blocks()
    index = seq.index(block)
    if index + 1 < len(seq) and seq[index + 1].lang == lang:
        yield seq[index + 1]
