"""Every link between the repository's Markdown pages resolves: a relative
link's file (or picture) exists, and its #anchor is one of that page's
headings as GitHub names them (lower case, punctuation but hyphens dropped,
spaces to hyphens, a repeated heading's name suffixed -1, -2, …). Links
to the web are not followed. Pages: README.md, docs/, models/, graphs/,
debian/, plugins/ and the tests' own, wherever a .md file is tracked."""
import os
import re
import subprocess
import tempfile
import unittest

import nptest

LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def slug(heading):
    """GitHub's anchor for a heading's text (links in it count by their text)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[`*_]", lambda m: "_" if m.group(0) == "_" else "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path):
    """The anchors of a Markdown page's headings, outside code blocks."""
    seen, names, fenced = {}, set(), False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if FENCE.match(line):
                fenced = not fenced
                continue
            m = None if fenced else HEADING.match(line)
            if m:
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                names.add(base if n == 0 else "%s-%d" % (base, n))
    return names


def broken_links(root, pages):
    """(page, link, why) for each relative link of pages (paths under root)
    that does not resolve, and how many relative links there were."""
    bad, cache, checked = [], {}, 0
    for page in pages:
        fenced = False
        with open(os.path.join(root, page), encoding="utf-8") as f:
            text = []
            for line in f:
                if FENCE.match(line):
                    fenced = not fenced
                elif not fenced:
                    text.append(re.sub(r"`[^`]*`", "", line))
        for link in LINK.findall("".join(text)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", link):   # http:, mailto:, …
                continue
            checked += 1
            target, _, anchor = link.partition("#")
            path = os.path.normpath(os.path.join(os.path.dirname(page), target)) if target else page
            full = os.path.join(root, path)
            if not os.path.exists(full):
                bad.append((page, link, "no such file"))
            elif anchor and path.endswith(".md"):
                if path not in cache:
                    cache[path] = anchors(full)
                if anchor not in cache[path]:
                    bad.append((page, link, "no such heading"))
    return bad, checked


class DocsLinks(unittest.TestCase):
    def test_the_checker_finds_what_is_broken(self):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "docs"))
            with open(os.path.join(root, "docs", "a.md"), "w") as f:
                f.write("# Colour hints: what it learnt (2026-12-07)\n\n## Same\n\n## Same\n\n"
                        "```\n# not a heading\n```\n")
            with open(os.path.join(root, "README.md"), "w") as f:
                f.write("[ok](docs/a.md#colour-hints-what-it-learnt-2026-12-07) [ok](docs/a.md#same-1) "
                        "[web](https://example.org/x#y) `[code](nothing.md)`\n"
                        "[gone](docs/b.md) [dateless](docs/a.md#colour-hints-what-it-learnt) "
                        "[fenced](docs/a.md#not-a-heading) ![](docs/images/x.png) [self](#nowhere)\n")
            self.assertEqual(broken_links(root, ["README.md"]), ([
                ("README.md", "docs/b.md", "no such file"),
                ("README.md", "docs/a.md#colour-hints-what-it-learnt", "no such heading"),
                ("README.md", "docs/a.md#not-a-heading", "no such heading"),
                ("README.md", "docs/images/x.png", "no such file"),
                ("README.md", "#nowhere", "no such heading"),
            ], 7))

    def test_every_link_of_the_repository_resolves(self):
        root = nptest.SOURCE_ROOT
        tracked = subprocess.run(["git", "-C", root, "ls-files", "*.md"], capture_output=True, text=True)
        if tracked.returncode != 0:
            self.skipTest("not a git checkout: " + tracked.stderr.strip())
        pages = tracked.stdout.split()
        self.assertIn("README.md", pages)
        bad, checked = broken_links(root, pages)
        self.assertEqual(bad, [])
        self.assertGreater(checked, 100)   # not vacuous: the pages link to each other a lot


if __name__ == "__main__":
    nptest.main()
