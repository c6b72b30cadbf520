"""Draw the PWA icons (run once; the PNGs are committed): a rounded hub mark on indigo."""

from pathlib import Path

from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parent.parent / "assets"
INDIGO, WHITE = (91, 91, 214), (255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    img = Image.new("RGBA", (size, size), INDIGO if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if not maskable:
        d.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=INDIGO)
    # Maskable icons keep their content inside the central 80% "safe zone".
    scale = 0.8 if maskable else 1.0
    c, r = size / 2, size * 0.11 * scale
    orbit = size * 0.26 * scale
    spokes = [(c - orbit, c - orbit * 0.6), (c + orbit, c - orbit * 0.6), (c, c + orbit)]
    for x, y in spokes:
        d.line((c, c, x, y), fill=WHITE, width=max(2, size // 28))
        d.ellipse((x - r * 0.7, y - r * 0.7, x + r * 0.7, y + r * 0.7), fill=WHITE)
    d.ellipse((c - r, c - r, c + r, c + r), fill=WHITE)
    return img


if __name__ == "__main__":
    for size in (192, 512):
        draw(size, maskable=False).save(ASSETS / f"icon-{size}.png")
        draw(size, maskable=True).save(ASSETS / f"icon-maskable-{size}.png")
    draw(32, maskable=False).save(ASSETS / "favicon.ico")
