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
Raw camera buffers (ROS image encodings) to RGB arrays, with clear errors on bad input.

cv_bridge is the usual tool on a robot, but its PyPI copy is a broken ROS 1 build and the
nodes must also run from a plain venv, so the conversions the package needs are written
here on numpy/OpenCV and tested directly.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np


class ImageError(ValueError):
    """The image cannot be used; the message says why."""


# encoding -> (channels, numpy dtype, OpenCV conversion to RGB or None when already RGB)
_COLOUR_ENCODINGS = {
    'rgb8': (3, np.uint8, None),
    'bgr8': (3, np.uint8, cv2.COLOR_BGR2RGB),
    '8UC3': (3, np.uint8, cv2.COLOR_BGR2RGB),  # OpenCV's default channel order
    'rgba8': (4, np.uint8, cv2.COLOR_RGBA2RGB),
    'bgra8': (4, np.uint8, cv2.COLOR_BGRA2RGB),
    '8UC4': (4, np.uint8, cv2.COLOR_BGRA2RGB),
    'mono8': (1, np.uint8, cv2.COLOR_GRAY2RGB),
    '8UC1': (1, np.uint8, cv2.COLOR_GRAY2RGB),
    'mono16': (1, np.uint16, cv2.COLOR_GRAY2RGB),
    '16UC1': (1, np.uint16, cv2.COLOR_GRAY2RGB),
    'rgb16': (3, np.uint16, None),
    'bgr16': (3, np.uint16, cv2.COLOR_BGR2RGB),
    'yuv422': (2, np.uint8, cv2.COLOR_YUV2RGB_UYVY),
    'uyvy': (2, np.uint8, cv2.COLOR_YUV2RGB_UYVY),
    'yuv422_yuy2': (2, np.uint8, cv2.COLOR_YUV2RGB_YUY2),
    'yuyv': (2, np.uint8, cv2.COLOR_YUV2RGB_YUY2),
    'bayer_rggb8': (1, np.uint8, cv2.COLOR_BayerBG2RGB),
    'bayer_bggr8': (1, np.uint8, cv2.COLOR_BayerRG2RGB),
    'bayer_gbrg8': (1, np.uint8, cv2.COLOR_BayerGR2RGB),
    'bayer_grbg8': (1, np.uint8, cv2.COLOR_BayerGB2RGB),
}
SUPPORTED_ENCODINGS = tuple(_COLOUR_ENCODINGS)
DEPTH_ENCODINGS = ('16UC1', 'mono16', '32FC1')
MAX_PIXELS = 8192 * 8192


def _bytes(data: bytes | memoryview | np.ndarray) -> np.ndarray:
    """Return the bytes of ``data`` as a flat uint8 array (an array view may be non-contiguous)."""
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data)
    return np.frombuffer(data, dtype=np.uint8)


def _unpack(data: bytes | memoryview | np.ndarray, width: int, height: int, step: int,
            channels: int, dtype: np.dtype, is_bigendian: bool) -> np.ndarray:
    """View a row-padded buffer as (height, width, channels) without the padding."""
    if width <= 0 or height <= 0:
        raise ImageError(f'image has zero size ({width}x{height})')
    if width * height > MAX_PIXELS:
        raise ImageError(f'image is too large ({width}x{height}); at most {MAX_PIXELS} pixels')
    itemsize = np.dtype(dtype).itemsize
    row_bytes = width * channels * itemsize
    if step < row_bytes:
        raise ImageError(f'step {step} is smaller than one row of {width} pixels '
                         f'({row_bytes} bytes)')
    buffer = _bytes(data)
    if buffer.size < step * (height - 1) + row_bytes:
        raise ImageError(f'image data has {buffer.size} bytes, expected {step * height} '
                         f'for {height} rows of step {step}')
    # One row: the step is never used (and may exceed what a stride can hold).
    rows = np.lib.stride_tricks.as_strided(
        buffer, shape=(height, row_bytes), strides=(step if height > 1 else row_bytes, 1))
    pixels = rows.copy().view(np.dtype(dtype).newbyteorder('>' if is_bigendian else '<'))
    return pixels.astype(dtype, copy=False).reshape(height, width, channels)


def to_rgb8(data: bytes | memoryview | np.ndarray, width: int, height: int, encoding: str,
            step: int, is_bigendian: bool = False) -> np.ndarray:
    """
    Convert a raw image buffer in any supported ROS encoding to an (H, W, 3) uint8 RGB array.

    16-bit images are scaled to the 8-bit range by their maximum (mono16 cameras rarely use
    the full range, so a fixed shift would give black frames).
    """
    if encoding not in _COLOUR_ENCODINGS:
        raise ImageError(f"unsupported image encoding '{encoding}'; supported: "
                         f"{', '.join(SUPPORTED_ENCODINGS)}")
    channels, dtype, conversion = _COLOUR_ENCODINGS[encoding]
    pixels = _unpack(data, width, height, step, channels, dtype, is_bigendian)
    if channels == 2 and width % 2:  # 4:2:2 YUV: two pixels share one U and one V
        raise ImageError(f"'{encoding}' packs pixels in pairs: the width ({width}) must be "
                         'even')
    if dtype == np.uint16:
        peak = int(pixels.max())
        pixels = (pixels.astype(np.float32) * (255.0 / peak if peak else 0.0)).astype(np.uint8)
    if channels == 1:
        pixels = pixels[..., 0]
    rgb = pixels if conversion is None else cv2.cvtColor(pixels, conversion)
    return np.ascontiguousarray(rgb)


