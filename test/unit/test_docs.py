"""The conventions the code cites live in the repository: docs/conventions.md.

No file cites the old design notes (DESIGN.md, kept outside the repository), and every
`docs/conventions.md §N` (or `§N.M`) citation names a section that exists there.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONVENTIONS = ROOT / "docs" / "conventions.md"
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".sh", ".txt", ".toml", ".cfg", ".xml", ".rviz", ""}
CITATION = re.compile(r"docs/conventions\.md\)?((?:,? *§\d+(?:\.\d+)*)+)")


def repository_files() -> list[Path]:
    """Tracked and untracked-but-not-ignored text files (what git would carry), else a walk."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        paths = [ROOT / line for line in out.splitlines()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an sdist)
        skip = {".venv", ".git", ".build", "build", "install", "log", "runs", "outputs", "data"}
        paths = [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]
    return [p for p in paths if p.is_file() and p.suffix in TEXT_SUFFIXES and p.resolve() != Path(__file__).resolve()]


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return ""


def sections() -> set[str]:
    """Section numbers of docs/conventions.md headings: '## 3. ...' -> '3', '### 4.2 ...' -> '4.2'."""
    found = re.findall(r"^#{2,4} +(\d+(?:\.\d+)*)\.? ", CONVENTIONS.read_text(encoding="utf-8"), re.MULTILINE)
    return set(found)


def test_conventions_have_numbered_sections():
    assert {"1", "2", "3", "4", "5", "6", "7", "8"} <= sections()


def test_nothing_cites_design_md():
    citing = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in repository_files()
        for n, line in enumerate(read(p).splitlines(), 1)
        if "DESIGN.md" in line
    ]
    assert not citing, "cite docs/conventions.md instead of DESIGN.md: " + ", ".join(citing)


def test_citations_name_existing_sections():
    known = sections()
    citations, missing = 0, []
    for path in repository_files():
        for n, line in enumerate(read(path).splitlines(), 1):
            for match in CITATION.finditer(line):
                for number in re.findall(r"§(\d+(?:\.\d+)*)", match.group(1)):
                    citations += 1
                    if number not in known:
                        missing.append(f"{path.relative_to(ROOT)}:{n}: §{number}")
    assert citations >= 20, "the code should cite docs/conventions.md by section"
    assert not missing, f"sections not in docs/conventions.md ({sorted(known)}): " + ", ".join(missing)
