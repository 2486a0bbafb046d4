"""What is wrong with a camera's picture, from one JPEG snapshot: pure Pillow/numpy, no I/O.

Checks, in the order a technician would fix them (a later check is skipped when an earlier one
already explains the picture: a black frame is not also "blurred"):

    blank    black (95 % of pixels dark) or uniform at any brightness (a "no video" screen).
             Percentiles, not the mean, so the OSD clock drawn on a dead sensor does not hide it.
    frozen   the same picture as the previous probe. Exact JPEG bytes; or else a picture whose
             content did not change, overlay aside (a 16x16 grid of mean levels, the few most
             changed cells left out for the on-screen date/time that changes every second), and
             whose sensor noise did not change either (four small patches at full decoded
             resolution: a live camera's noise changes them even when nothing moves, a stuck
             encoder does not). A picture with moving parts is therefore never frozen, whatever
             its noise. A camera with strong temporal noise reduction on a still scene can look
             frozen; set `frozen_noise` to 0 for such models. A stuck frame re-encoded at another
             JPEG quality is not caught: requantisation changes pixels as much as sensor noise does.
    covered  most of the frame flat (cells without texture): a hand, tape, a bag, a spider's nest.
    blurred  little fine detail: the standard deviation of the Laplacian per cell of a fixed-size
             working image (so the figure does not depend on resolution), taken at the 75th
             percentile of cells so flat sky and a sharp OSD overlay do not decide it.
    moved    the scene's edges no longer line up with the reference frame: correlation of the
             gradient maps of 32x32 thumbnails, insensitive to brightness and noise; the mean of
             the whole view's and the median part's (4x4 blocks), so a large vehicle passing a
             plain view (which changes the whole but few parts) is not a turned camera. A view with edges in
             fewer than 6 of its 16 parts (plain sky, a bare wall) is not judged: what edges it
             has may all be things passing through.

Each camera is judged against its own baseline once it has one: the sharpness and the share of
flat cells of its normal snapshots, learned from each (the fingerprint carries it to the next
probe as `previous`), bounded by its reference frame (the view as first seen): a view of sky,
walls or night that is that flat or that smooth when fine is not "covered" or "blurred", only one
that lost texture or detail since. A faulty snapshot teaches the baseline nothing. Without a
baseline (a first probe, `fleetmon probe`) the fixed thresholds decide: a view with no detail at
all cannot be told from a covered or defocused lens on one snapshot.

The fingerprint kept per camera is ~1.9 KB: a 16-byte digest, a 32x32 thumbnail, a 16x16 grid of
means, four 12x12 patches, and three figures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

WORK_WIDTH = 320
THUMB_SIDE = 32
PATCH_SIDE = 12
GRID = 8
CHANGE_GRID = 16
OVERLAY_CELLS = 4  # the most changed cells of the change grid, left out: room for an OSD date/time
PARTS = 4  # the moved check's blocks per side of the thumbnail
PART_EDGES = 4.0  # mean edge strength of a reference block with something to line up
MIN_PARTS = 6  # ...and how many such blocks a view needs for its position to be judged
MIN_DETAIL = 3.0  # a view with less sharpness than this when known good has no detail to lose
FLAT_CELL_CONTRAST = 3.0
LEARNING_RATE = 0.2  # weight of a new normal snapshot in the camera's learned baseline
MAX_PIXELS = 40_000_000  # above 8K; a larger "snapshot" is a decompression bomb, not a camera

_FloatArray = np.ndarray


class ImageDecodeError(ValueError):
    """The snapshot is not a decodable image (the caller reports it as a protocol error)."""


@dataclass(frozen=True, slots=True)
class ImageThresholds:
    black_p95: float = 28.0  # grey level below which 95 % of a black frame's pixels lie
    blank_spread: float = 5.0  # grey levels between the thumbnail's 5th and 95th percentile
    frozen_noise: float = 0.4  # mean absolute change of the noise patches, grey levels
    flat_cell_contrast: float = FLAT_CELL_CONTRAST  # standard deviation of a cell without texture
    covered_share: float = 0.55  # share of flat cells that means the lens is covered
    sharpness: float = 15.0  # Laplacian standard deviation at the 75th percentile of cells
    moved_correlation: float = 0.45  # edge-map correlation with the reference frame: mean of whole view and parts
    content_change: float = 2.0  # grey levels a cell's mean moves by when the scene changed there
    blur_ratio: float = 0.4  # share of the reference's sharpness below which the view lost focus
    covered_gain: float = 0.2  # more of the frame flat than in the reference: a lens being covered


@dataclass(frozen=True, slots=True)
class ImageFingerprint:
    """What the next probe compares with. As `previous`: digest, cells, patches and the learned
    baseline; as `reference`: thumb, sharpness, flat share (the view as first seen)."""

    digest: bytes
    thumb: bytes
    patches: bytes
    cells: bytes = b""  # CHANGE_GRID x CHANGE_GRID mean grey levels
    # The camera's baseline, learned from its normal snapshots up to this one (a first one's own
    # figures): sharpness, and share of cells without texture; -1 when unknown.
    sharpness: float = -1.0
    flat_share: float = -1.0
    noise: float = -1.0  # learned: change of the noise patches between live snapshots of a still scene; -1 unknown


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One check: `failed` is a finding; `text` says why in words and figures."""

    check: str
    failed: bool
    text: str


