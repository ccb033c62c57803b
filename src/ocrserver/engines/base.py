"""The one interface every OCR engine implements.

An engine is a class registered under the ``ocrserver.engines`` entry-point group. The pool creates
instances (one per worker) and hands each to one thread at a time, so an instance needs no locking of
its own. ``probe`` must be cheap: it runs for ``GET /v1/engines`` without loading any model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

from PIL import Image

from ocrserver.errors import UnsupportedLanguage
from ocrserver.result import Block, Line
from ocrserver.settings import Settings


@dataclass(frozen=True)
class EngineInfo:
    name: str
    available: bool
    version: str = ""
    model_version: str = ""
    languages: list[str] = field(default_factory=list)
    abilities: list[str] = field(default_factory=list)
    reason: str = ""

    @classmethod
    def missing(cls, name: str, install_hint: str) -> EngineInfo:
        """An engine whose packages are not installed."""
        return cls(name=name, available=False, reason=f"Install it with: {install_hint}")

    @classmethod
    def unusable(cls, name: str, reason: str) -> EngineInfo:
        """An engine that is installed but cannot run as configured; ``reason`` says what to change."""
        return cls(name=name, available=False, reason=reason)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check_languages(self, languages: list[str]) -> None:
        missing = [lang for lang in languages if lang not in self.languages]
        if missing:
            raise UnsupportedLanguage(
                f"Engine '{self.name}' does not support language(s) {missing}. "
                f"It supports: {', '.join(self.languages) or 'none installed'}."
                + (f" {self.reason}" if self.reason else "")
            )


def installed_version(package: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return version(package)
    except PackageNotFoundError:
        return None


class Engine(ABC):
    name: ClassVar[str]
    # A reading (a page's or a region's lines, their confidences weighted by the length of their text) less sure than
    # this may be of a photo blurred by a moving hand or out of focus: a blur is looked for and, when the reader
    # reads surer through undoing it, the page or region is read steadied (motion_blur.py). None: never looked for.
    unsure_reading: ClassVar[float | None] = None

    @classmethod
    @abstractmethod
    def probe(cls, settings: Settings) -> EngineInfo:
        """What this engine can do on this machine, without loading models."""

    @abstractmethod
    def __init__(self, settings: Settings) -> None:
        """Load the models; the instance is then warm."""

    @abstractmethod
    def read_page(self, image: Image.Image, languages: list[str]) -> list[Block]:
        """Detect and recognise all text of an upright RGB page; coordinates in page pixels."""

    def read_page_lines(self, image: Image.Image, languages: list[str]) -> list[Block]:
        """``read_page`` for a caller that will not use the words (a request for lines, blocks or the text): an
        engine that works its word boxes out at a cost may skip that, each line's words then its text split over
        its box. By default ``read_page`` itself."""
        return self.read_page(image, languages)

    @abstractmethod
    def read_region(self, crop: Image.Image, languages: list[str]) -> list[Line]:
        """Read an upright, rectified crop of one region as one unit.

        Returns its lines (a crop may hold several) in crop pixels, in reading order; an empty
        list when it holds no text.
        """

    def share_cores(self, alone: Callable[[], bool]) -> None:  # noqa: B027 - optional hook
        """Called by the pool once, after making the instance: ``alone()`` says, at any moment of a job, whether
        it is the only job running, so that the engine may use all the cores. Engines that cannot, ignore it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release native resources."""
