"""assist: live conversation assist for contact-centre agents."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("assist")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
