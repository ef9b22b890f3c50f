"""Brand files: a municipality's visual profile (colours, fonts, logo, caption look), read and checked.

:func:`load_brand` reads and checks a brand file (its problems carry the brand file's own
file:line); :func:`apply_brand` gives a spec's cards the brand's colours and logo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import ImageFont
from pydantic import Field, ValidationError

from .errors import SpecError, SpecProblem
from .fonts import Typeface
from .images import image_problem
from .images import verify as verify_image
from .problems import Problems, read_located, shape_problems
from .spec import CampaignSpec, CardItem, CardSpec, SpecModel
from .spectypes import SpecColor
from .yamlpos import Loc

#: The default accent (the lower third's bar, the lit word of highlight captions): the one place it is written.
ACCENT = "#FFCC00"


class BrandColors(SpecModel):
    background: SpecColor = Field("#003B5C", description="cards' background")
    text: SpecColor = Field("#FFFFFF", description="text on cards, lower thirds and captions")
    accent: SpecColor = Field(ACCENT, description="the lower third's bar and the lit word of highlight captions")


class BrandFonts(SpecModel):
    bold: Path | None = Field(None, description="font file (TTF/OTF) for titles, names and captions, relative to "
                              "the brand file (a family name is not enough)")
    regular: Path | None = Field(None, description="font file for sublines and roles, relative to the brand file")


class BrandLogo(SpecModel):
    file: Path = Field(description="logo image (PNG with transparency), relative to the brand file")
    on: Literal["all", "end", "none"] = Field("end", description="which cards show it where they name no logo "
                                               "of their own: all, the last card of the sequence, or none")


class BrandCaptions(SpecModel):
    social: Literal["social", "highlight"] = Field(
        "social", description="the caption style of the channels whose default is social (Reels, TikTok, Shorts)")
    box: bool = Field(True, description="a box behind burned captions (false: an outline)")
    box_opacity: float = Field(1.0, ge=0.5, le=1, description="how opaque the box is; the text must keep a 4.5:1 "
                               "contrast against the box over white footage")


class BrandLowerThird(SpecModel):
    background: SpecColor | None = Field(None, description="default: black at 67%")
    text: SpecColor | None = Field(None, description="default: the brand's text colour")
    accent: SpecColor | None = Field(None, description="the bar beside the name; default: the brand's accent")


class BrandVoice(SpecModel):
    voice: str = Field("nb", description="eSpeak NG voice name of the campaigns' synstolking (nb: Norwegian "
                       "bokmål)")
    # 150, not eSpeak's own 175: at 175 Whisper base hears the end card's "Vi trenger deg!" in a described
    # film as "Vi tror det er en gang", at 150 as "Vi trener deg!" (tests/test_synstolking_more.py)
    rate: int = Field(150, ge=80, le=400, description="speaking rate in words a minute")


class BrandSpec(SpecModel):
    """A municipality's visual profile, shared by its campaigns (``brand: ../brand/x.yml``)."""

    name: str | None = Field(None, description="whose brand this is")
    colors: BrandColors = Field(BrandColors(), description="#RRGGBB colours")
    fonts: BrandFonts = Field(BrandFonts(), description="font files (default: Source Sans Pro, shipped)")
    logo: BrandLogo | None = Field(None, description="logo for cards")
    captions: BrandCaptions = Field(BrandCaptions(), description="burned captions")
    lower_third: BrandLowerThird = Field(BrandLowerThird(), description="the name strap")
    synstolking: BrandVoice = Field(BrandVoice(), description="the description voice the campaigns share")


@dataclass(frozen=True)
class Brand:
    """A brand file, validated, with its files resolved (absolute paths)."""

    spec: BrandSpec
    path: Path | None = None  #: the brand file (None: the defaults)
    bold: Path | None = None
    regular: Path | None = None
    logo: Path | None = None

    @property
    def typeface(self):
        return Typeface(str(self.bold) if self.bold else None, str(self.regular) if self.regular else None)


