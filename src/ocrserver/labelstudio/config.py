"""What an OCR labeling config contains: the image and its data key, and the controls we fill in.

Parsed with label-studio-sdk's LabelInterface, never by walking the XML by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocrserver.errors import InvalidRequest

RECTANGLE_TAGS = ("rectanglelabels", "rectangle")
POLYGON_TAGS = ("polygonlabels", "polygon")


@dataclass(frozen=True)
class Control:
    name: str
    type: str  # the result type: "rectanglelabels", "rectangle", "polygon", "labels", "textarea", ...
    labels: tuple[str, ...] = ()

    @property
    def has_labels(self) -> bool:
        return self.type.endswith("labels")

    @property
    def label_key(self) -> str:
        """The value key that holds the chosen label(s), e.g. "rectanglelabels" or "labels"."""
        return self.type


@dataclass(frozen=True)
class OcrLabelConfig:
    image_name: str
    data_key: str
    rectangle: Control | None
    polygon: Control | None
    labels: Control | None
    textarea: Control | None

    @classmethod
    def parse(cls, xml: str) -> OcrLabelConfig:
        from label_studio_sdk.label_interface import LabelInterface

        if not isinstance(xml, str) or not xml.strip():
            raise InvalidRequest("The labeling config (label_config / schema) is missing.")
        try:
            interface = LabelInterface(xml)
        except Exception as exc:  # the SDK raises lxml / its own errors
            raise InvalidRequest(f"The labeling config could not be parsed: {exc}") from exc
        images = [tag for tag in interface.objects if tag.tag.lower() == "image"]
        if not images:
            raise InvalidRequest("The labeling config has no <Image> tag; ocrserver reads images only.")
        image = images[0]
        value = str(image.value or "")
        if not value.startswith("$"):
            raise InvalidRequest(f"The <Image name='{image.name}'> tag needs value=\"$key\", got {value!r}.")

        def find(types: tuple[str, ...]) -> Control | None:
            for control in interface.controls:
                kind = control.tag.lower()
                if kind in types and image.name in (control.to_name or []):
                    return Control(name=control.name, type=kind, labels=tuple(control.labels or ()))
            return None

        return cls(
            image_name=image.name,
            data_key=value[1:],
            rectangle=find(RECTANGLE_TAGS),
            polygon=find(POLYGON_TAGS),
            labels=find(("labels",)),
            textarea=find(("textarea",)),
        )

    def geometry_control(self, prefer: str) -> Control:
        """The control that carries region geometry: the rectangle tool unless polygons are preferred or the only tool."""
        if prefer == "polygon" and self.polygon is not None:
            return self.polygon
        if self.rectangle is not None:
            return self.rectangle
        if self.polygon is not None:
            return self.polygon
        raise InvalidRequest(
            "The labeling config has no Rectangle/RectangleLabels or Polygon/PolygonLabels tool for the image; "
            "add one (see labeling_configs/ in the ocrserver repository)."
        )
