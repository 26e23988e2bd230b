"""``serbias ui``: the MLflow UI on this project's store, opened at the runs tables."""

from __future__ import annotations

import tempfile
from typing import Annotated

import typer

from serbias.errors import SerbiasError

DEFAULT_PORT = 5000


def ui(
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1 to serve on.")
    ] = DEFAULT_PORT,
) -> None:
    """Start the MLflow UI (127.0.0.1 only) on this project's tracking store and print the
    runs tables of the training and audit experiments; runs until Ctrl-C.

    Store: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the current directory.
    """
    from serbias import quiet
    from serbias.audit import EXPERIMENT as AUDIT_EXPERIMENT
    from serbias.cli._console import console, err_console
    from serbias.cli.train import interrupt_on_sigterm
    from serbias.config import load_params
    from serbias.tracking.store import tracking_uri
    from serbias.tracking.ui import (
        experiment_ids,
        last_log_line,
        local_store,
        running_ui,
        runs_table_url,
    )

    uri = tracking_uri()
    db = local_store(uri)
    names = (load_params().train.experiment, AUDIT_EXPERIMENT)
    ids = experiment_ids(names, uri)
    with (
        tempfile.NamedTemporaryFile(prefix="serbias-ui-", suffix=".log") as log,
        interrupt_on_sigterm(),
    ):
        sink = None if quiet.verbose() else log
        try:
            with running_ui(db, port=port, log=sink) as server:
                console.print(f"MLflow UI on {db} at {server.url}")
                for name, experiment in ids.items():
                    if experiment is None:
                        console.print(f"  {name}: no runs yet")
                    else:
                        console.print(f"  {name} runs: {runs_table_url(server.url, experiment)}")
                err_console.print("Press Ctrl-C to stop.", style="dim")
                code = server.wait()
        except KeyboardInterrupt:
            err_console.print("Stopped the MLflow UI.", style="dim")
            return
    if code != 0:
        said = last_log_line(sink)
        raise SerbiasError(f"mlflow ui stopped with code {code}" + (f": {said}" if said else ""))
