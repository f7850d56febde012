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


def sync() -> None:
    """Rewrite the guide's file blocks from the example's files (keeping how many pieces each block shows).

    Run ``python tests/guide.py`` after changing the example; then read the prose around the blocks.
    """
    text = GUIDE.read_text()
    pieces: dict[str, list[str]] = {}
    for path in files():
        pieces[path] = (ROOT / path).read_text().rstrip("\n").split("\n\n\n")

    def replace(match: re.Match[str]) -> str:
        path = match["file"]
        if path is None:
            return match[0]
        count = match["body"].count("\n\n\n") + 1
        taken, pieces[path] = pieces[path][:count], pieces[path][count:]
        body = "\n\n\n".join(taken)
        return f"<!-- file: {path} -->\n```{match['lang']}\n{body}\n```"

    updated = _FENCE.sub(replace, text)
    left = {path: rest for path, rest in pieces.items() if rest}
    if left:
        raise SystemExit(f"the guide shows fewer pieces than the files have; add blocks for: {sorted(left)}")
    GUIDE.write_text(updated)


if __name__ == "__main__":
    sync()
