"""Correlation-table PDFs made by real, independent software from the truth, in layouts drawn from a seed.

Nothing here imports the pipeline (the reader under test): line breaking, pagination and text layers
are the producers' own. See ``layout.py`` for what a seed decides and ``make.py`` for the producers.
"""
