"""``serbias demo``: classify one recording in the terminal, or serve a local web page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serbias.config import DemoParams, load_params, override
from serbias.errors import SerbiasError

LOCAL_HOSTS = ("localhost", "::1")


def demo(
    audio: Annotated[
        Path | None,
        typer.Argument(
            metavar="AUDIO",
            help="WAV recording to classify (omit with --serve).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model URI: models:/<name>@<alias>, models:/<name>/<version>, runs:/<run>/model "
            "or a local MLflow model directory \\[demo.model; default "
            "models:/serbias-multitask-intended@champion].",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")
    ] = False,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Serve the local web page and POST /predict until Ctrl-C."),
    ] = False,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to serve on; keep it local \\[demo.host: 127.0.0.1]."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="\\[demo.port: 8000].")
    ] = None,
    max_upload_mb: Annotated[
        float | None,
        typer.Option("--max-upload-mb", help="Largest upload accepted \\[demo.max_upload_mb: 10]."),
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", help="Longest recording accepted \\[demo.max_seconds: 60]."),
    ] = None,
) -> None:
    """Classify one recording: the six emotion probabilities (and, for multitask models,
    the model's guesses about the speaker), or with --serve a local web page doing the same."""
    settings = override(
        load_params().demo,
        model=model,
        host=host,
        port=port,
        max_upload_mb=max_upload_mb,
        max_seconds=max_seconds,
    )
    if serve:
        if audio is not None or json_output:
            raise SerbiasError("--serve takes no AUDIO and no --json (POST /predict answers JSON)")
        _serve(settings)
        return
    if audio is None:
        raise SerbiasError("give a WAV file to classify, or --serve for the web page")
    if host is not None or port is not None or max_upload_mb is not None:
        raise SerbiasError("--host, --port and --max-upload-mb apply only with --serve")

    from serbias.demo.classify import classify

    result = classify(audio, model_uri=settings.model, max_seconds=settings.max_seconds)
    if json_output:
        import json

        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    from serbias.cli._console import console
    from serbias.cli._demo_view import result_view

    console.print(result_view(result, audio))


def _serve(settings: DemoParams) -> None:
    from serbias.cli._console import err_console
    from serbias.demo.app import MB, serve
    from serbias.demo.classify import ModelIdentity

    def ready(identity: ModelIdentity, url: str) -> None:
        err_console.print(f"Model: {identity.describe()}", highlight=False, soft_wrap=True)
        err_console.print(f"Serving the demo at [bold]{url}[/] (Ctrl-C stops)", highlight=False)
        if settings.host not in LOCAL_HOSTS and not settings.host.startswith("127."):
            err_console.print(
                "[yellow]warning:[/] the page is reachable from other machines, and browsers "
                "there allow the microphone only over https",
                highlight=False,
            )

    serve(
        settings.model,
        host=settings.host,
        port=settings.port,
        max_upload_bytes=round(settings.max_upload_mb * MB),
        max_seconds=settings.max_seconds,
        on_ready=ready,
    )
