"""The only exceptions archgen lets users see.

Every message names the object at fault (file, node, option), the bad value, the
rule it breaks and, where there is a finite set, the valid choices.  The CLI turns
any ArchgenError into one line on stderr and exit code 2 (1 for VerificationError).
"""

from __future__ import annotations


class ArchgenError(Exception):
    """Base class of every error archgen raises on purpose."""

    exit_code = 2


class ModelError(ArchgenError):
    """The model file is unreadable, malformed, or numerically invalid."""


class UnsupportedOpError(ModelError):
    """A node's op_type/domain has no importer, or an attribute value is unsupported."""


class ConfigError(ArchgenError):
    """A command-line option or configuration-file entry is invalid."""


class ToolNotFoundError(ArchgenError):
    """An external tool (simulator, compiler, synthesizer) is missing."""


class VerificationError(ArchgenError):
    """Hardware or C simulation disagrees with the golden model."""

    exit_code = 1


class InternalError(ArchgenError):
    """An invariant of archgen itself is broken: a bug, please report it."""

    exit_code = 3
