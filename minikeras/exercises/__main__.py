"""``python -m minikeras.exercises [start NAME [--dir DIR] | check NAME [FILE] [--reference]]``."""

from __future__ import annotations

import argparse
import sys

from minikeras import exercises


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minikeras.exercises",
                                     description="Write backward passes yourself; get graded.")
    sub = parser.add_subparsers(dest="command")
    p_start = sub.add_parser("start", help="write the skeleton NAME.py")
    p_start.add_argument("name")
    p_start.add_argument("--dir", default=".", help="where to write it (default: here)")
    p_check = sub.add_parser("check", help="grade your solution and print a report card")
    p_check.add_argument("name")
    p_check.add_argument("file", nargs="?", help="your file (default: ./NAME.py)")
    p_check.add_argument("--reference", action="store_true",
                         help="grade minikeras' own implementation instead")
    p_check.add_argument("--no-keras", action="store_true", help="skip the Keras stages")
    p_check.add_argument("--steps", type=int, default=30, help="training steps of stage 4")
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            print(exercises.listing())
            return 0
        if args.command == "start":
            path = exercises.start(args.name, args.dir)
            print(f"Wrote {path}. Fill in what raises NotImplementedError, then run:\n"
                  f"    python -m minikeras.exercises check {exercises.get(args.name).name} "
                  f"{path}")
            return 0
        if args.reference:
            piece = None
        else:
            default = f"{exercises.get(args.name).name}.py"
            piece = exercises.load_piece(args.name, args.file or default)
        card = exercises.check(args.name, piece, reference=args.reference,
                               keras=False if args.no_keras else True, steps=args.steps)
        return 0 if card.passed else 1
    except (KeyError, FileExistsError, FileNotFoundError, AttributeError, ImportError) as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
