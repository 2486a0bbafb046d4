"""What is wrong with a camera's picture, from one JPEG snapshot: pure Pillow/numpy, no I/O.

Checks, in the order a technician would fix them (a later check is skipped when an earlier one
already explains the picture: a black frame is not also "blurred"):

    blank    black (95 % of pixels dark) or uniform at any brightness (a "no video" screen).
             Percentiles, not the mean, so the OSD clock drawn on a dead sensor does not hide it.
    frozen   the same picture as the previous probe. Exact JPEG bytes, or else four small patches
             of pixels at full (decoded) resolution that carry sensor noise: a live camera's noise
             changes them by a few grey levels even when nothing moves, a stuck encoder does not.
             A static scene alone therefore never looks frozen. A camera with strong temporal
             noise reduction on a static scene can; set `frozen_noise` to 0 for such models.
             A stuck frame re-encoded at another JPEG quality is not caught: requantisation
             changes pixels as much as sensor noise does.
    covered  most of the frame flat (cells without texture): a hand, tape, a bag, a spider's nest.
    blurred  little fine detail: the standard deviation of the Laplacian per cell of a fixed-size
             working image (so the figure does not depend on resolution), taken at the 75th
             percentile of cells so flat sky and a sharp OSD overlay do not decide it.
    moved    the scene's edges no longer line up with the reference frame: correlation of the
             gradient maps of 32x32 thumbnails, insensitive to brightness and noise.

The fingerprint kept per camera is ~1.6 KB: a 16-byte digest, a 32x32 thumbnail, four 12x12 patches.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

WORK_WIDTH = 320
THUMB_SIDE = 32
PATCH_SIDE = 12
GRID = 8
MAX_PIXELS = 40_000_000  # above 8K; a larger "snapshot" is a decompression bomb, not a camera

_FloatArray = np.ndarray


class ImageDecodeError(ValueError):
    """The snapshot is not a decodable image (the caller reports it as a protocol error)."""


@dataclass(frozen=True, slots=True)
class ImageThresholds:
    black_p95: float = 28.0  # grey level below which 95 % of a black frame's pixels lie
    blank_spread: float = 5.0  # grey levels between the thumbnail's 5th and 95th percentile
    frozen_noise: float = 0.4  # mean absolute change of the noise patches, grey levels
    flat_cell_contrast: float = 3.0  # standard deviation of a cell without texture
    covered_share: float = 0.55  # share of flat cells that means the lens is covered
    sharpness: float = 15.0  # Laplacian standard deviation at the 75th percentile of cells
    moved_correlation: float = 0.6  # edge-map correlation with the reference frame


@dataclass(frozen=True, slots=True)
class ImageFingerprint:
    digest: bytes
    thumb: bytes
    patches: bytes


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
    outcomes = [_blank(picture, t)]
    if not outcomes[0].failed:
        outcomes.append(_frozen(picture, previous, t))
        outcomes.append(_covered(picture, t))
        if not outcomes[-1].failed:
            outcomes.append(_blurred(picture, t))
            outcomes.append(_moved(picture, reference, t))
    return ImageAssessment(picture.fingerprint, tuple(outcomes))


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
    return _Picture(
        fingerprint=ImageFingerprint(hashlib.blake2b(jpeg, digest_size=16).digest(), thumb.tobytes(), _patches(grey)),
        p95=float(p95),
        spread=float(thumb_p95 - thumb_p5),
        cell_contrast=cell_contrast,
        sharpness=float(np.percentile(_per_cell(laplacian, np.std), 75)),
    )


def _per_cell(array: _FloatArray, reduce: object) -> _FloatArray:
    rows, cols = (array.shape[0] // GRID) * GRID, (array.shape[1] // GRID) * GRID
    cells = array[:rows, :cols].reshape(GRID, rows // GRID, GRID, cols // GRID).swapaxes(1, 2)
    return reduce(cells.reshape(GRID, GRID, -1), axis=2)  # type: ignore[operator,no-any-return]


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


def _frozen(picture: _Picture, previous: ImageFingerprint | None, t: ImageThresholds) -> CheckOutcome:
    if previous is None:
        return CheckOutcome("frozen", False, "frozen: not checked, no previous snapshot")
    if previous.digest == picture.fingerprint.digest:
        return CheckOutcome("frozen", True, "frozen: snapshot identical to the previous one, byte for byte")
    if len(previous.patches) != len(picture.fingerprint.patches):
        return CheckOutcome("frozen", False, "not frozen: picture size changed")
    change = float(np.mean(np.abs(_array(picture.fingerprint.patches) - _array(previous.patches))))
    return _outcome("frozen", change < t.frozen_noise,
                    f"frozen: sensor noise unchanged, change {change:.2f} < {t.frozen_noise:g}",
                    f"not frozen: noise change {change:.2f} since the previous snapshot")


def _covered(picture: _Picture, t: ImageThresholds) -> CheckOutcome:
    share = float(np.mean(picture.cell_contrast < t.flat_cell_contrast))
    return _outcome("covered", share >= t.covered_share,
                    f"lens covered: {share:.0%} of the frame has no texture (>= {t.covered_share:.0%})",
                    f"not covered: {share:.0%} of the frame without texture")


def _blurred(picture: _Picture, t: ImageThresholds) -> CheckOutcome:
    value = picture.sharpness
    return _outcome("blurred", value < t.sharpness,
                    f"blurred: sharpness {value:.1f} < {t.sharpness:g}", f"sharp: sharpness {value:.1f}")


def _moved(picture: _Picture, reference: ImageFingerprint | None, t: ImageThresholds) -> CheckOutcome:
    if reference is None:
        return CheckOutcome("moved", False, "moved: not checked, no reference frame")
    value = _edge_correlation(picture.fingerprint.thumb, reference.thumb)
    return _outcome("moved", value < t.moved_correlation,
                    f"scene moved: match with the reference {value:.2f} < {t.moved_correlation:g}",
                    f"scene in place: match with the reference {value:.2f}")


def _outcome(check: str, failed: bool, if_failed: str, if_passed: str) -> CheckOutcome:
    return CheckOutcome(check, failed, if_failed if failed else if_passed)


def _edge_correlation(thumb: bytes, other: bytes) -> float:
    a, b = _edges(thumb), _edges(other)
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b)) / denominator if denominator else 0.0


def _edges(thumb: bytes) -> _FloatArray:
    grey = _array(thumb).reshape(THUMB_SIDE, THUMB_SIDE)
    return np.hypot(np.diff(grey, axis=1)[:-1, :], np.diff(grey, axis=0)[:, :-1])


def _array(data: bytes) -> _FloatArray:
    return np.frombuffer(data, dtype=np.uint8).astype(np.float32)
