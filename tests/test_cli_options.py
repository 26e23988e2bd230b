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
}
STAGE_SECTIONS = ("synth", "split", "extract", "train", "predict", "audit", "demo")


def _helps(command: str) -> str:
    group = typer.main.get_command(app)
    return " ".join(param.help or "" for param in group.commands[command].params)


@pytest.mark.parametrize("section", STAGE_SECTIONS)
def test_every_params_field_has_an_option_naming_its_key(section):
    helps = _helps(section).replace("\\[", "[")
    fields = dataclasses.fields(type(getattr(Params(), section)))
    missing = [
        f.name
        for f in fields
        if f"{section}.{f.name}" not in PARAMS_ONLY and f"[{section}.{f.name}" not in helps
        and f"; {section}.{f.name}" not in helps and f", {section}.{f.name}" not in helps
    ]  # fmt: skip
    assert missing == []


@pytest.mark.parametrize("section", STAGE_SECTIONS)
def test_no_help_text_hard_codes_a_default_value(section):
    hard_coded = re.findall(r"\\\[(-?[0-9.]+)\]", _helps(section))
    assert hard_coded == []
