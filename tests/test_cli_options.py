"""The CLI holds no second copy of params: every section field has its option, whose help
names the params key it overrides (``[section.key]``), and no help repeats a default."""

from __future__ import annotations

import dataclasses
import re

import pytest
import typer.main

from serbias.cli import app
from serbias.config import Params

#: Fields set only in params.yaml, with the reason.
PARAMS_ONLY = {
    "train.models": "per-family hyperparameters: --hp KEY=VALUE [train.models.<model>.<key>]",
    "extract.kind_params": "each kind's own section: extract.<kind>.<key> in params.yaml",
    "train.resources.num_cpus": "what a Ray task asks of its node: set once per cluster",
    "train.resources.num_gpus": "what a Ray task asks of its node: set once per cluster",
}
STAGE_SECTIONS = ("synth", "split", "extract", "train", "predict", "audit", "demo")


def _helps(command: str) -> str:
    group = typer.main.get_command(app)
    return " ".join(param.help or "" for param in group.commands[command].params)


def _keys(section: object, prefix: str) -> list[str]:
    """Every leaf params key of a section (nested sections flattened: ``a.b.c``)."""
    keys = []
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if dataclasses.is_dataclass(value):
            keys += _keys(value, f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


@pytest.mark.parametrize("section", STAGE_SECTIONS)
def test_every_params_field_has_an_option_naming_its_key(section):
    helps = _helps(section).replace("\\[", "[")
    keys = _keys(getattr(Params(), section), f"{section}.")
    missing = [
        key for key in keys
        if key not in PARAMS_ONLY and not any(f"{mark}{key}" in helps for mark in ("[", "; ", ", "))
    ]  # fmt: skip
    assert missing == []


@pytest.mark.parametrize("section", STAGE_SECTIONS)
def test_no_help_text_hard_codes_a_default_value(section):
    hard_coded = re.findall(r"\\\[(-?[0-9.]+)\]", _helps(section))
    assert hard_coded == []
