"""Every Python block of the README runs when pasted into a fresh interactive Python, as a new user does.

Each block is fed line by line to :class:`code.InteractiveConsole`, the
interpreter's own read-eval loop, in a new process in an empty folder. That
is stricter than running the block as a script, in the way pasting is: a
blank line inside a class ends it, and a statement after an indented block
needs a blank line before it. A block fails on the first traceback.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)

PASTE = """
import code, sys

class Console(code.InteractiveConsole):
    failed = False

    def showtraceback(self):
        Console.failed = True
        super().showtraceback()

    def showsyntaxerror(self, filename=None, **kwargs):
        Console.failed = True
        super().showsyntaxerror(filename, **kwargs)

console = Console()
for line in sys.stdin.read().splitlines():
    console.push(line)
    if Console.failed:
        sys.exit(f"the pasted block failed at: {line}")
console.push("")
sys.exit(1 if Console.failed else 0)
"""


def _first_line(block: str) -> str:
    return block.strip().splitlines()[0][:60]


def test_the_readme_has_its_python_blocks():
    assert len(BLOCKS) >= 8, f"found {len(BLOCKS)} ```python blocks in README.md"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{i}: {_first_line(b)}" for i, b in enumerate(BLOCKS)])
def test_each_readme_block_runs_when_pasted_into_a_fresh_interpreter(block, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PASTE],
        input=block,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"block:\n{block}\nstderr:\n{result.stderr[-3000:]}"
