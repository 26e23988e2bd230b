"""``serbias demo``: classify one recording from the terminal or a local web page.

:func:`~serbias.demo.classify.classify` turns a WAV (path or bytes) into the model's
emotion probabilities (and a multitask model's guesses about the speaker);
:func:`~serbias.demo.app.create_app` / :func:`~serbias.demo.app.serve` wrap it in a
small FastAPI app. Import the submodules directly: this package imports nothing heavy.
"""
