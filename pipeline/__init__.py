"""guideline-kb: the correlation tables of the MHLW medical information security guideline as a
searchable, cross-linked knowledge base.

Stages, one module each: ``ingest`` → ``normalize`` → ``link`` → ``store`` (extracted/) →
``index`` → ``site``; ``build.build()`` runs them in order and ``cli`` is the command line.
"""

__version__ = "0.1.0"
