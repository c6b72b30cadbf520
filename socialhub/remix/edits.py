"""The offline `local` image editor: a documented set of instructions done with Pillow.

It reads a prompt as a list of clauses (split at commas, semicolons, "and", "then", full stops
and new lines; quoted text is kept whole) and does each clause it knows, in order:

| instruction (examples) | effect |
| --- | --- |
| black and white, b&w, greyscale, monochrome | grey image |
| sepia, vintage | brown-toned grey image |
| brighter / darker (also "much brighter") | brightness ×1.3 / ×0.75 (×1.6 / ×0.55) |
| warmer / cooler | more red and less blue / the reverse |
| more contrast / less contrast | contrast ×1.4 / ×0.75 |
| saturate, vivid, more colour / desaturate, muted | colour ×1.6 / ×0.55 |
| blur, soften / sharpen | Gaussian blur / unsharp mask |
| vignette | darkened edges |
| crop to 1:1 (square), 4:5, 9:16 (story), 16:9 (widescreen) | centred crop |
| add text "…" at top / bottom / centre | a banner in the brand's primary colour, text in its second |
| add the (brand) logo | the brand logo in the bottom-right corner |

Whatever it does not know it leaves alone and says so, plainly, in `EditResult.not_done`
("Not done: 'make it look like Van Gogh' — the offline editor only does the instructions
listed in Remix → How remixing works"). Same prompt, same picture, same words: no randomness.
Brand data comes in as plain values (`brands.BrandLook`), so this module needs no database.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from socialhub.remix.brands import BrandLook

NAME = "local"
LABEL = "Built-in offline editor"
HELP = ("black and white, sepia, brighter/darker, warmer/cooler, more/less contrast, saturate/desaturate, "
        "blur/sharpen, vignette, crop to 1:1/4:5/9:16/16:9, add text \"…\" at top/bottom/centre, add the brand logo")

_QUOTED = re.compile(r"[\"“”«»]([^\"“”«»]{1,200})[\"“”«»]|'([^']{1,200})'")
_SPLIT = re.compile(r"\s*(?:[,;\n]|\.(?:\s|$)|\bthen\b|\band\b(?!\s+white))\s*", re.IGNORECASE)
_RATIOS = {"1:1": (1, 1), "square": (1, 1), "4:5": (4, 5), "9:16": (9, 16), "story": (9, 16), "vertical": (9, 16),
           "16:9": (16, 9), "widescreen": (16, 9), "landscape": (16, 9)}


@dataclass
class EditResult:
    image: Image.Image
    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        lines = [f"Done: {step}" for step in self.done]
        lines += [f"Not done: '{part}' — the offline editor only does: {HELP}." for part in self.not_done]
        return lines


def clauses(prompt: str) -> list[str]:
    """The prompt's clauses, quoted text kept whole (as «0», «1»… placeholders put back after)."""
    quotes: list[str] = []

    def keep(match: re.Match) -> str:
        quotes.append(match.group(1) if match.group(1) is not None else match.group(2))
        return f"\x00{len(quotes) - 1}\x00"

    masked = _QUOTED.sub(keep, prompt or "")
    parts = [p.strip(" .!") for p in _SPLIT.split(masked) if p and p.strip(" .!")]
    return [re.sub(r"\x00(\d+)\x00", lambda m: f'"{quotes[int(m.group(1))]}"', p) for p in parts]


