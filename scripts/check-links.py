#!/usr/bin/env python3
"""Checks the relative links of the Markdown documentation (make lint).

Every relative link `[text](target)` or `[text](target#anchor)` (and reference definitions
`[name]: target`) in README.md, CHANGELOG.md, docs/**/*.md, clients/*/README.md,
examples/README.md and bench/README.md must name a file or directory that exists, and an anchor
must be the slug of a heading of the target file, as GitHub makes it: lower case, punctuation
other than `-` and `_` dropped, spaces to `-`, a repeated slug followed by `-1`, `-2`, ...
Links inside fenced code blocks and inline code, and absolute URLs (`https:`, `mailto:`, ...),
are skipped. Exits 1 with the list of broken links.

Usage: scripts/check-links.py [file.md ...]   (default: the files above, from the repo root)
"""

import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATTERNS = [
    "README.md",
    "CHANGELOG.md",
    "docs/**/*.md",
    "clients/*/README.md",
    "examples/README.md",
    "bench/README.md",
]

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target "title") and ![alt](target); the text may hold one level of brackets.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(].*?)?\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose_lines(path):
    """(line number, text) of each line outside fenced code blocks."""
    fence = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = FENCE.match(line)
            if m:
                mark = m.group(1)
                if fence is None:
                    fence = mark
                    continue
                if mark[0] == fence[0] and len(mark) >= len(fence):
                    fence = None
                    continue
            if fence is None:
                yield n, line.rstrip("\n")


def slug(text):
    """GitHub's anchor of a heading's text."""
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # punctuation (\w keeps letters, digits and _)
    return text.replace(" ", "-")


_anchors = {}


def anchors(path):
    """The anchors of a Markdown file's headings (and of explicit `<a name|id=...>` tags)."""
    if path not in _anchors:
        seen = {}
        found = set()
        for _, line in prose_lines(path):
            for m in re.finditer(r"<a\s+(?:name|id)=\"([^\"]+)\"", line):
                found.add(m.group(1))
            h = HEADING.match(line)
            if not h:
                continue
            s = slug(h.group(2))
            if s in seen:
                seen[s] += 1
                found.add(f"{s}-{seen[s]}")
            else:
                seen[s] = 0
                found.add(s)
        _anchors[path] = found
    return _anchors[path]


def links(path):
    """(line number, target) of each link outside code."""
    for n, line in prose_lines(path):
        m = REFDEF.match(line)
        if m:
            yield n, m.group(1)
            continue
        text = INLINE_CODE.sub(lambda c: " " * len(c.group(0)), line)
        for m in LINK.finditer(text):
            yield n, m.group(1)


def check(path):
    broken = []
    for n, target in links(path):
        if not target or SCHEME.match(target) or target.startswith("//"):
            continue
        file_part, _, anchor = target.partition("#")
        if file_part:
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
            if file_part.startswith("/"):
                dest = os.path.normpath(os.path.join(ROOT, file_part.lstrip("/")))
        else:
            dest = path
        rel = os.path.relpath(path, ROOT)
        if not os.path.exists(dest):
            broken.append(f"{rel}:{n}: {target}: no such file {os.path.relpath(dest, ROOT)}")
            continue
        if (
            anchor
            and dest.endswith(".md")
            and os.path.isfile(dest)
            and anchor.lower() not in anchors(dest)
        ):
            where = os.path.relpath(dest, ROOT)
            broken.append(f"{rel}:{n}: {target}: no heading #{anchor} in {where}")
    return broken


def main(argv):
    if argv:
        files = [os.path.abspath(f) for f in argv]
    else:
        files = sorted(
            {
                os.path.join(ROOT, f)
                for p in PATTERNS
                for f in glob.glob(p, root_dir=ROOT, recursive=True)
            }
        )
    broken = []
    count = 0
    for f in files:
        count += sum(
            1 for _, t in links(f) if t and not SCHEME.match(t) and not t.startswith("//")
        )
        broken.extend(check(f))
    if broken:
        print(f"check-links: {len(broken)} broken of {count} relative links in {len(files)} files:")
        for b in broken:
            print("  " + b)
        return 1
    print(f"check-links: {count} relative links in {len(files)} files, all resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
