"""Request and response models of the REST API (they also make the OpenAPI document at /docs)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LevelName = Literal["page", "block", "line", "word"]
FormatName = Literal["json", "text"]
Coordinates = list[float] | list[list[float]]


class OcrOptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: str | None = Field(None, description="engine name (GET /v1/engines); default: chosen by the profile")
    profile: Literal["accurate", "fast"] | None = Field(
        None, description="accurate: ppocr; fast: ppocr-tiny where it has the languages, else Tesseract (not CJK). Default: OCR_PROFILE"
    )
    lang: str | list[str] | None = Field(
        None, description="language code(s): 'en', 'zh', 'de+en', ['en', 'zh']; any common spelling (eng, chi_sim)"
    )
    level: LevelName = Field("word", description="depth of the returned tree")
    regions: list[Coordinates] | None = Field(
        None,
        description="read only these regions, each as one unit, in this order: [x0, y0, x1, y1] rectangles "
        "or [[x, y], ...] polygons (4 points: clockwise from the text's top-left, rotation kept)",
    )
    pages: list[Annotated[int, Field(ge=0)]] | None = Field(None, description="pages of a PDF or a multi-page TIFF to read (0-based; all by default)")


class OcrJsonRequest(OcrOptionsIn):
    image_url: str | None = Field(None, description="http(s) URL of the image")
    image_base64: str | None = Field(None, description="the file's bytes, base64 (a data: URI works too)")
    format: FormatName = "json"

    @model_validator(mode="after")
    def _one_image(self) -> OcrJsonRequest:
        if (self.image_url is None) == (self.image_base64 is None):
            raise ValueError("give exactly one of image_url or image_base64")
        return self


class BatchImage(OcrOptionsIn):
    image_url: str | None = None
    image_base64: str | None = None

    @model_validator(mode="after")
    def _one_image(self) -> BatchImage:
        if (self.image_url is None) == (self.image_base64 is None):
            raise ValueError("give exactly one of image_url or image_base64")
        return self


class BatchRequest(OcrOptionsIn):
    images: list[BatchImage | str] = Field(
        ..., min_length=1, description="images: objects with image_url/image_base64 (+ per-image options) or bare strings"
    )


class WordOut(BaseModel):
    text: str
    confidence: float
    bbox: list[float]
    polygon: list[list[float]]


class LineOut(WordOut):
    words: list[WordOut] | None = None


class BlockOut(WordOut):
    lines: list[LineOut] | None = None


class PageOut(BaseModel):
    index: int
    width: int
    height: int
    text: str
    confidence: float
    blocks: list[BlockOut] | None = None


class OcrResponse(BaseModel):
    text: str
    output: str = Field(..., description="same as text (kept for older clients)")
    engine: str
    model_version: str
    languages: list[str]
    pages: list[PageOut]
    timing_ms: dict[str, float]


class ErrorResponse(BaseModel):
    error: str
    detail: str


class BatchItemResult(BaseModel):
    index: int
    ok: bool
    result: OcrResponse | None = None
    error: ErrorResponse | None = None
    status: int = 200


class BatchResponse(BaseModel):
    results: list[BatchItemResult]


class HubRequest(BaseModel):
    images: list[str] = Field(..., min_length=1, description="image URLs or base64 strings")


class HubItem(BaseModel):
    text: str
    confidence: float
    text_region: list[list[int]]


class HubResponse(BaseModel):
    msg: str
    status: str
    results: list[list[HubItem]]
