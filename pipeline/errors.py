"""The errors a user can cause. Each message is one line that names the file (and line or page)."""


class GuidelineKBError(Exception):
    """Base class: the CLI prints the message on one line and exits with code 2."""


class ManifestError(GuidelineKBError):
    """An edition folder under raw/ has a missing or malformed manifest.toml or toc.tsv."""


class SourceError(GuidelineKBError):
    """A source file cannot be read as the kind its manifest says."""


class NotBuiltError(GuidelineKBError):
    """A stage needs the output of an earlier stage that has not been run."""


class QueryError(GuidelineKBError):
    """A search query has nothing to search for."""


class NotFoundError(GuidelineKBError):
    """A requirement ID that is not in the knowledge base."""


class SiteError(GuidelineKBError):
    """mkdocs could not build the site."""