def load_brand(path: Path, spec_collector: Problems | None = None, loc: Loc = ()) -> Brand | None:
    """Read and check a brand file; its problems are the brand file's (file:line:column), raised at once.

    A file that is missing is a problem of the spec (at ``loc``) when ``spec_collector`` is given.
    """
    if not path.is_file():
        if spec_collector is not None:
            spec_collector.add(loc, f"brand file not found: {path}", "check the path (relative to the spec), "
                               "or leave brand: out for the defaults")
            return None
        raise SpecError([SpecProblem(str(path), None, None, "", "brand file not found", "check the path")])
    located, collector = read_located(path)
    data = located.data if located.data is not None else {}  # a file of comments only: all defaults
    if not isinstance(data, dict):
        collector.add((), "a brand file is a mapping of keys (colors:, fonts:, logo:, ...)",
                      "see brand/ for an example, or python cli.py schema --brand")
        raise SpecError(collector.problems)
    try:
        spec = BrandSpec.model_validate(data)
    except ValidationError as exc:
        shape_problems(collector, exc, BrandSpec)
        raise SpecError(collector.problems) from None
    if collector.problems:
        raise SpecError(collector.problems)
    base = path.parent

    def resolve(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else (base / p)).resolve()

    bold, regular = resolve(spec.fonts.bold), resolve(spec.fonts.regular)
    logo = resolve(spec.logo.file) if spec.logo else None
    for key, file in (("bold", bold), ("regular", regular)):
        if file is None:
            continue
        if not file.is_file():
            collector.add(("fonts", key), f"font file not found: {file}", "give the path of a TTF or OTF file, "
                          "relative to the brand file")
            continue
        try:
            ImageFont.truetype(str(file), 12)
        except OSError as exc:
            collector.add(("fonts", key), f"{file.name} is not a font file Pillow can open ({exc})",
                          "give a TTF or OTF file")
    if logo is not None and not logo.is_file():
        collector.add(("logo", "file"), f"logo file not found: {logo}", "give the path of a PNG, relative to "
                      "the brand file")
    elif logo is not None:
        problem = image_problem(logo, "logo") or (verify_image(logo), "save it again as PNG")
        if problem[0]:
            collector.add(("logo", "file"), *problem)
    ratio = caption_contrast(spec)
    if ratio < 4.5:
        where = ("captions", "box_opacity") if "box_opacity" in spec.captions.model_fields_set else ("colors", "text")
        collector.add(where, f"burned captions would have a contrast of {ratio:.1f}:1 against their box over "
                      "white footage (WCAG asks for 4.5:1)", "use a lighter text colour or a more opaque box")
    if collector.problems:
        raise SpecError(collector.problems)
    return Brand(spec, path.resolve(), bold, regular, logo)


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two #RRGGBB colours (1 to 21)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def caption_contrast(brand: BrandSpec) -> float:
    """WCAG contrast of caption text against its black box at the brand's opacity over white footage
    (the worst case; an outline without a box is judged as a box of the outline's full opacity)."""
    opacity = brand.captions.box_opacity if brand.captions.box else 1.0
    grey = round(255 * (1 - opacity))
    box = f"#{grey:02X}{grey:02X}{grey:02X}"
    return contrast_ratio(brand.colors.text, box)


def apply_brand(spec: CampaignSpec, brand: Brand) -> CampaignSpec:
    """Cards take the brand's colours and logo where they set none of their own."""
    colors = brand.spec.colors
    on = brand.spec.logo.on if brand.spec.logo else "none"
    last = {seq[-1].card for seq in [spec.sequence, *(v.sequence for v in spec.versions.values() if v.sequence)]
            if seq and isinstance(seq[-1], CardItem)}

    def branded(card_id: str, card: CardSpec) -> CardSpec:
        update: dict[str, object] = {}
        if "background" not in card.model_fields_set:
            update["background"] = colors.background
        if "color" not in card.model_fields_set:
            update["color"] = colors.text
        if "logo" not in card.model_fields_set and brand.logo is not None and (
                on == "all" or (on == "end" and card_id in last)):
            update["logo"] = brand.logo
        return card.model_copy(update=update) if update else card

    versions = {name: v.model_copy(update={"cards": {k: branded(k, c) for k, c in v.cards.items()}})
                for name, v in spec.versions.items()}
    return spec.model_copy(update={"cards": {k: branded(k, c) for k, c in spec.cards.items()},
                                   "versions": versions})


def brand_schema() -> dict:
    """JSON Schema of brand files."""
    schema = BrandSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rekrutt brand"
    return schema
