"""The ``serbias`` command line: one small module per subcommand, joined here.

Command modules import only light things at module level; the library (pandas,
librosa, TensorFlow, MLflow) is imported inside each command, so ``--help`` is instant.
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from serbias import __version__, quiet
from serbias.cli import audit as audit_cmd
from serbias.cli import demo as demo_cmd
from serbias.cli import extract as extract_cmd
from serbias.cli import predict as predict_cmd
from serbias.cli import split as split_cmd
from serbias.cli import synth as synth_cmd
from serbias.cli import train as train_cmd
from serbias.cli import ui as ui_cmd
from serbias.cli._console import err_console
from serbias.errors import SerbiasError


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    err_console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    """Turns expected errors into one-line messages and warnings into one-line notes."""

    def invoke(self, ctx: typer.Context) -> Any:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except SerbiasError as exc:
                err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
                raise typer.Exit(code=1) from None


app = typer.Typer(
    cls=_Group,
    name="serbias",
    help="Train speech-emotion models on CREMA-D and audit them for gender and racial bias.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"serbias {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also show TensorFlow's, MLflow's and Ray's own start-up and log lines "
            "(hidden by default; also $SERBIAS_VERBOSE=1).",
        ),
    ] = False,
) -> None:
    """Train speech-emotion models on CREMA-D and audit them for gender and racial bias."""
    if verbose:
        quiet.set_verbose(True)


app.command("synth")(synth_cmd.synth)
app.command("split")(split_cmd.split)
app.command("extract")(extract_cmd.extract)
app.command("train")(train_cmd.train)
app.command("predict")(predict_cmd.predict)
app.command("audit")(audit_cmd.audit)
app.command("demo")(demo_cmd.demo)
app.command("ui")(ui_cmd.ui)


def main() -> None:
    """Console-script entry point."""
    app()
