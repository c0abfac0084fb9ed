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

"""ROS image buffers to RGB: every supported encoding, padding, and each kind of bad input."""

from clip_grounding_ros.core.perception.images import (
    check_rgb,
    decode_compressed,
    depth_to_metres,
    encode_compressed,
    ImageError,
    to_rgb8,
)
import cv2
import numpy as np
import pytest

RGB = np.random.default_rng(1).integers(0, 256, (6, 5, 3), dtype=np.uint8)


def _buffer(array: np.ndarray, pad: int = 0) -> tuple[bytes, int]:
    """Row-major bytes with ``pad`` extra bytes per row, and the step."""
    rows = array.reshape(array.shape[0], -1).view(np.uint8)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 7, np.uint8)], axis=1)
    return padded.tobytes(), padded.shape[1]


@pytest.mark.parametrize('encoding, source', [
    ('rgb8', RGB),
    ('bgr8', RGB[..., ::-1]),
    ('8UC3', RGB[..., ::-1]),
    ('rgba8', np.dstack([RGB, np.full(RGB.shape[:2], 255, np.uint8)])),
    ('bgra8', np.dstack([RGB[..., ::-1], np.zeros(RGB.shape[:2], np.uint8)])),
])
@pytest.mark.parametrize('pad', [0, 3])
def test_colour_encodings_give_the_same_rgb(encoding, source, pad):
    data, step = _buffer(np.ascontiguousarray(source), pad)
    out = to_rgb8(data, 5, 6, encoding, step)
    assert out.dtype == np.uint8 and out.shape == (6, 5, 3)
    np.testing.assert_array_equal(out, RGB)


def test_mono8_is_grey_in_all_channels():
    grey = RGB[..., 0]
    data, step = _buffer(grey, pad=1)
    out = to_rgb8(data, 5, 6, 'mono8', step)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], grey)


@pytest.mark.parametrize('bigendian', [False, True])
def test_mono16_is_scaled_to_full_range(bigendian):
    values = np.array([[0, 1000], [2000, 4000]], dtype='>u2' if bigendian else '<u2')
    out = to_rgb8(values.tobytes(), 2, 2, 'mono16', 4, is_bigendian=bigendian)
    np.testing.assert_array_equal(out[..., 0], [[0, 63], [127, 255]])


def test_yuv422_and_bayer_decode_to_rgb():
    bgr = np.full((4, 4, 3), (30, 60, 200), np.uint8)  # a red-ish patch
    yuyv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_YUY2)
    out = to_rgb8(yuyv.tobytes(), 4, 4, 'yuv422_yuy2', 8)
    assert out.shape == (4, 4, 3)
    assert out[..., 0].mean() > out[..., 2].mean() + 80  # red stays red
    bayer = np.zeros((4, 4), np.uint8)
    bayer[0::2, 0::2] = 250  # R sites of an RGGB pattern
    out = to_rgb8(bayer.tobytes(), 4, 4, 'bayer_rggb8', 4)
    assert out[..., 0].mean() > out[..., 1].mean() and out[..., 0].mean() > out[..., 2].mean()


@pytest.mark.parametrize('width, height, encoding, step, size, message', [
    (5, 6, 'rgb8', 15, 15 * 6 - 1, 'expected 90'),       # one byte short
    (5, 6, 'rgb8', 14, 14 * 6, 'smaller than one row'),  # step too small
    (0, 6, 'rgb8', 0, 0, 'zero size'),
    (5, 0, 'rgb8', 15, 0, 'zero size'),
    (5, 6, 'jpeg', 15, 90, "unsupported image encoding 'jpeg'"),
    (5, 6, '32FC1', 20, 120, 'unsupported image encoding'),
    (100000, 100000, 'mono8', 100000, 10, 'too large'),
])
def test_bad_buffers_are_clear_errors(width, height, encoding, step, size, message):
    with pytest.raises(ImageError, match=message):
        to_rgb8(bytes(size), width, height, encoding, step)


def test_depth_units_and_invalid_readings():
    millimetres = np.array([[0, 1500], [65535, 250]], dtype=np.uint16)
    metres = depth_to_metres(millimetres.tobytes(), 2, 2, '16UC1', 4)
    assert np.isnan(metres[0, 0])
    np.testing.assert_allclose(metres[0, 1], 1.5)
    np.testing.assert_allclose(metres[1, 1], 0.25)
    floats = np.array([[np.nan, 2.0], [np.inf, -1.0]], dtype=np.float32)
    metres = depth_to_metres(floats.tobytes(), 2, 2, '32FC1', 8)
    assert metres[0, 1] == 2.0 and np.isnan(metres[0, 0]) and np.isnan(metres[1]).all()
    with pytest.raises(ImageError, match='unsupported depth encoding'):
        depth_to_metres(bytes(12), 2, 2, 'rgb8', 6)


@pytest.mark.parametrize('fmt', ['jpeg', 'png'])
def test_compressed_round_trip(fmt):
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :30] = (200, 30, 30)
    decoded = decode_compressed(encode_compressed(image, fmt))
    assert decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - image).mean() < 3


@pytest.mark.parametrize('data, message', [(b'', 'empty'),
                                           (b'not an image at all', 'could not be decoded')])
def test_corrupt_compressed_images(data, message):
    with pytest.raises(ImageError, match=message):
        decode_compressed(data)


def test_check_rgb_accepts_grey_rgba_floats_and_16_bit():
    assert check_rgb(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert check_rgb(np.zeros((4, 5, 1), np.uint8)).shape == (4, 5, 3)
    assert check_rgb(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)
    assert check_rgb(np.ones((4, 5, 3), np.float32)).max() == 255
    sixteen = check_rgb(np.array([[0, 257 * 128, 65535]] * 2, np.uint16))
    assert sixteen.dtype == np.uint8 and sixteen[0, :, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize('image, message', [
    (np.zeros((1, 1, 3), np.uint8), 'too small'),
    (np.zeros((0, 5, 3), np.uint8), 'too small'),
    (np.zeros((4, 5, 2), np.uint8), 'expected an'),
    ('not an array', 'numpy array'),
])
def test_check_rgb_rejects_unusable_images(image, message):
    with pytest.raises(ImageError, match=message):
        check_rgb(image)
