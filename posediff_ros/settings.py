"""Settings described once, on the dataclass fields that hold them.

A field made with `setting()` carries its description, and where it has them its range
and choices, beside its default. The node's ROS parameters (`ros/parameters.py`), the
command-line options of `evaluate` and `demo` (`add_options`) and config/estimator.yaml
are derived from these fields, so a default or a description is written in one place.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One knob as a ROS parameter, a command-line option or a parameter-file entry sees it."""

    name: str
    default: Any
    description: str
    range: tuple[float, float] | None = None  # inclusive; bounds the ROS parameter (Python does not enforce it)
    choices: tuple[str, ...] | None = None


def setting(
    default: Any, description: str, *, range: tuple[float, float] | None = None, choices: tuple[str, ...] | None = None
) -> Any:
    """A dataclass field with its description, range and choices as metadata."""
    return field(default=default, metadata={"description": description, "range": range, "choices": choices})


def described(cls: type) -> list[Setting]:
    """The settings of a dataclass whose fields were made with `setting()`, in field order."""
    return [
        Setting(f.name, f.default, f.metadata["description"], f.metadata["range"], f.metadata["choices"])
        for f in fields(cls)
    ]


def check_choices(settings: object) -> None:
    """ValueError naming the first field whose value is not one of its choices."""
    described_settings = described(type(settings))
    check_values({s.name: getattr(settings, s.name) for s in described_settings}, described_settings)


def check_values(values: Mapping[str, Any], settings: Iterable[Setting], kind: str = "") -> None:
    """ValueError naming the first of `settings` whose value in `values` is not one of its choices;
    `kind` begins the message (e.g. "parameter ")."""
    for s in settings:
        if s.choices is not None and values[s.name] not in s.choices:
            raise ValueError(f"{kind}{s.name} must be one of {s.choices}, not {values[s.name]!r}")


def add_options(
    parser: argparse.ArgumentParser,
    cls: type,
    names: Iterable[str] | None = None,
    *,
    flags: Mapping[str, str] | None = None,
) -> None:
    """Options `--<name>` for the (int, float, str or bool) settings `names` of `cls` (default: all),
    with the field's default, type, choices and description; the value is stored under the
    field's name. A bool setting is a pair of flags, `--<name>` and `--no-<name>`.

    `flags` gives a setting another option name (`{"num_samples": "--samples"}`).
    """
    wanted = set(names) if names is not None else None
    chosen = {s.name: s for s in described(cls) if wanted is None or s.name in wanted}
    options = {name: (flags or {}).get(name, "--" + name.replace("_", "-")) for name in chosen}
    for name, s in chosen.items():
        if isinstance(s.default, bool):
            parser.add_argument(
                options[name], dest=name, action=argparse.BooleanOptionalAction, default=s.default, help=s.description
            )
            continue
        parser.add_argument(
            options[name],
            dest=name,
            type=type(s.default),
            default=s.default,
            choices=s.choices,
            metavar=None if s.choices else options[name].lstrip("-").replace("-", "_").upper(),
            help=f"{s.description} (default: {s.default})".replace("%", "%%"),
        )
