"""Build the API reference of lda_sim from its docstrings, with pdoc, into ``docs/_build/``.

    python docs/build.py [--out DIR]

Documents the package (``lda_sim`` and every submodule) and the extension examples
(``examples.extensions``). The docstrings are reStructuredText. Any warning pdoc raises while
reading or rendering them (a name in ``__all__`` that does not resolve, a malformed docstring, a
module that fails to import) fails the build with exit code 1, so CI catches a broken reference.
Open ``docs/_build/index.html`` in a browser.
"""

from __future__ import annotations

import argparse
import pkgutil
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Warnings that are not ours: members inherited from Mesa are annotated with its generic type
#: variables (``Model[A, S]``, ``Agent[M]``), which pdoc cannot resolve outside Mesa.
IGNORED = re.compile(r"Error parsing type annotation .* Import of ([AMS]) failed: name '\1' is not defined")


def build(out: Path) -> list[str]:
    """Render the reference into ``out``; return pdoc's warnings (empty when all went well)."""
    import pdoc
    import pdoc.render

    sys.path.insert(0, str(ROOT))  # examples/ is importable from the root of the repository
    import lda_sim

    for name in lda_sim.__all__:  # the public names load on first use: resolve them for pdoc
        getattr(lda_sim, name)
    # lda_sim lists its public names in __all__, so pdoc would not walk its submodules by itself
    modules = ["lda_sim", *sorted(f"lda_sim.{m.name}" for m in pkgutil.iter_modules(lda_sim.__path__)), "examples.extensions"]
    pdoc.render.configure(
        docformat="restructuredtext",
        footer_text=f"lda_sim {lda_sim.__version__}",
        show_source=True,
        search=True,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*modules, output_directory=out)
    pdoc_dir = str(Path(pdoc.__file__).parent)
    return [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if str(w.filename).startswith(pdoc_dir) and not IGNORED.search(str(w.message))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "_build", help="output folder (default: docs/_build)")
    args = parser.parse_args(argv)
    problems = build(args.out)
    for problem in problems:
        print(f"docs: {problem}", file=sys.stderr)
    if problems:
        print(f"docs: {len(problems)} problem(s); the reference in {args.out} is incomplete", file=sys.stderr)
        return 1
    pages = sum(1 for _ in args.out.rglob("*.html"))
    print(f"Wrote {pages} pages to {args.out} (open {args.out / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
