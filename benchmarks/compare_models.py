"""Markdown tables for a model card from `evaluate --json` files: models side by side, or one per category.

    python benchmarks/compare_models.py side-by-side NAME=DIR [NAME=DIR ...] --sets SET [SET ...]
    python benchmarks/compare_models.py per-category FILE.json

`side-by-side` reads DIR/SET.json for every model and set (e.g. the files that
outputs/final/eval_all.sh-style loops write with `evaluate --json`) and prints one row per
set and model: the four mean accuracies and the 10°5cm of the asymmetric categories.
`per-category` prints one evaluation's table (accuracies, mean errors, instance counts).
Nothing is measured here: it only formats what `evaluate` wrote, so tables match the runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ACCURACY_COLUMNS, accuracy_cells, markdown_table, number, percent  # noqa: E402

WATCHED = ("camera", "laptop", "mug")  # the categories the shipped models get wrong most


def side_by_side(models: dict[str, Path], sets: list[str]) -> str:
    columns = ["set", "model", *ACCURACY_COLUMNS, *(f"{c} 10°5cm" for c in WATCHED)]
    rows = []
    for name in sets:
        for model, directory in models.items():
            path = directory / f"{name}.json"
            if not path.is_file():
                rows.append([name, model, *["–"] * (len(columns) - 2)])
                continue
            table = json.loads(path.read_text())["table"]
            per_category = table["per_category"]
            rows.append(
                [
                    name,
                    model,
                    *accuracy_cells(table["mean"]),
                    *(percent(per_category[c]["10deg5cm"]) if c in per_category else "–" for c in WATCHED),
                ]
            )
    return markdown_table(columns, rows)


def per_category(path: Path) -> str:
    table = json.loads(path.read_text())["table"]
    columns = ["category", *ACCURACY_COLUMNS, "rotation mean", "translation mean", "instances"]
    rows = []
    for name, row in [*table["per_category"].items(), ("**mean**", table["mean"])]:
        rows.append(
            [
                name,
                *accuracy_cells(row),
                number(row.get("rotation_mean_deg")) + "°",
                number(row.get("translation_mean_cm")) + " cm",
                str(row.get("count", "–")),
            ]
        )
    return markdown_table(columns, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    side = commands.add_parser("side-by-side", help="models side by side over several evaluation sets")
    side.add_argument("models", nargs="+", metavar="NAME=DIR", help="a model's name and its folder of JSON files")
    side.add_argument("--sets", nargs="+", required=True, metavar="SET", help="file stems: DIR/SET.json")
    one = commands.add_parser("per-category", help="one evaluation, per category")
    one.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "per-category":
        print(per_category(args.file))
        return
    models = {}
    for item in args.models:
        name, sep, directory = item.partition("=")
        if not sep:
            parser.error(f"{item!r} is not NAME=DIR")
        models[name] = Path(directory)
    print(side_by_side(models, args.sets))


if __name__ == "__main__":
    main()
