"""Each instruction of the offline editor changes the picture the way the docs say, and the
parts of a prompt it cannot do are named plainly."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageStat

from socialhub.remix import edits
from socialhub.remix.brands import BrandLook

BRAND = BrandLook("Acme", ("#ff0000", "#00ff00"), None)


def base() -> Image.Image:
    image = Image.new("RGB", (400, 300), (150, 100, 60))
    for x in range(0, 400, 10):
        for y in range(300):
            image.putpixel((x, y), (240, 240, 240))
    return image


def mean(image):
    return ImageStat.Stat(image.convert("RGB")).mean


def run(prompt, brand=BRAND, image=None):
    return edits.edit_image(image or base(), prompt, brand)


def test_black_and_white_makes_every_pixel_grey():
    result = run("black and white")
    assert result.done == ["black and white"]
    r, g, b = mean(result.image)
    assert abs(r - g) < 1 and abs(g - b) < 1


def test_sepia_is_brown_toned():
    r, g, b = mean(run("sepia").image)
    assert r > g > b


@pytest.mark.parametrize("prompt, brighter", [("brighter", True), ("make it darker", False), ("much brighter", True)])
def test_brightness(prompt, brighter):
    before = sum(mean(base()))
    after = sum(mean(run(prompt).image))
    assert (after > before) if brighter else (after < before)


def test_warmer_and_cooler_move_red_against_blue():
    r0, _, b0 = mean(base())
    r1, _, b1 = mean(run("warmer").image)
    r2, _, b2 = mean(run("cooler").image)
    assert r1 - b1 > r0 - b0 > r2 - b2


def test_contrast_and_saturation():
    spread = lambda im: ImageStat.Stat(im.convert("L")).stddev[0]  # noqa: E731
    assert spread(run("more contrast").image) > spread(base()) > spread(run("less contrast").image)
    sat = lambda im: ImageStat.Stat(im.convert("HSV")).mean[1]  # noqa: E731
    assert sat(run("saturate").image) > sat(base()) > sat(run("muted").image)


def test_blur_and_sharpen_change_edges_opposite_ways():
    from PIL import ImageFilter

    edge = lambda im: ImageStat.Stat(im.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]  # noqa: E731
    assert edge(run("blur").image) < edge(base()) < edge(run("sharpen").image)


def test_vignette_darkens_corners_not_the_centre():
    image = Image.new("RGB", (400, 400), (200, 200, 200))
    out = run("vignette", image=image).image
    assert out.getpixel((2, 2))[0] < 120 and out.getpixel((200, 200))[0] > 190


@pytest.mark.parametrize("ratio, size", [("1:1", (300, 300)), ("square", (300, 300)), ("4:5", (240, 300)),
                                         ("9:16", (168, 300)), ("16:9", (400, 225))])
def test_crop_to_ratio(ratio, size):
    result = run(f"crop to {ratio}")
    assert result.image.size == size and result.done[0].startswith("cropped to")


@pytest.mark.parametrize("where, row", [("top", 5), ("bottom", 295), ("centre", 150)])
def test_add_text_draws_a_banner_in_brand_colours(where, row):
    result = run(f'add text "Big Sale, today" at the {where}')
    assert result.done == [f'text "Big Sale, today" at the {where} in the brand colours']
    pixel = result.image.getpixel((2, row))
    assert pixel[0] > 180 and pixel[1] < 80  # the brand's red banner (slightly see-through)
    greens = sum(1 for x in range(400) for y in range(300) if result.image.getpixel((x, y))[1] > 200
                 and result.image.getpixel((x, y))[0] < 100)
    assert greens > 20  # letters in the brand's second colour


def test_add_logo_pastes_it_bottom_right_or_says_there_is_none():
    logo = io.BytesIO()
    Image.new("RGBA", (100, 100), (0, 0, 255, 255)).save(logo, "PNG")
    result = run("add the brand logo", brand=BrandLook("Acme", ("#ff0000",), logo.getvalue()))
    assert result.image.getpixel((380, 280)) == (0, 0, 255)
    assert result.image.getpixel((10, 10)) != (0, 0, 255)
    missing = run("add the logo")
    assert missing.done == [] and missing.not_done == ["add the logo (the brand has no logo yet)"]


def test_unknown_parts_are_named_and_known_ones_still_done():
    result = run("make it look like Van Gogh, sepia and add a dragon")
    assert result.done == ["sepia"]
    assert result.not_done == ["make it look like Van Gogh", "add a dragon"]
    notes = result.notes()
    assert notes[0] == "Done: sepia"
    assert "Not done: 'make it look like Van Gogh' — the offline editor only does:" in notes[1]


def test_same_prompt_same_picture():
    a = run("sepia, vignette, crop to 4:5").image.tobytes()
    b = run("sepia, vignette, crop to 4:5").image.tobytes()
    assert a == b
