"""``python -m graph.animate script.py`` and ``graph.animate.frames``: the animation, now in :mod:`graph.views.animate`.

Kept so that the command and the names the README has always given keep working.
"""

import sys

from graph.views.animate import Frame, animate, frames, main, to_html

__all__ = ["Frame", "frames", "to_html", "animate", "main"]

if __name__ == "__main__":
    sys.exit(main())