def _hex(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def _contrasting(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (17, 17, 17) if (rgb[0] * 299 + rgb[1] * 587 + rgb[2] * 114) / 1000 > 140 else (255, 255, 255)


# ---- the instructions -------------------------------------------------------------------------

def _mode(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")


def grey(image):
    return ImageOps.grayscale(image).convert("RGB")


def sepia(image):
    g = ImageOps.grayscale(image)
    return ImageOps.colorize(g, black=(40, 26, 13), white=(255, 240, 196), mid=(168, 128, 84))


def enhance(kind, factor):
    return lambda image: getattr(ImageEnhance, kind)(image).enhance(factor)


def temperature(warm: bool):
    def apply(image):
        r, g, b = _mode(image).split()
        up = (lambda v: min(255, int(v * 1.12 + 6)))
        down = (lambda v: int(v * 0.88))
        r, b = (r.point(up), b.point(down)) if warm else (r.point(down), b.point(up))
        return Image.merge("RGB", (r, g, b))
    return apply


def blur(image):
    return image.filter(ImageFilter.GaussianBlur(radius=max(1.5, max(image.size) / 400)))


def sharpen(image):
    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=160, threshold=2))


def vignette(image):
    w, h = image.size
    small = Image.radial_gradient("L").resize((w, h), Image.Resampling.BILINEAR)  # 0 centre → 255 edge
    mask = small.point(lambda v: max(0, v - 110) * 255 // 145)
    dark = Image.new("RGB", (w, h), (0, 0, 0))
    return Image.composite(dark, image, mask.point(lambda v: int(v * 0.75)))


def crop_to(ratio: tuple[int, int]):
    def apply(image):
        w, h = image.size
        rw, rh = ratio
        if w * rh > h * rw:  # too wide
            new_w = h * rw // rh
            left = (w - new_w) // 2
            return image.crop((left, 0, left + new_w, h))
        new_h = w * rh // rw
        top = (h - new_h) // 2
        return image.crop((0, top, w, top + new_h))
    return apply


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def add_text(text: str, where: str, brand: BrandLook):
    def apply(image):
        image = _mode(image).copy()
        w, h = image.size
        size = max(14, min(w // 14, h // 9))
        font = _font(size)
        draw = ImageDraw.Draw(image, "RGBA")
        lines = _wrap(draw, text, font, int(w * 0.9))
        line_h = size + size // 4
        box_h = line_h * len(lines) + size
        top = {"top": 0, "bottom": h - box_h, "centre": (h - box_h) // 2}[where]
        background = _hex(brand.colors[0]) if brand.colors else (31, 41, 55)
        ink = _hex(brand.colors[1]) if len(brand.colors) > 1 else _contrasting(background)
        if ink == background:
            ink = _contrasting(background)
        draw.rectangle((0, top, w, top + box_h), fill=background + (225,))
        for i, line in enumerate(lines):
            width = draw.textlength(line, font=font)
            draw.text(((w - width) / 2, top + size // 2 + i * line_h), line, font=font, fill=ink)
        return image
    return apply


def _wrap(draw, text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return (lines + [line])[:4] if line or lines else [""]


def add_logo(logo: bytes):
    def apply(image):
        image = _mode(image).copy()
        mark = Image.open(io.BytesIO(logo)).convert("RGBA")
        side = max(16, image.width // 6)
        mark.thumbnail((side, side))
        margin = max(8, image.width // 40)
        image.paste(mark, (image.width - mark.width - margin, image.height - mark.height - margin), mark)
        return image
    return apply


# ---- reading a clause ---------------------------------------------------------------------------

def _much(text: str) -> bool:
    return bool(re.search(r"\b(much|a lot|very|way|lot)\b", text))


def parse_clause(clause: str, brand: BrandLook) -> tuple[str, object] | tuple[None, str]:
    """(what it does, the function) for a clause it knows; (None, reason) otherwise."""
    raw = clause.strip()
    text = raw.lower()
    quoted = re.search(r'"([^"]*)"', raw)
    if re.search(r"\b(add|put|write|with)\b.*\btext\b|\bcaption\b|\b(add|put|write)\b\s*\"", text) and quoted:
        words = quoted.group(1).strip()
        where = "top" if re.search(r"\b(top|above|header)\b", text) else (
            "centre" if re.search(r"\b(centre|center|middle)\b", text) else "bottom")
        if not words:
            return None, "the text to add is empty"
        return f'text "{words}" at the {where} in the brand colours', add_text(words, where, brand)
    if re.search(r"\blogo\b", text):
        if not brand.logo:
            return None, "the brand has no logo yet"
        return "the brand logo in the bottom-right corner", add_logo(brand.logo)
    if re.search(r"black\s*(and|&|n)\s*white|\bb\s*&\s*w\b|gr[ae]y\s*scale|\bmonochrome\b|\bgr[ae]y\b", text):
        return "black and white", grey
    if re.search(r"\bsepia\b|\bvintage\b", text):
        return "sepia", sepia
    if re.search(r"\bcrop\b|\baspect\b|\bratio\b|\bsquare\b|\bstory\b|\bwidescreen\b", text):
        for name, ratio in _RATIOS.items():
            if re.search(rf"(?<![\d:]){re.escape(name)}(?![\d:])", text):
                return f"cropped to {ratio[0]}:{ratio[1]}", crop_to(ratio)
        return None, "crop needs one of 1:1, 4:5, 9:16, 16:9"
    if re.search(r"\b(less|lower|reduce|decrease)\b.*\bcontrast\b|\blow contrast\b", text):
        return "less contrast", enhance("Contrast", 0.75)
    if re.search(r"\bcontrast\b|\bpunchy\b", text):
        return "more contrast", enhance("Contrast", 1.4)
    if re.search(r"\bdesaturate|\bmuted\b|\bless (saturat|colou?r)|\bwashed\b", text):
        return "less saturated", enhance("Color", 0.55)
    if re.search(r"\bsaturat|\bvivid\b|\bvibrant\b|\bmore colou?r|\bpop\b", text):
        return "more saturated", enhance("Color", 1.6)
    if re.search(r"\bbright(er|en)?\b|\blight(er|en)\b", text):
        factor = 1.6 if _much(text) else 1.3
        return ("much brighter" if factor > 1.3 else "brighter"), enhance("Brightness", factor)
    if re.search(r"\bdark(er|en)?\b|\bdim(mer)?\b|\bmoody\b", text):
        factor = 0.55 if _much(text) else 0.75
        return ("much darker" if factor < 0.75 else "darker"), enhance("Brightness", factor)
    if re.search(r"\bwarm(er)?\b|\bgolden\b|\bsunny\b", text):
        return "warmer", temperature(True)
    if re.search(r"\bcool(er)?\b|\bcold(er)?\b|\bicy\b", text):
        return "cooler", temperature(False)
    if re.search(r"\bblur(ry|red)?\b|\bsoft(en|er)?\b", text):
        return "blurred", blur
    if re.search(r"\bsharp(en|er)?\b|\bcrisp(er)?\b", text):
        return "sharpened", sharpen
    if re.search(r"\bvignette\b", text):
        return "vignette", vignette
    return None, ""


def edit_image(image: Image.Image, prompt: str, brand: BrandLook) -> EditResult:
    """Apply each instruction the prompt names, in order; report what could not be done."""
    result = EditResult(_mode(image))
    for clause in clauses(prompt):
        what, action = parse_clause(clause, brand)
        if what is None:
            result.not_done.append(f"{clause} ({action})" if action else clause)
            continue
        result.image = action(result.image)
        result.done.append(what)
    return result
