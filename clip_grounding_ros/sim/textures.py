# Copyright 2026 The clip_grounding_ros authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Procedural surface textures for the simulator: wood, fabric, noise, printed patterns, tiles.

Numpy only, nothing downloaded, deterministic from a seed, a few milliseconds each. Every kind
is a luminance pattern in [0, 1] that tiles seamlessly (the floor and walls repeat it), turned
into an RGB image by texture_image: the brightness is mapped into a contrast range such as
[0.6, 1.0] and multiplied by a tint. The simulator uploads the untinted (grey) image and lets
MuJoCo multiply it by the material's colour, so a textured red box is red with a darker grain,
still read as red.
"""

from __future__ import annotations

from collections.abc import Callable
import zlib

import numpy as np

DEFAULT_SIZE = 128
# The brightness range of object textures: darkest grain at 60 % of the named colour.
OBJECT_CONTRAST = (0.6, 1.0)
# Floors and walls name no colour, so their patterns may be stronger.
SURFACE_CONTRAST = (0.6, 1.0)

Pattern = Callable[[np.random.Generator, int], np.ndarray]


def _axis(size: int) -> np.ndarray:
    """Pixel centres of one image axis in [0, 1), as a float array."""
    return (np.arange(size) + 0.5) / size


def value_noise(
    rng: np.random.Generator, size: int, cells: int | tuple[int, int]
) -> np.ndarray:
    """
    Tileable value noise (size x size, in [0, 1]).

    Random values on a (cells_y x cells_x) lattice that wraps around, interpolated with a
    smoothstep; `cells` sets the feature size (more cells, finer noise) and may differ per axis
    for streaky, anisotropic noise.
    """
    cells_y, cells_x = (cells, cells) if isinstance(cells, int) else cells
    lattice = rng.random((cells_y, cells_x))

    def coordinates(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        position = _axis(size) * count
        low = np.floor(position).astype(np.int64)
        frac = position - low
        return low % count, (low + 1) % count, frac * frac * (3.0 - 2.0 * frac)

    y0, y1, fy = coordinates(cells_y)
    x0, x1, fx = coordinates(cells_x)
    top = lattice[y0][:, x0] * (1.0 - fx) + lattice[y0][:, x1] * fx
    bottom = lattice[y1][:, x0] * (1.0 - fx) + lattice[y1][:, x1] * fx
    return top * (1.0 - fy[:, None]) + bottom * fy[:, None]


def fractal_noise(
    rng: np.random.Generator,
    size: int,
    base_cells: int | tuple[int, int] = 4,
    octaves: int = 4,
    persistence: float = 0.5,
) -> np.ndarray:
    """Sum octaves of value noise, each twice as fine and `persistence` weaker; in [0, 1]."""
    cells_y, cells_x = (base_cells, base_cells) if isinstance(base_cells, int) else base_cells
    total = np.zeros((size, size))
    amplitude = 1.0
    for octave in range(octaves):
        scale = 2**octave
        total += amplitude * value_noise(rng, size, (cells_y * scale, cells_x * scale))
        amplitude *= persistence
    return _normalise(total)


def _normalise(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.full_like(values, 0.5, dtype=np.float64)
    return (values - low) / (high - low)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x) in [0, 1), each size x size."""
    y, x = np.meshgrid(_axis(size), _axis(size), indexing='ij')
    return y, x