@dataclass(frozen=True, slots=True)
class ImageAssessment:
    fingerprint: ImageFingerprint
    outcomes: tuple[CheckOutcome, ...]

    @property
    def findings(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.failed]

    @property
    def verdict(self) -> str:
        """The first finding's check, or "normal"."""
        return next((o.check for o in self.outcomes if o.failed), "normal")

    def explain(self) -> str:
        return "; ".join(o.text for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class _Picture:
    """The measurements every check reads, computed once."""

    fingerprint: ImageFingerprint
    p95: float
    spread: float
    cell_contrast: _FloatArray
    sharpness: float


def assess(
    jpeg: bytes,
    previous: ImageFingerprint | None,
    reference: ImageFingerprint | None,
    thresholds: ImageThresholds,
) -> ImageAssessment:
    """Run every check on `jpeg`; keep the returned fingerprint as the next probe's `previous`."""
    picture = _measure(jpeg)
    t = thresholds
    own = picture.fingerprint
    known = [f for f in (previous, reference) if f is not None and f.sharpness >= 0 and f.flat_share >= 0]
    # Judged against the camera's own baseline: the least texture and the most detail it has shown.
    baseline = (max(f.sharpness for f in known), min(f.flat_share for f in known)) if known else None
    outcomes = [_blank(picture, t)]
    noise = previous.noise if previous is not None else -1.0
    if not outcomes[0].failed:
        frozen, noise = _frozen(picture, previous, t)
        outcomes.append(frozen)
        outcomes.append(_covered(picture, baseline, t))
        if not outcomes[-1].failed:
            outcomes.append(_blurred(picture, baseline, t))
            outcomes.append(_moved(picture, reference, t))
    learned = previous if previous is not None and previous.sharpness >= 0 else None
    if learned is None:  # a first picture is the baseline, whatever it shows
        sharpness, flat_share = own.sharpness, own.flat_share
    elif all(not o.failed for o in outcomes):
        sharpness = learned.sharpness + LEARNING_RATE * (own.sharpness - learned.sharpness)
        flat_share = learned.flat_share + LEARNING_RATE * (own.flat_share - learned.flat_share)
    else:  # a faulty picture teaches nothing
        sharpness, flat_share = learned.sharpness, learned.flat_share
    return ImageAssessment(dataclasses.replace(own, noise=noise, sharpness=sharpness, flat_share=flat_share), tuple(outcomes))


def fingerprint(jpeg: bytes) -> ImageFingerprint:
    """The fingerprint alone, e.g. to store a new reference frame."""
    return _measure(jpeg).fingerprint


# What Pillow raises for bytes that are not a whole, sane image; one edit if Pillow changes.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _measure(jpeg: bytes) -> _Picture:
    try:
        image = Image.open(io.BytesIO(jpeg))
    except _DECODE_ERRORS as exc:
        raise ImageDecodeError(f"not a decodable image: {exc}") from None
    with image:
        if image.width * image.height > MAX_PIXELS:
            raise ImageDecodeError(f"image of {image.width}x{image.height} pixels is too large")
        try:
            image.draft("L", (WORK_WIDTH * 2, WORK_WIDTH))  # JPEG: decode grey at a reduced DCT scale
            grey_image = image.convert("L")
        except _DECODE_ERRORS as exc:
            raise ImageDecodeError(f"not a decodable image: {exc}") from None
    grey = np.asarray(grey_image)
    height = max(GRID, round(WORK_WIDTH * grey_image.height / grey_image.width))
    work = np.asarray(grey_image.resize((WORK_WIDTH, height), Image.Resampling.BOX), dtype=np.float32)
    thumb = grey_image.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX)
    p95 = np.percentile(work, 95)
    thumb_p5, thumb_p95 = np.percentile(np.asarray(thumb), (5, 95))  # noise averaged out, OSD left out
    cell_contrast = _per_cell(work, np.std)
    laplacian = 4 * work[1:-1, 1:-1] - work[:-2, 1:-1] - work[2:, 1:-1] - work[1:-1, :-2] - work[1:-1, 2:]
    sharpness = float(np.percentile(_per_cell(laplacian, np.std), 75))
    cells = np.clip(np.rint(_per_cell(work, np.mean, CHANGE_GRID)), 0, 255).astype(np.uint8)
    return _Picture(
        fingerprint=ImageFingerprint(hashlib.blake2b(jpeg, digest_size=16).digest(), thumb.tobytes(), _patches(grey),
                                     cells.tobytes(), sharpness, float(np.mean(cell_contrast < FLAT_CELL_CONTRAST))),
        p95=float(p95),
        spread=float(thumb_p95 - thumb_p5),
        cell_contrast=cell_contrast,
        sharpness=sharpness,
    )