def depth_to_metres(data: bytes | memoryview | np.ndarray, width: int, height: int,
                    encoding: str, step: int, is_bigendian: bool = False) -> np.ndarray:
    """
    Depth image to float32 metres; invalid readings (0, NaN, inf) become NaN.

    REP-118: 16UC1 depth is in millimetres, 32FC1 in metres.
    """
    if encoding in ('16UC1', 'mono16'):
        raw = _unpack(data, width, height, step, 1, np.uint16, is_bigendian)[..., 0]
        metres = raw.astype(np.float32) / 1000.0
    elif encoding == '32FC1':
        metres = _unpack(data, width, height, step, 1, np.float32, is_bigendian)[..., 0].copy()
    else:
        raise ImageError(f"unsupported depth encoding '{encoding}'; supported: "
                         f"{', '.join(DEPTH_ENCODINGS)}")
    metres[~np.isfinite(metres) | (metres <= 0)] = np.nan
    return metres


_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0..SOF15 markers


def _check_header(data: memoryview) -> None:
    """
    Refuse a PNG or JPEG whose header would make OpenCV allocate too much.

    That is, more than the image can be: a size over MAX_PIXELS, or (PNG) a chunk longer than the
    data left, for which OpenCV 5 allocates the length it claims, gigabytes, before finding the
    data short.
    """
    size = None
    if data[:8] == _PNG_SIGNATURE:
        at = 8
        while at + 8 <= len(data):
            length, kind = struct.unpack('>I4s', data[at:at + 8])
            if at + 12 + length > len(data):
                raise ImageError(f'compressed image is damaged: PNG chunk {kind!r} of '
                                 f'{length} bytes runs past the end of the data')
            if kind == b'IHDR' and length >= 8:
                size = struct.unpack('>II', data[at + 8:at + 16])
            if kind == b'IEND':
                break
            at += 12 + length
    elif data[:2] == b'\xff\xd8':
        at = 2  # JPEG: walk the marker segments to the frame header
        while at + 9 <= len(data) and data[at] == 0xFF:
            marker = data[at + 1]
            if marker in _JPEG_FRAMES:
                height, width = struct.unpack('>HH', data[at + 5:at + 9])
                size = width, height
                break
            if marker == 0xFF or 0xD0 <= marker <= 0xD9 or marker == 0x01:  # no length
                at += 1 if marker == 0xFF else 2
            else:
                at += 2 + struct.unpack('>H', data[at + 2:at + 4])[0]
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise ImageError(f'compressed image is too large ({size[0]}x{size[1]}); at most '
                         f'{MAX_PIXELS} pixels')


def decode_compressed(data: bytes | memoryview | np.ndarray) -> np.ndarray:
    """
    Decode a JPEG/PNG/... byte buffer (sensor_msgs/CompressedImage) to RGB uint8.

    At most MAX_PIXELS, as for raw images; PNG and JPEG headers are checked before
    decoding, so a damaged one cannot make OpenCV allocate gigabytes.
    """
    buffer = _bytes(data)
    if buffer.size == 0:
        raise ImageError('compressed image is empty')
    _check_header(buffer.data)
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if decoded is None:
        raise ImageError(f'compressed image ({buffer.size} bytes) could not be decoded')
    if decoded.shape[0] * decoded.shape[1] > MAX_PIXELS:
        raise ImageError(f'compressed image is too large ({decoded.shape[1]}x'
                         f'{decoded.shape[0]}); at most {MAX_PIXELS} pixels')
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def encode_compressed(rgb: np.ndarray, fmt: str = 'jpeg', quality: int = 90) -> bytes:
    """RGB uint8 to JPEG or PNG bytes, for publishing CompressedImage."""
    extension = {'jpeg': '.jpg', 'jpg': '.jpg', 'png': '.png'}.get(fmt.lower())
    if extension is None:
        raise ImageError(f"unsupported compressed format '{fmt}': use jpeg or png")
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if extension == '.jpg' else []
    ok, buffer = cv2.imencode(extension, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ImageError(f'could not encode image as {fmt}')
    return buffer.tobytes()


def check_rgb(image: np.ndarray) -> np.ndarray:
    """
    Validate an in-memory image and return it as contiguous (H, W, 3) uint8 RGB.

    Accepts grayscale (H, W) or (H, W, 1) and RGBA (H, W, 4) so callers of the core need not
    convert; floats in 0..1 are scaled to 0..255 and unsigned integers wider than 8 bits
    (16-bit images) by their range; other values are clipped to 0..255. ImageError for
    anything else.
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(f'expected a numpy array, got {type(image).__name__}')
    if image.dtype.kind not in 'biuf':
        raise ImageError(f'expected an image of numbers, got dtype {image.dtype}')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ImageError(f'expected an (H, W, 3) RGB image, got shape {image.shape}')
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ImageError(f'image is too small to ground anything ({image.shape[1]}x'
                         f'{image.shape[0]} pixels)')
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ImageError(f'image is too large ({image.shape[1]}x{image.shape[0]})')
    if image.dtype != np.uint8:
        if image.dtype.kind == 'u':  # 16-bit and wider: their whole range is 0..255
            image = image.astype(np.float64) * (255.0 / np.iinfo(image.dtype).max)
        elif image.dtype.kind == 'f':  # 0..1 floats are scaled, others clipped; NaN is black
            numbers = image[~np.isnan(image)]
            if numbers.size == 0 or numbers.max() <= 1.0:
                image = np.clip(image, 0.0, 1.0) * 255.0
            image = np.where(np.isnan(image), 0.0, image)
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[..., :3])
