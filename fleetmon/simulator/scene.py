"""What an emulated camera sees: a synthetic street scene per device, rendered cheaply per frame.

A device's world (sky, buildings with windows, a road, poles, trees, a fixed texture) is drawn
once from its id on a canvas a little larger than the view, and kept in a bounded LRU cache: a
province of cameras must not cost a picture each in memory. Every frame then only adds what
makes a live camera's snapshots differ: a car driving along the road, sensor noise (a random
window of one shared noise field) and the OSD clock, before JPEG encoding (~5 ms, ~30 KB).

The looks are the picture faults a technician meets, drawn so `fleetmon.probes.image_quality` sees them
for the reasons it documents: a dead sensor (near black, OSD still drawn), a defocused lens,
a lens covered by something dull over most of the frame, and a camera turned away (another
rotated crop of the same world). A frozen encoder is not a look: the server repeats bytes.
"""

from __future__ import annotations

import enum
import hashlib
import io
import random
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 640, 360
MARGIN = 80  # canvas pixels beyond the view on each side, room for the "moved" crop
NOISE_SIGMA = 1.5  # grey levels of sensor noise: enough to change every frame, cheap to encode
JPEG_QUALITY = 75
CAR_SIZE = (84, 34)


class Look(enum.Enum):
    NORMAL = "normal"
    BLACK = "black"
    BLURRED = "blurred"
    COVERED = "covered"
    MOVED = "moved"


@dataclass(slots=True)
class _World:
    """One device's scene: the canvas and the looks derived from it, made when first asked for."""

    canvas: Image.Image
    lane_y: int  # view row where the car drives
    car_colour: tuple[int, int, int]
    seed: int
    views: dict[Look, np.ndarray] = field(default_factory=dict)
    cover: tuple[Image.Image, tuple[int, int, int]] | None = None  # soft mask, occluder colour


def device_seed(device_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(device_id.encode(), digest_size=8).digest(), "big")


def _draw_world(seed: int) -> _World:
    rng = np.random.default_rng(seed)
    width, height = WIDTH + 2 * MARGIN, HEIGHT + 2 * MARGIN
    horizon = MARGIN + int(HEIGHT * rng.uniform(0.33, 0.45))
    top, bottom = rng.uniform(80, 150, 3), rng.uniform(160, 225, 3)
    pixels = np.empty((height, width, 3), dtype=np.float32)
    pixels[:horizon] = (top + (bottom - top) * np.linspace(0, 1, horizon)[:, None])[:, None, :]
    pixels[horizon:] = rng.uniform(55, 105, 3)
    canvas = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(canvas)

    def colour(low: int, high: int) -> tuple[int, int, int]:
        r, g, b = (int(c) for c in rng.integers(low, high, 3))
        return r, g, b

    left = int(rng.integers(-50, 0))
    while left < width:  # a row of buildings along the horizon, each with a grid of windows
        wide, tall = int(rng.integers(70, 170)), int(rng.integers(70, horizon - 20))
        draw.rectangle((left, horizon - tall, left + wide, horizon), fill=colour(70, 200))
        for y in range(horizon - tall + 10, horizon - 16, 20):
            for x in range(left + 8, left + wide - 12, 17):
                lit = int(rng.integers(25, 245))
                draw.rectangle((x, y, x + 8, y + 10), fill=(lit, lit, int(lit * 0.85)))
        left += wide + int(rng.integers(0, 25))
    centre = width * rng.uniform(0.42, 0.58)
    draw.polygon([(width * rng.uniform(0.0, 0.3), height), (width * rng.uniform(0.7, 1.0), height),
                  (centre + 35, horizon), (centre - 35, horizon)], fill=colour(40, 75))
    for step in range(1, 14):  # dashed centre line, wider towards the camera
        dash = horizon + (height - horizon) * step / 14
        draw.line([(centre, dash), (centre, dash + 6 + 2 * step)], fill=(232, 232, 215), width=1 + step // 3)
    for _ in range(int(rng.integers(4, 9))):
        x = int(rng.integers(0, width))
        draw.line([(x, horizon - int(rng.integers(90, 210))), (x, horizon + 45)], fill=(48, 48, 54), width=4)
    for _ in range(int(rng.integers(3, 7))):
        x, y, r = int(rng.integers(0, width)), int(rng.integers(horizon - 60, horizon + 25)), int(rng.integers(22, 50))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(int(rng.integers(25, 70)), int(rng.integers(85, 145)), 42))
    texture = rng.normal(0.0, 5.0, (height, width, 1)).astype(np.float32)
    canvas = Image.fromarray(np.clip(np.asarray(canvas, dtype=np.float32) + texture, 0, 255).astype(np.uint8))
    lane_y = int(horizon - MARGIN + (HEIGHT + MARGIN - horizon) * rng.uniform(0.45, 0.7))
    return _World(canvas, min(lane_y, HEIGHT - CAR_SIZE[1] - 12), colour(0, 255), seed)