def _per_cell(array: _FloatArray, reduce: object, grid: int = GRID) -> _FloatArray:
    rows, cols = (array.shape[0] // grid) * grid, (array.shape[1] // grid) * grid
    cells = array[:rows, :cols].reshape(grid, rows // grid, grid, cols // grid).swapaxes(1, 2)
    return reduce(cells.reshape(grid, grid, -1), axis=2)  # type: ignore[operator,no-any-return]


def _patches(grey: np.ndarray) -> bytes:
    """Four patches at the quadrants' centres, at decoded resolution: they carry sensor noise."""
    height, width = grey.shape
    half = PATCH_SIDE // 2
    parts = []
    for y in (height // 4, 3 * height // 4):
        for x in (width // 4, 3 * width // 4):
            patch = grey[max(0, y - half):y + half, max(0, x - half):x + half]
            parts.append(np.resize(patch, (PATCH_SIDE, PATCH_SIDE)).astype(np.uint8).tobytes())
    return b"".join(parts)


def _blank(picture: _Picture, t: ImageThresholds) -> CheckOutcome:
    if picture.p95 < t.black_p95:
        return CheckOutcome("blank", True, f"black frame: 95% of pixels darker than {picture.p95:.0f} (< {t.black_p95:g})")
    spread = picture.spread
    if spread < t.blank_spread:
        return CheckOutcome("blank", True, f"blank frame: uniform, brightness spread {spread:.1f} < {t.blank_spread:g}")
    return CheckOutcome("blank", False, f"not blank: brightness spread {spread:.0f}, 95th percentile {picture.p95:.0f}")


def _frozen(picture: _Picture, previous: ImageFingerprint | None, t: ImageThresholds) -> tuple[CheckOutcome, float]:
    """The outcome, and the camera's learned noise level to carry forward."""
    if previous is None:
        return CheckOutcome("frozen", False, "frozen: not checked, no previous snapshot"), -1.0
    learned = previous.noise
    current = picture.fingerprint
    if previous.digest == current.digest:
        return CheckOutcome("frozen", True, "frozen: snapshot identical to the previous one, byte for byte"), learned
    if len(previous.patches) != len(current.patches) or len(previous.cells) not in (0, len(current.cells)):
        return CheckOutcome("frozen", False, "not frozen: picture size changed"), -1.0
    if previous.cells:
        moved = np.sort(np.abs(_array(current.cells) - _array(previous.cells)))[:-OVERLAY_CELLS]
        changed = int(np.sum(moved >= t.content_change))
        if changed:
            return CheckOutcome("frozen", False, f"not frozen: the picture changed in {changed} places"), learned
    change = float(np.mean(np.abs(_array(current.patches) - _array(previous.patches))))
    # On this camera a still scene's noise changes by `learned`; a stuck picture's by far less.
    limit = t.frozen_noise if learned < 0 else min(t.frozen_noise, learned / 4)
    if change < limit:
        return CheckOutcome("frozen", True, f"frozen: picture and sensor noise unchanged, change {change:.2f} < {limit:.2g}"), learned
    learned = change if learned < 0 else 0.8 * learned + 0.2 * change
    return CheckOutcome("frozen", False, f"not frozen: noise change {change:.2f} since the previous snapshot"), learned


def _covered(picture: _Picture, baseline: tuple[float, float] | None, t: ImageThresholds) -> CheckOutcome:
    share = float(np.mean(picture.cell_contrast < t.flat_cell_contrast))
    limit = t.covered_share
    if baseline is not None:
        limit = max(limit, baseline[1] + t.covered_gain)  # a view that flat when fine is its view
    return _outcome("covered", share >= limit,
                    f"lens covered: {share:.0%} of the frame has no texture (>= {limit:.0%})",
                    f"not covered: {share:.0%} of the frame without texture")


def _blurred(picture: _Picture, baseline: tuple[float, float] | None, t: ImageThresholds) -> CheckOutcome:
    value, limit = picture.sharpness, t.sharpness
    if baseline is not None:
        if baseline[0] < MIN_DETAIL:
            return CheckOutcome("blurred", False, f"focus not judged: the view has shown no fine detail "
                                                  f"(sharpness {baseline[0]:.1f})")
        limit = min(limit, round(t.blur_ratio * baseline[0], 1))  # a smooth view is judged by its own detail
    return _outcome("blurred", value < limit,
                    f"blurred: sharpness {value:.1f} < {limit:g}", f"sharp: sharpness {value:.1f}")


def _moved(picture: _Picture, reference: ImageFingerprint | None, t: ImageThresholds) -> CheckOutcome:
    if reference is None:
        return CheckOutcome("moved", False, "moved: not checked, no reference frame")
    whole = _edge_correlation(picture.fingerprint.thumb, reference.thumb)
    parts, counted = _parts_correlation(picture.fingerprint.thumb, reference.thumb)
    if counted < MIN_PARTS:  # a plain view: its few edges may all be things passing through
        return CheckOutcome("moved", False, f"position not judged: the reference view has edges in only {counted} "
                                            f"of its {PARTS * PARTS} parts")
    match = (whole + parts) / 2
    return _outcome("moved", match < t.moved_correlation,
                    f"scene moved: match with the reference {match:.2f} < {t.moved_correlation:g} "
                    f"(whole {whole:.2f}, part by part {parts:.2f})",
                    f"scene in place: match with the reference {match:.2f} (whole {whole:.2f}, part by part {parts:.2f})")


def _outcome(check: str, failed: bool, if_failed: str, if_passed: str) -> CheckOutcome:
    return CheckOutcome(check, failed, if_failed if failed else if_passed)


def _edge_correlation(thumb: bytes, other: bytes) -> float:
    return _correlation(_edges(thumb), _edges(other))


def _parts_correlation(thumb: bytes, reference: bytes) -> tuple[float, int]:
    """The median match of the parts of the view that had edges in the reference (4x4 blocks), and their number.

    Something large moving through a plain view (a bus before a wall) changes the whole
    thumbnail's edges, but only the parts it crosses; a turned camera changes every part.
    """
    a, b = _edges(thumb), _edges(reference)
    side = a.shape[0] // PARTS
    matches = [_correlation(a[i:i + side, j:j + side], b[i:i + side, j:j + side])
               for i in range(0, side * PARTS, side) for j in range(0, side * PARTS, side)
               if float(b[i:i + side, j:j + side].mean()) >= PART_EDGES]
    return (float(np.median(matches)) if matches else 1.0), len(matches)


def _correlation(a: _FloatArray, b: _FloatArray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b)) / denominator if denominator else 0.0


def _edges(thumb: bytes) -> _FloatArray:
    grey = _array(thumb).reshape(THUMB_SIDE, THUMB_SIDE)
    return np.hypot(np.diff(grey, axis=1)[:-1, :], np.diff(grey, axis=0)[:, :-1])


def _array(data: bytes) -> _FloatArray:
    return np.frombuffer(data, dtype=np.uint8).astype(np.float32)
