"""The documentation: a short README that starts with the set-up commands, docs/ pages built by MkDocs with
--strict, links that resolve, reference text without history words, and command lines that use options the
commands have.

Each checker is a function over text, so ``test_checkers_catch_faults`` can show that it fails on a broken link,
a missing anchor, a history word and an option no command has.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CHANGELOG = ROOT / "CHANGELOG.md"
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"

README_MAX_BYTES = 15_000
SETUP_COMMANDS = ('pip install -c constraints.txt -e ".[all]" && pngan demo', "bash scripts/test.sh")
HISTORY_WORDS = ("before the fix", "the then-", "newly", "this session")
MIN_PAGES = 6


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("**/*.md"))


def reference_files() -> list[Path]:
    """README and docs pages: reference text (CHANGELOG.md is where history goes)."""
    return [README, *doc_pages()]


def link_files() -> list[Path]:
    return [README, CHANGELOG, *doc_pages()]


# --- markdown helpers -------------------------------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")


def split_fences(text: str) -> tuple[list[str], list[list[str]]]:
    """(lines outside fenced blocks with the fenced lines blanked, the fenced blocks' lines)."""
    prose, blocks, block = [], [], None
    for line in text.splitlines():
        if FENCE.match(line):
            if block is None:
                block = []
            else:
                blocks.append(block)
                block = None
            prose.append("")
        elif block is not None:
            block.append(line)
            prose.append("")
        else:
            prose.append(line)
    if block is not None:
        blocks.append(block)
    return prose, blocks


CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)


def paragraphs(prose_lines: list[str]) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", "\n".join(prose_lines)) if p.strip()]


def code_spans(prose_lines: list[str]) -> list[str]:
    """Inline code spans (a span may wrap onto the next line of its paragraph)."""
    return [m.group(2) for p in paragraphs(prose_lines) for m in CODE_SPAN.finditer(p)]


def strip_code(prose_lines: list[str]) -> str:
    """Prose without inline code spans (links inside code are not links)."""
    return "\n\n".join(CODE_SPAN.sub("", p) for p in paragraphs(prose_lines))


HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def headings(text: str) -> list[str]:
    prose, _ = split_fences(text)
    return [m.group(2) for line in prose if (m := HEADING.match(line))]