def _grain(rng: np.random.Generator, size: int, rings: int, ring_depth: float) -> np.ndarray:
    """Growth rings along x (`rings` a tile), bent by noise, with fibres and streaks."""
    y, _ = _grid(size)
    warp = fractal_noise(rng, size, (2, 1), octaves=3)
    phase = (y * rings + 1.6 * warp) % 1.0
    # Late wood: a narrow dark band in each ring, a soft edge on one side like real growth rings.
    ring = np.clip((phase - 0.65) / 0.2, 0.0, 1.0) * np.clip((1.0 - phase) / 0.1, 0.0, 1.0)
    fibres = value_noise(rng, size, (size // 3, 3))
    streaks = fractal_noise(rng, size, (16, 2), octaves=2)
    return 1.0 - ring_depth * ring - 0.2 * fibres - 0.2 * streaks * (1.0 - ring)


def wood(rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw wood grain: growth rings along x, bent by noise, with fine fibres and streaks."""
    return _normalise(_grain(rng, size, int(rng.integers(5, 10)), ring_depth=0.6))


def planks(rng: np.random.Generator, size: int) -> np.ndarray:
    """
    Lay floor boards: wood grain in boards along x, each shifted and shaded, dark seams.

    Each board has one end joint at a random place; boards and joints wrap, so the floor tiles.
    """
    boards = int(rng.choice([4, 8]))
    grain = _normalise(_grain(rng, size, boards * int(rng.integers(3, 6)), ring_depth=0.35))
    board_height = size // boards
    image = np.empty_like(grain)
    for board in range(boards):
        rows = slice(board * board_height, (board + 1) * board_height)
        shift = int(rng.integers(size))
        shade = float(rng.uniform(0.75, 1.0))
        image[rows] = shade * (0.3 + 0.7 * np.roll(grain[rows], shift, axis=1))
        image[rows, shift:shift + max(size // 128, 1)] = 0.05  # end joint
        image[board * board_height] = 0.05  # seam along the board
    return image


def fabric(rng: np.random.Generator, size: int) -> np.ndarray:
    """Weave threads over and under each other (plain weave), each rounded, slightly uneven."""
    threads = int(rng.choice([16, 24, 32]))
    v, u = (coordinate * threads for coordinate in _grid(size))
    on_top = ((np.floor(u) + np.floor(v)) % 2).astype(bool)
    across = np.sin(np.pi * (v % 1.0))  # weft: horizontal threads, rounded across their width
    along = np.sin(np.pi * (u % 1.0))  # warp: vertical threads
    weave = np.where(on_top, across, along) ** 0.7
    # Each thread is a little lighter or darker than its neighbours.
    weft_shade = rng.random(threads)[np.floor(v).astype(int) % threads]
    warp_shade = rng.random(threads)[np.floor(u).astype(int) % threads]
    shade = np.where(on_top, weft_shade, warp_shade)
    fuzz = value_noise(rng, size, threads * 2)
    # Uneven dyeing and wear: patches that still show where the threads blur together.
    patches = fractal_noise(rng, size, 3, octaves=2)
    return _normalise(weave * (0.45 + 0.15 * shade + 0.1 * fuzz + 0.3 * patches))


def noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """Mottle like stone, plaster or a worn surface: multi-octave value noise."""
    return fractal_noise(rng, size, int(rng.integers(3, 6)), octaves=5, persistence=0.55)


def stripes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Print stripes, straight or diagonal, in two widths."""
    y, x = _grid(size)
    count = int(rng.choice([4, 6, 8]))
    direction = int(rng.integers(3))
    coordinate = (y, x, (x + y) / 2.0)[direction] * count
    # Diagonal stripes tile when the stripe count divides evenly: (x + y) / 2 * count
    # advances count whole periods along each axis.
    wide = (coordinate % 1.0) < 0.5
    thin = np.abs((coordinate % 1.0) - 0.75) < 0.06
    return (wide | thin).astype(np.float64)


def checks(rng: np.random.Generator, size: int) -> np.ndarray:
    """Print a checkerboard."""
    y, x = _grid(size)
    count = int(rng.choice([4, 6, 8]))
    return ((np.floor(x * count) + np.floor(y * count)) % 2 == 0).astype(np.float64)


def dots(rng: np.random.Generator, size: int) -> np.ndarray:
    """Print polka dots on a staggered grid."""
    y, x = _grid(size)
    count = int(rng.choice([4, 6, 8]))
    radius = float(rng.uniform(0.22, 0.32))
    v, u = y * count, x * count
    u = u + 0.5 * (np.floor(v) % 2)  # every other row shifted by half a cell
    distance = np.hypot(u % 1.0 - 0.5, v % 1.0 - 0.5)
    return (distance > radius).astype(np.float64)


def label(rng: np.random.Generator, size: int) -> np.ndarray:
    """
    Print a blocky label: a light field with a dark band, a logo block and lines of "text".

    The text is rows of short dark blocks of random widths, like characters seen from afar.
    """
    image = np.ones((size, size))
    unit = size // 32
    band_top = int(rng.integers(2, 8)) * unit
    band_height = int(rng.integers(4, 8)) * unit
    image[band_top:band_top + band_height] = 0.35
    logo = int(rng.integers(6, 10)) * unit
    left = int(rng.integers(2, 32 - logo // unit - 2)) * unit
    top = band_top + band_height + 2 * unit
    image[top:top + logo, left:left + logo] = 0.15
    image[top + unit:top + logo - unit, left + unit:left + logo - unit] = 0.6
    row = top + logo + 2 * unit
    while row + unit <= size - 2 * unit:
        column = 2 * unit
        while column < size - 4 * unit:
            width = int(rng.integers(1, 4)) * unit
            image[row:row + unit, column:column + width] = 0.1
            column += width + int(rng.integers(1, 3)) * unit
        row += 2 * unit
    return image


def tiles(rng: np.random.Generator, size: int) -> np.ndarray:
    """Lay square tiles, each a slightly different shade, with dark grout and a fine mottle."""
    y, x = _grid(size)
    count = int(rng.choice([2, 4]))
    v, u = y * count, x * count
    shade = rng.random((count, count))[np.floor(v).astype(int), np.floor(u).astype(int)]
    grout = np.minimum.reduce([u % 1.0, 1.0 - u % 1.0, v % 1.0, 1.0 - v % 1.0]) < 0.03
    mottle = fractal_noise(rng, size, 8, octaves=3)
    return np.where(grout, 0.0, 0.8 + 0.1 * shade + 0.1 * mottle)


def paint(rng: np.random.Generator, size: int) -> np.ndarray:
    """Paint plaster: faint roller streaks over a soft, low-frequency unevenness."""
    unevenness = fractal_noise(rng, size, 3, octaves=3)
    streaks = value_noise(rng, size, (2, 24))
    speckle = rng.random((size, size))
    return 0.45 + 0.35 * unevenness + 0.15 * streaks + 0.05 * speckle


PATTERNS: dict[str, Pattern] = {
    'wood': wood,
    'planks': planks,
    'fabric': fabric,
    'noise': noise,
    'stripes': stripes,
    'checks': checks,
    'dots': dots,
    'label': label,
    'tiles': tiles,
    'paint': paint,
}
TEXTURE_KINDS = tuple(PATTERNS)


def _rng(kind: str, seed: int) -> np.random.Generator:
    # Each kind gets its own stream, so two kinds with one seed share no random values.
    return np.random.default_rng([int(seed), zlib.crc32(kind.encode())])


def pattern(kind: str, seed: int = 0, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Return the luminance pattern of texture `kind` (size x size, float64 in [0, 1])."""
    if kind not in PATTERNS:
        raise ValueError(f"unknown texture {kind!r}; known textures: {', '.join(TEXTURE_KINDS)}")
    if size < 32 or size % 32:
        raise ValueError(f'texture size must be a positive multiple of 32, got {size}')
    return np.clip(PATTERNS[kind](_rng(kind, seed), size), 0.0, 1.0)


def texture_image(
    kind: str,
    seed: int = 0,
    size: int = DEFAULT_SIZE,
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0),
    contrast: tuple[float, float] = OBJECT_CONTRAST,
) -> np.ndarray:
    """
    Texture `kind` as an RGB image (size x size x 3, uint8).

    The pattern's brightness is mapped into `contrast` (fractions of full brightness) and
    multiplied by `tint`, so the image keeps the tint's hue everywhere.
    """
    low, high = contrast
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f'contrast must be 0 <= low <= high <= 1, got {contrast}')
    brightness = low + (high - low) * pattern(kind, seed, size)
    rgb = brightness[:, :, None] * np.asarray(tint, dtype=np.float64)[None, None, :]
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