def _crop(canvas: Image.Image, dx: int = 0, dy: int = 0) -> Image.Image:
    return canvas.crop((MARGIN + dx, MARGIN + dy, MARGIN + dx + WIDTH, MARGIN + dy + HEIGHT))


def _view(world: _World, look: Look) -> np.ndarray:
    """The noise-free picture of a look, without the car and the OSD."""
    if look in world.views:
        return world.views[look]
    rng = random.Random(world.seed)
    if look is Look.BLACK:  # a dead sensor still shows its black level
        picture = np.full((HEIGHT, WIDTH, 3), rng.randint(2, 9), dtype=np.uint8)
    elif look is Look.MOVED:  # turned on its bracket: rotated and shifted to one side
        sign = rng.choice((-1, 1))
        rotated = world.canvas.rotate(sign * rng.uniform(18, 28), resample=Image.Resampling.BILINEAR, fillcolor=(70, 70, 70))
        picture = np.asarray(_crop(rotated, dx=-sign * MARGIN, dy=rng.randint(-MARGIN // 2, MARGIN // 2)))
    elif look is Look.BLURRED:  # out of focus: Laplacian detail gone, layout kept
        picture = np.asarray(_crop(world.canvas).filter(ImageFilter.GaussianBlur(rng.uniform(3.5, 5.0))))
    else:
        picture = np.asarray(_crop(world.canvas))
    world.views[look] = picture
    return picture


def _cover(world: _World) -> tuple[Image.Image, tuple[int, int, int]]:
    """Something hanging in front of the lens from one side over 78-86 % of the frame, out of focus."""
    if world.cover is None:
        rng = random.Random(world.seed + 1)
        share = rng.uniform(0.78, 0.86)
        boxes = ((0, 0, WIDTH * share, HEIGHT), (WIDTH * (1 - share), 0, WIDTH, HEIGHT),
                 (0, 0, WIDTH, HEIGHT * share), (0, HEIGHT * (1 - share), WIDTH, HEIGHT))
        mask = Image.new("L", (WIDTH, HEIGHT), 0)
        ImageDraw.Draw(mask).rectangle(rng.choice(boxes), fill=255)
        shade = rng.randint(25, 70)
        world.cover = mask.filter(ImageFilter.GaussianBlur(10)), (shade, shade + rng.randint(0, 12), shade)
    return world.cover


class SceneRenderer:
    """Frames of every device's camera; `cache_size` worlds (~1.2 MB each) are kept."""

    def __init__(self, cache_size: int = 64, rng: random.Random | None = None) -> None:
        self._worlds: OrderedDict[str, _World] = OrderedDict()
        self._cache_size = cache_size
        self._rng = rng or random.Random()
        noise = np.random.default_rng(0).normal(0.0, NOISE_SIGMA, (HEIGHT + 64, WIDTH + 64, 1))
        self._noise = np.round(noise).astype(np.int16)

    def _world(self, device_id: str) -> _World:
        world = self._worlds.get(device_id)
        if world is None:
            world = self._worlds[device_id] = _draw_world(device_seed(device_id))
            if len(self._worlds) > self._cache_size:
                self._worlds.popitem(last=False)
        else:
            self._worlds.move_to_end(device_id)
        return world

    def frame(self, device_id: str, look: Look, now: float, osd: str) -> bytes:
        """One JPEG snapshot at time `now` (the car's position) with `osd` written top left."""
        world = self._world(device_id)
        dy, dx = self._rng.randrange(64), self._rng.randrange(64)
        noisy = _view(world, look).astype(np.int16) + self._noise[dy:dy + HEIGHT, dx:dx + WIDTH]
        picture = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        if look is not Look.BLACK:
            _draw_car(picture, world, now, blurred=look is Look.BLURRED)
        if look is Look.COVERED:
            mask, colour = _cover(world)
            picture.paste(colour, (0, 0, WIDTH, HEIGHT), mask)
        ImageDraw.Draw(picture).text((12, 10), osd, fill=(255, 255, 255))
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()


def _draw_car(picture: Image.Image, world: _World, now: float, *, blurred: bool) -> None:
    """The moving element: a car crossing the view every 12 s, so no two seconds look alike."""
    length, tall = CAR_SIZE
    x = int((now / 12.0 % 1.0) * (WIDTH + length)) - length
    y = world.lane_y
    box = (max(x - 8, 0), y - 8, min(x + length + 8, WIDTH), y + tall + 14)
    if box[2] <= box[0]:
        return
    patch = picture.crop(box)
    draw = ImageDraw.Draw(patch)
    ox, oy = x - box[0], y - box[1]
    draw.rectangle((ox, oy, ox + length, oy + tall - 8), fill=world.car_colour, outline=(12, 12, 12))
    for wheel in (ox + 10, ox + length - 28):
        draw.ellipse((wheel, oy + tall - 16, wheel + 18, oy + tall + 2), fill=(16, 16, 16))
    picture.paste(patch.filter(ImageFilter.GaussianBlur(4)) if blurred else patch, box[:2])