def _heading_text(heading: str) -> str:
    """A heading as rendered text: code spans, links and emphasis reduced to their text."""
    text = re.sub(r"(`+)(.+?)\1", r"\2", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[*_]{1,3}([^*_]+)[*_]{1,3}", r"\1", text)


def slug_mkdocs(heading: str) -> str:
    """Python-Markdown's toc ``slugify`` (what MkDocs uses)."""
    value = unicodedata.normalize("NFKD", _heading_text(heading)).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def slug_github(heading: str) -> str:
    """GitHub's heading anchors: lower case, punctuation except '-' and '_' dropped, each space a '-'."""
    value = _heading_text(heading).strip().lower()
    value = re.sub(r"[^\w\- ]", "", value)
    return value.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a heading of ``text`` gets under MkDocs or GitHub (with their suffixes for repeats)."""
    out: set[str] = set()
    seen_m: dict[str, int] = {}
    seen_g: dict[str, int] = {}
    for h in headings(text):
        for slug, seen, sep in ((slug_mkdocs(h), seen_m, "_"), (slug_github(h), seen_g, "-")):
            n = seen.get(slug, 0)
            out.add(slug if n == 0 else f"{slug}{sep}{n}")
            seen[slug] = n + 1
    return out


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)


def links(text: str) -> list[str]:
    prose, _ = split_fences(text)
    body = strip_code(prose)
    return [m.group(1) for m in LINK.finditer(body)] + [m.group(1) for m in REF_DEF.finditer(body)]


def link_problems(path: Path, text: str, read=lambda p: p.read_text(encoding="utf-8")) -> list[str]:
    """Relative links of ``text`` (the file at ``path``) that do not resolve: a missing file, or an anchor that
    is no heading of the markdown file it points into."""
    bad = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # http:, https:, mailto: ...
        file_part, _, anchor = target.partition("#")
        if not file_part:
            if anchor and anchor not in anchors(text):
                bad.append(f"{path.name}: link {target!r}: no heading #{anchor} in this file")
            continue
        dest = (path.parent / file_part).resolve()
        if not dest.exists():
            bad.append(f"{path.name}: link {target!r}: {dest} does not exist")
            continue
        if anchor and dest.suffix == ".md":
            if anchor not in anchors(read(dest)):
                bad.append(f"{path.name}: link {target!r}: no heading #{anchor} in {dest.name}")
    return bad


def history_problems(name: str, text: str) -> list[str]:
    low = text.lower()
    return [f"{name}: history word {w!r} (history goes to CHANGELOG.md)" for w in HISTORY_WORDS if w in low]


# --- command-line vocabulary ------------------------------------------------------------------------------------

def _norm(opt: str) -> str:
    return opt.replace("_", "-")


def _options_of(cmd) -> set[str]:
    import click

    opts: set[str] = set()
    for p in cmd.params:
        if isinstance(p, click.Option):
            opts.update(_norm(o) for o in (*p.opts, *p.secondary_opts) if o.startswith("--"))
    if cmd.add_help_option is not False:
        opts.add("--help")
    return opts


def cli_vocabulary() -> dict[str, set[str]]:
    """``{"pngan": group options, "pngan <cmd>": options, "pngan-export": options}``, names with '-'."""
    from pngan.cli import main as group
    from pngan.cli.export_cmd import main as export_main

    vocab = {"pngan": _options_of(group) | {"--version"}, "pngan-export": _options_of(export_main)}
    for name, cmd in group.commands.items():
        vocab[f"pngan {_norm(name)}"] = _options_of(cmd)
    return vocab


def code_segments(text: str) -> list[str]:
    """Command-line candidates: each logical line of a fenced block (comments dropped; a line ending in '\\' or
    followed by an indented line continues) and each inline code span."""
    prose, blocks = split_fences(text)
    segments = []
    for block in blocks:
        logical: list[str] = []
        for raw in block:
            line = re.sub(r"(^|\s)#.*$", "", raw)
            if logical and (logical[-1].endswith("\\") or (raw[:1].isspace() and line.strip())):
                logical[-1] = logical[-1].rstrip("\\") + " " + line.strip()
            else:
                logical.append(line.strip())
        segments += [s for s in logical if s]
    return segments + code_spans(prose)


SEPARATORS = {"&&", "||", ";", "then", "do"}
OPTION = re.compile(r"(?<![\w-])--[A-Za-z][A-Za-z0-9_-]*")


def command_options(segment: str) -> list[tuple[str, str]]:
    """``(command, option)`` for every long option written after ``pngan <command>`` or ``pngan-export`` in
    ``segment``, and ``(command, "")`` for each command named, so an unknown command is caught too. A command
    ends at ``&&``, ``;``, a comment or the next command; ``pngan train STAGE``'s stage (which may be ``pngan``)
    is an argument, not a command."""
    out: list[tuple[str, str]] = []
    tokens = [t.strip("`()[]") for t in segment.split()]
    cmd, skip = None, 0
    for i, tok in enumerate(tokens):
        if tok.startswith("#"):
            break
        if tok in SEPARATORS or tok.endswith(";"):
            cmd, skip = None, 0
            continue
        if skip:
            skip -= 1
            if skip == 0 and tok.startswith("-"):  # `pngan train --config ...`: no stage written
                pass
            else:
                continue
        if tok == "pngan-export":
            cmd = "pngan-export"
            out.append((cmd, ""))
            continue
        if tok == "pngan" and (i == 0 or tokens[i - 1] != "train"):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if re.fullmatch(r"[a-z][a-z_-]*", nxt):
                cmd = f"pngan {_norm(nxt)}"
                out.append((cmd, ""))
                skip = 2 if cmd == "pngan train" else 1  # the command word (and the stage)
            else:
                cmd = "pngan"
            continue
        if cmd is not None:
            out += [(cmd, _norm(o)) for o in OPTION.findall(tok)]
    return out


def vocabulary_problems(name: str, text: str, vocab: dict[str, set[str]]) -> list[str]:
    bad = []
    for seg in code_segments(text):
        for cmd, opt in command_options(seg):
            if cmd not in vocab:
                bad.append(f"{name}: `{cmd}`: no such command (in `{seg.strip()[:80]}`)")
            elif opt and opt not in vocab[cmd]:
                bad.append(f"{name}: `{cmd} {opt}`: no such option (in `{seg.strip()[:80]}`)")
    return sorted(set(bad))


# --- the checks -------------------------------------------------------------------------------------------------

def test_readme_is_short():
    size = README.stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes (at most {README_MAX_BYTES}): move detail to docs/"


def test_readme_starts_with_the_setup_commands():
    head = "\n".join(README.read_text(encoding="utf-8").splitlines()[:6])
    for command in SETUP_COMMANDS:
        assert command in head, f"README.md's first 6 lines must hold {command!r} (CI installs as they say)"


def _nav_pages(nav) -> list[str]:
    pages: list[str] = []
    for item in nav or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages += _nav_pages(value)
        elif isinstance(value, str) and not re.match(r"^[a-z]+://", value):
            pages.append(value)
    return pages


def test_every_docs_page_is_in_the_nav():
    yaml = pytest.importorskip("yaml", reason="PyYAML (a dependency of mkdocs) is not installed")
    config = yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8"))
    assert config.get("docs_dir", "docs") == "docs"
    pages = [p.relative_to(DOCS).as_posix() for p in doc_pages()]
    assert len(pages) >= MIN_PAGES, f"docs/ has {len(pages)} pages (at least {MIN_PAGES})"
    nav = _nav_pages(config.get("nav"))
    assert sorted(set(pages) - set(nav)) == [], "pages missing from mkdocs.yml's nav"
    assert sorted(set(nav) - set(pages)) == [], "nav entries without a page"


def test_mkdocs_build_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (the dev extra has it)")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(MKDOCS_YML),
                        "--site-dir", str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_relative_links_resolve():
    bad = [msg for f in link_files() for msg in link_problems(f, f.read_text(encoding="utf-8"))]
    assert bad == [], "\n".join(bad)


def test_no_history_words_in_reference_text():
    bad = [msg for f in reference_files() for msg in history_problems(f.name, f.read_text(encoding="utf-8"))]
    assert bad == [], "\n".join(bad)


def test_command_lines_use_real_options():
    vocab = cli_vocabulary()
    bad = [msg for f in reference_files() for msg in vocabulary_problems(
        f.relative_to(ROOT).as_posix(), f.read_text(encoding="utf-8"), vocab)]
    assert bad == [], "options the commands do not have:\n" + "\n".join(bad)


def test_checkers_catch_faults(tmp_path):
    """Each checker fails on what it is there to catch (and passes the same text without the fault)."""
    (tmp_path / "page.md").write_text("# A page\n\n## Two words\n", encoding="utf-8")
    doc = tmp_path / "doc.md"
    good = "See [page](page.md), [words](page.md#two-words) and [me](#top).\n\n# Top\n"
    assert link_problems(doc, good) == []
    assert len(link_problems(doc, good.replace("page.md)", "missing.md)"))) == 1
    assert len(link_problems(doc, good.replace("#two-words", "#three-words"))) == 1
    assert len(link_problems(doc, good.replace("(#top)", "(#bottom)"))) == 1
    assert link_problems(doc, "`[not a link](missing.md)`\n\n```\n[nor](gone.md)\n```\n") == []

    assert history_problems("x", "Measured before the fix.") and not history_problems("x", "Measured.")

    vocab = {"pngan": {"--help", "--version"}, "pngan denoise": {"--input-dir", "--out", "--help"},
             "pngan train": {"--config", "--resume", "--help"}, "pngan-export": {"--model", "--out", "--help"}}
    ok = ("```bash\npngan denoise --input-dir A \\\n    --out B   # a --comment is not checked\n"
          "torchrun -m pngan.cli train pngan --config F && pngan-export --model dncnn --out O\n```\n\n"
          "Inline: `pngan denoise --input_dir A\n--out B` and `pngan train pngan --resume`.\n")
    assert vocabulary_problems("x", ok, vocab) == []
    assert len(vocabulary_problems("x", ok.replace("--out B   #", "--fake-option B   #"), vocab)) == 1
    assert len(vocabulary_problems("x", ok.replace("--input_dir A\n--out B", "--input_dir A\n--bogus B"), vocab)) == 1
    assert len(vocabulary_problems("x", ok.replace("pngan-export --model", "pngan-export --modle"), vocab)) == 1
    assert len(vocabulary_problems("x", ok.replace("`pngan train pngan --resume`", "`pngan trian --resume`"),
                                   vocab)) == 1
