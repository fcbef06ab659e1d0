"""``python -m tutorials`` lists the tutorials; ``python -m tutorials NAME [options]`` runs one."""

from __future__ import annotations

import sys

from tutorials import TUTORIALS, load


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("minikeras tutorials (each is also a notebook: tutorials/<file>.py)\n")
        for name, (module, text) in TUTORIALS.items():
            print(f"  {name:<12} {text}   [tutorials/{module}.py]")
        print("\nRun one:  python -m tutorials NAME [--backend minikeras|keras] [--quick]"
              "\nOptions of one tutorial:  python -m tutorials NAME --help")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in TUTORIALS:
        print(f"Unknown tutorial {name!r}. Choose one of: {', '.join(TUTORIALS)}",
              file=sys.stderr)
        return 2
    load(name).main(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
