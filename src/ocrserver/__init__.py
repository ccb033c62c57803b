"""ocrserver: OCR with warm, pluggable engines behind a REST API, a CLI and a Label Studio ML backend."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ocrserver")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
