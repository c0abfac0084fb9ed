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
Property-based tests (hypothesis) of the pure functions that take outside input.

Camera buffers, calibration and spoken commands come from other programs and people, so
whatever they hold, these functions either return a well-formed result or raise the
package's documented error (ImageError, GeometryError, CommandError), never another
exception and never silent garbage (NaN targets, wrong shapes, out-of-range values).
Examples are few enough per test for CI; failures found earlier are pinned as @example.
"""

import array
import math
import re
import warnings

from clip_grounding_ros.core.contract.protocol import Intent
from clip_grounding_ros.core.language import commands
from clip_grounding_ros.core.language import steps as language
from clip_grounding_ros.core.perception.images import (
    check_rgb,
    decode_compressed,
    DEPTH_ENCODINGS,
    depth_to_metres,
    encode_compressed,
    ImageError,
    MAX_PIXELS,
    SUPPORTED_ENCODINGS,
    to_rgb8,
)
from clip_grounding_ros.core.world.camera import (
    box_depth,
    CameraMount,
    GeometryError,
    ground_point,
    image_region,
    Intrinsics,
    locate_box,
    region_camera_matrix,
    TargetPoint,
)
from clip_grounding_ros.nodes.common import (
    camera_info_for_image,
    camera_info_to_intrinsics,
    depth_image_to_metres,
    image_to_rgb,
)
from hypothesis import assume, example, given, HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image

CHEAP = settings(max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])
MEDIUM = settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Bytes per pixel of each encoding (REP-104 / sensor_msgs image_encodings), written out
# here rather than read from the module so a wrong table there shows up.
BYTES_PER_PIXEL = {
    'rgb8': 3, 'bgr8': 3, '8UC3': 3, 'rgba8': 4, 'bgra8': 4, '8UC4': 4, 'mono8': 1,
    '8UC1': 1, 'mono16': 2, '16UC1': 2, 'rgb16': 6, 'bgr16': 6, 'yuv422': 2, 'uyvy': 2,
    'yuv422_yuy2': 2, 'yuyv': 2, 'bayer_rggb8': 1, 'bayer_bggr8': 1, 'bayer_gbrg8': 1,
    'bayer_grbg8': 1, '32FC1': 4,
}
KNOWN = tuple(sorted(set(SUPPORTED_ENCODINGS) | set(DEPTH_ENCODINGS)))
ENCODINGS = st.one_of(st.sampled_from(KNOWN), st.text(max_size=12),
                      st.sampled_from(['RGB8', 'rgb8 ', '32FC3', '64FC1', 'jpeg', '']))
# Image sides: tiny (so conversions run), zero, negative or absurd.
SIDES = st.one_of(st.integers(-2, 9), st.integers(-2**64, 2**64),
                  st.sampled_from([2**31 - 1, 2**32 - 1, 8192, 8193, MAX_PIXELS,
                                   MAX_PIXELS + 1]))
UINT32 = st.one_of(st.integers(0, 12), st.integers(0, 2**32 - 1), st.just(2**32 - 1))
FLOATS = st.one_of(st.floats(), st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf,
                                                 1e308, -1e308, 5e-324, 1.0]))
INTS = st.one_of(st.integers(-3, 12), st.integers(-2**64, 2**64),
                 st.sampled_from([2**31, 2**32 - 1, 2**63]))
# Depth-like pixel values: valid, zero, negative, NaN, inf, extremes.
DEPTH_VALUES = st.one_of(st.floats(width=32), st.floats(0.125, 20.0, width=32),
                         st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf]))
MAX_DATA = 4096  # bytes: above this the data is a short random buffer instead


@st.composite
def raw_images(draw, encodings=ENCODINGS, sides=SIDES, well_formed=False):
    """
    Draw raw image messages as a camera driver might send them.

    (data, width, height, encoding, step, is_bigendian) as a camera driver might send;
    ``well_formed``: a buffer that fits its encoding, sides and step (padding and trailing
    bytes allowed), which must convert.
    """
    encoding = draw(encodings)
    width, height = draw(sides), draw(sides)
    if well_formed and BYTES_PER_PIXEL[encoding] == 2 and not encoding.endswith('16'):
        width += width % 2  # 4:2:2 YUV: whole pixel pairs
    row = width * BYTES_PER_PIXEL.get(encoding, draw(st.sampled_from([1, 2, 3, 4])))
    if well_formed:
        step = row + draw(st.integers(0, 7))
    else:
        step = draw(st.one_of(
            st.just(row), st.integers(1, 7).map(lambda pad: row + pad),
            st.integers(1, 3).map(lambda short: row - short), st.integers(-4, 64),
            st.sampled_from([2**32 - 1, 2**63, 2**64 + 1])))
    needed = step * (height - 1) + row
    if 0 <= needed <= MAX_DATA:  # exact, longer, or a few bytes short
        size = needed + draw(st.integers(0 if well_formed else -3, 8))
    else:
        size = draw(st.integers(0, 64))
    if encoding == '32FC1' or draw(st.booleans()):
        values = draw(st.lists(DEPTH_VALUES, min_size=1, max_size=8))
        pattern = np.array(values, np.float32).tobytes()
    else:
        pattern = draw(st.binary(min_size=1, max_size=24))
    data = (pattern * (size // len(pattern) + 1))[:max(0, size)]
    return _container(draw, data), width, height, encoding, step, draw(st.booleans())


def _container(draw, data: bytes):
    """Wrap ``data`` in one of the buffer types callers pass (ROS gives array.array('B'))."""
    kind = draw(st.sampled_from(['bytes', 'bytearray', 'memoryview', 'array', 'ndarray',
                                 'strided']))
    if kind == 'bytearray':
        return bytearray(data)
    if kind == 'memoryview':
        return memoryview(data)
    if kind == 'array':
        return array.array('B', data)
    if kind == 'ndarray':
        return np.frombuffer(data, np.uint8)
    if kind == 'strided':  # a non-contiguous view, e.g. one channel of a bigger array
        spread = np.zeros(2 * len(data), np.uint8)
        spread[::2] = np.frombuffer(data, np.uint8)
        return spread[::2]
    return data


def _is_rgb_result(rgb, width: int, height: int) -> bool:
    return (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8
            and rgb.shape == (height, width, 3) and rgb.flags['C_CONTIGUOUS'])


def _check_depth_result(metres, width: int, height: int) -> None:
    assert isinstance(metres, np.ndarray) and metres.dtype == np.float32
    assert metres.shape == (height, width)
    valid = ~np.isnan(metres)
    assert np.all(np.isfinite(metres[valid])) and np.all(metres[valid] > 0)


# -- images: raw buffers --------------------------------------------------------------------
@CHEAP
@given(raw_images())
@example((bytes(12), 3, 2, 'uyvy', 6, False))  # odd width of a 4:2:2 frame: OpenCV assert
@example((bytes(12), 3, 2, 'yuyv', 6, False))
@example((bytes(3), 1, 1, 'rgb8', 2**64 + 1, False))  # step beyond C long: OverflowError
@example((np.zeros(24, np.uint8)[::2], 2, 2, 'rgb8', 6, False))  # not C-contiguous
def test_to_rgb8_gives_rgb_or_image_error(image):
    data, width, height, encoding, step, bigendian = image
    try:
        rgb = to_rgb8(data, width, height, encoding, step, bigendian)
    except ImageError:
        return
    assert encoding in SUPPORTED_ENCODINGS
    assert _is_rgb_result(rgb, width, height)


@CHEAP
@given(raw_images(st.sampled_from(SUPPORTED_ENCODINGS), st.integers(1, 9), well_formed=True))
def test_to_rgb8_converts_every_well_formed_buffer(image):
    data, width, height, encoding, step, bigendian = image
    assert _is_rgb_result(to_rgb8(data, width, height, encoding, step, bigendian), width,
                          height)


@CHEAP
@given(raw_images(st.sampled_from(DEPTH_ENCODINGS), st.integers(1, 9), well_formed=True))
def test_depth_to_metres_converts_every_well_formed_buffer(image):
    data, width, height, encoding, step, bigendian = image
    _check_depth_result(depth_to_metres(data, width, height, encoding, step, bigendian), width,
                        height)


@CHEAP
@given(raw_images(encodings=st.one_of(st.sampled_from(DEPTH_ENCODINGS), ENCODINGS)))
@example((np.zeros(8, np.uint8)[::2], 1, 1, '32FC1', 4, True))
def test_depth_to_metres_gives_positive_metres_or_nan(image):
    data, width, height, encoding, step, bigendian = image
    try:
        metres = depth_to_metres(data, width, height, encoding, step, bigendian)
    except ImageError:
        return
    assert encoding in DEPTH_ENCODINGS
    _check_depth_result(metres, width, height)


@st.composite
def padded_rgb(draw):
    """Draw a small RGB image and the buffer of it in one 8-bit colour encoding, with padding."""
    height, width = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rgb = draw(hnp.arrays(np.uint8, (height, width, 3)))
    encoding = draw(st.sampled_from(['rgb8', 'bgr8', '8UC3', 'rgba8', 'bgra8', '8UC4']))
    pixels = rgb[..., ::-1] if encoding in ('bgr8', '8UC3', 'bgra8', '8UC4') else rgb
    if encoding in ('rgba8', 'bgra8', '8UC4'):
        alpha = draw(hnp.arrays(np.uint8, (height, width, 1)))
        pixels = np.concatenate([pixels, alpha], axis=2)
    rows = np.ascontiguousarray(pixels).reshape(height, -1)
    pad = draw(st.integers(0, 5))
    padding = np.full((height, pad), draw(st.integers(0, 255)), np.uint8)
    data = np.concatenate([rows, padding], axis=1).tobytes()
    return rgb, data, encoding, rows.shape[1] + pad


@CHEAP
@given(padded_rgb())
def test_8bit_colour_encodings_give_back_the_pixels(case):
    rgb, data, encoding, step = case
    height, width = rgb.shape[:2]
    np.testing.assert_array_equal(to_rgb8(data, width, height, encoding, step), rgb)


@CHEAP
@given(hnp.arrays(np.uint16, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6)),
       st.sampled_from(['mono16', '16UC1']))
def test_16bit_endianness_flag_is_honoured(values, encoding):
    height, width = values.shape
    little = to_rgb8(values.astype('<u2').tobytes(), width, height, encoding, 2 * width, False)
    big = to_rgb8(values.astype('>u2').tobytes(), width, height, encoding, 2 * width, True)
    np.testing.assert_array_equal(little, big)
    metres = depth_to_metres(values.astype('>u2').tobytes(), width, height, encoding,
                             2 * width, True)
    expected = np.where(values > 0, values.astype(np.float32) / 1000.0, np.nan)
    np.testing.assert_allclose(metres, expected, rtol=1e-6)


# -- images: compressed -----------------------------------------------------------------
@st.composite
def damaged_images(draw):
    """Arbitrary bytes, or a real small JPEG/PNG cut short or with bytes overwritten."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=256))
    height, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    rgb = np.full((height, width, 3), draw(st.integers(0, 255)), np.uint8)
    data = bytearray(encode_compressed(rgb, draw(st.sampled_from(['jpeg', 'png']))))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.just(len(data)), st.integers(0, len(data))))
    return bytes(data[:cut])


def _jpeg_claiming(width: int, height: int) -> bytes:
    """Make a small JPEG whose frame header claims ``width`` x ``height`` pixels."""
    data = bytearray(encode_compressed(np.zeros((8, 8, 3), np.uint8), 'jpeg'))
    frame = data.index(b'\xff\xc0')
    data[frame + 5:frame + 9] = height.to_bytes(2, 'big') + width.to_bytes(2, 'big')
    return bytes(data)


def _png_with_long_chunk(length: int = 2**28) -> bytes:
    """
    Make a small PNG whose last chunk (IEND) claims ``length`` bytes.

    OpenCV 5 allocates what a chunk claims before finding the data short: 4 GB for one damaged byte
    (0xF9000000, found by the property below); the default here keeps a regression affordable.
    """
    data = encode_compressed(np.zeros((9, 5, 3), np.uint8), 'png')
    return data[:-12] + length.to_bytes(4, 'big') + data[-8:]


@MEDIUM
@given(damaged_images())
@example(b'')
# A frame header with damaged size bytes: OpenCV decodes up to 2**30 pixels (gigabytes from
# a 1 KB message), far beyond the MAX_PIXELS that raw images are held to.
@example(_jpeg_claiming(9000, 8000))
def test_decode_compressed_gives_rgb_or_image_error(data):
    try:
        rgb = decode_compressed(data)
    except ImageError:
        return
    assert isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.flags['C_CONTIGUOUS']
    assert rgb.shape[0] * rgb.shape[1] <= MAX_PIXELS


def test_damaged_compressed_headers_are_refused_before_decoding():
    """
    Damaged compressed headers are refused before decoding.

    Found by the property above: each made cv2.imdecode allocate up to gigabytes, which
    the property cannot see, so the message (given before decoding) is checked here.
    """
    with pytest.raises(ImageError, match='runs past the end'):
        decode_compressed(_png_with_long_chunk())
    with pytest.raises(ImageError, match='too large'):
        decode_compressed(_jpeg_claiming(9000, 8000))


# -- images: in-memory arrays -------------------------------------------------------------
ARRAY_DTYPES = st.one_of(hnp.boolean_dtypes(), hnp.integer_dtypes(),
                         hnp.unsigned_integer_dtypes(), hnp.floating_dtypes(),
                         hnp.complex_number_dtypes(), hnp.datetime64_dtypes(),
                         hnp.unicode_string_dtypes(max_len=2), st.just(np.dtype(object)))
ARRAY_SHAPES = st.one_of(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
                         st.tuples(st.integers(0, 6), st.integers(0, 6),
                                   st.sampled_from([1, 3, 4, 5])))


@st.composite
def any_arrays(draw):
    dtype, shape = draw(ARRAY_DTYPES), draw(ARRAY_SHAPES)
    if dtype == np.dtype(object):
        elements = st.one_of(st.none(), st.integers(-300, 300), st.floats(), st.text())
        return draw(hnp.arrays(dtype, shape, elements=elements))
    image = draw(hnp.arrays(dtype, shape))
    if image.ndim == 3 and draw(st.booleans()):
        image = image[:, ::-1]  # a negative-stride view, as from a flip
    return image


@CHEAP
@given(any_arrays())
@example(np.full((3, 3, 3), np.nan))  # all-NaN float: warned and cast garbage to uint8
@example(np.array([[[-np.inf, 0.5, 0.2]] * 3] * 3))  # overflowed -inf * 255
@example(np.full((3, 3, 3), 'a'))  # strings: numpy's UFuncTypeError
@example(np.full((3, 3, 3), 1 + 2j))  # complex: imaginary part silently dropped
def test_check_rgb_gives_rgb_or_image_error(image):
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # NaN casts and overflows are garbage, not output
        try:
            rgb = check_rgb(image)
        except ImageError:
            return
    height, width = image.shape[:2]
    assert _is_rgb_result(rgb, width, height)


@CHEAP
@given(hnp.arrays(np.float64, st.tuples(st.integers(2, 5), st.integers(2, 5),
                                        st.just(3))))
def test_check_rgb_maps_floats_into_range(image):
    """Map NaN to black; 0..1 floats scale to 0..255, others clip to it; order is kept."""
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        rgb = check_rgb(image)
    assert np.all(rgb[np.isnan(image)] == 0)
    finite = np.isfinite(image)
    order = np.argsort(image[finite], kind='stable')
    assert np.all(np.diff(rgb[finite][order].astype(int)) >= 0)


def test_check_rgb_rejects_what_is_not_an_array():
    for value in (None, [[1, 2], [3, 4]], 'image', 3.0):
        with pytest.raises(ImageError, match='numpy array'):
            check_rgb(value)


# -- geometry: calibration ------------------------------------------------------------------
def _check_intrinsics(intrinsics) -> None:
    assert isinstance(intrinsics, Intrinsics)
    assert math.isfinite(intrinsics.fx) and intrinsics.fx > 0
    assert math.isfinite(intrinsics.fy) and intrinsics.fy > 0
    assert math.isfinite(intrinsics.cx) and math.isfinite(intrinsics.cy)
    assert intrinsics.width >= 1 and intrinsics.height >= 1


@CHEAP
@given(st.lists(FLOATS, min_size=0, max_size=12), INTS, INTS, INTS, INTS,
       st.tuples(INTS, INTS, INTS, INTS))
@example([500.0, 0, 320, 0, 500, 240, 0, 0, 1], 640, 480, 0, 0, (0, 0, 0, 0))
@example([500.0, 0, 320, 0, 500, 240, 0, 0, 1], 640, 480, 2**64, 1, (0, 0, 0, 0))
def test_intrinsics_from_camera_info_are_usable_or_geometry_error(k, width, height,
                                                                  binning_x, binning_y, roi):
    try:
        intrinsics = Intrinsics.from_camera_info(k, width, height, binning_x, binning_y, roi)
    except GeometryError:
        return
    _check_intrinsics(intrinsics)


@CHEAP
@given(INTS, INTS, INTS, INTS, st.tuples(INTS, INTS, INTS, INTS))
def test_image_region_lies_on_the_sensor_or_geometry_error(width, height, binning_x,
                                                           binning_y, roi):
    try:
        (x0, y0, image_width, image_height), (bx, by) = image_region(
            width, height, binning_x, binning_y, roi)
    except GeometryError:
        return
    assert bx >= 1 and by >= 1 and image_width >= 1 and image_height >= 1
    assert 0 <= x0 and x0 + image_width * bx <= width
    assert 0 <= y0 and y0 + image_height * by <= height


@CHEAP
@given(st.one_of(st.lists(FLOATS, min_size=9, max_size=9),
                 st.lists(FLOATS, min_size=12, max_size=12),
                 st.lists(FLOATS, max_size=14)), INTS, INTS, INTS, INTS)
@example([500.0, 0, 320, 0, 500, 240, 0, 0, 1], 0, 0, 0, 1)  # binning 0: divided by zero
def test_region_camera_matrix_keeps_the_shape_or_geometry_error(matrix, x_offset, y_offset,
                                                                binning_x, binning_y):
    # No silent division by zero; overflow of absurd values to inf is arithmetic.
    with np.errstate(divide='raise', over='ignore', invalid='ignore'):
        try:
            region = region_camera_matrix(matrix, x_offset, y_offset, binning_x, binning_y)
        except GeometryError:
            return
    assert len(region) == len(matrix) and all(isinstance(v, float) for v in region)


@CHEAP
@given(st.lists(FLOATS, max_size=12), INTS, INTS)
def test_intrinsics_from_k_are_usable_or_geometry_error(k, width, height):
    try:
        intrinsics = Intrinsics.from_k(k, width, height)
    except GeometryError:
        return
    _check_intrinsics(intrinsics)


POSITIVE = st.one_of(st.floats(min_value=5e-324, max_value=1e308),
                     st.floats(min_value=1.0, max_value=5000.0))
FINITE = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                   st.floats(-1000.0, 5000.0))
VALID_INTRINSICS = st.builds(Intrinsics, POSITIVE, POSITIVE, FINITE, FINITE,
                             st.integers(1, 5000), st.integers(1, 5000))


@CHEAP
@given(VALID_INTRINSICS, INTS, INTS)
def test_scaled_intrinsics_are_usable_or_geometry_error(intrinsics, width, height):
    try:
        with np.errstate(over='ignore', invalid='ignore'):  # absurd sizes overflow to inf
            scaled = intrinsics.scaled(width, height)
    except GeometryError:
        return
    _check_intrinsics(scaled)
    assert (scaled.width, scaled.height) == (width, height)


@st.composite
def sensor_with_region(draw):
    """Draw a calibrated full sensor and a region of interest and binning that fit it."""
    width, height = draw(st.integers(1, 4000)), draw(st.integers(1, 3000))
    fx, fy = draw(st.floats(50.0, 5000.0)), draw(st.floats(50.0, 5000.0))
    cx, cy = draw(st.floats(0.0, width)), draw(st.floats(0.0, height))
    k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    if draw(st.booleans()):
        roi = (0, 0, 0, 0)
        x0, y0, roi_width, roi_height = 0, 0, width, height
    else:
        x0, y0 = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
        roi_width = draw(st.integers(1, width - x0))
        roi_height = draw(st.integers(1, height - y0))
        roi = (x0, y0, roi_width, roi_height)
    binning_x = draw(st.integers(0, min(8, roi_width)))
    binning_y = draw(st.integers(0, min(8, roi_height)))
    return k, width, height, binning_x, binning_y, roi, (x0, y0, roi_width, roi_height)


@CHEAP
@given(sensor_with_region(), st.floats(-5.0, 5.0), st.floats(-5.0, 5.0),
       st.floats(0.05, 50.0))
def test_region_intrinsics_project_as_image_geometry(sensor, x, y, z):
    """A 3-D point lands on the region's pixel image_geometry gives: (u_full - offset) / b."""
    k, width, height, binning_x, binning_y, roi, region = sensor
    x0, y0, roi_width, roi_height = region
    bx, by = max(1, binning_x), max(1, binning_y)
    u_full, v_full = k[0] * x / z + k[2], k[4] * y / z + k[5]
    intrinsics = Intrinsics.from_camera_info(k, width, height, binning_x, binning_y, roi)
    assert (intrinsics.width, intrinsics.height) == (roi_width // bx, roi_height // by)
    u, v = intrinsics.fx * x / z + intrinsics.cx, intrinsics.fy * y / z + intrinsics.cy
    assert u == pytest.approx((u_full - x0) / bx, rel=1e-9, abs=1e-6)
    assert v == pytest.approx((v_full - y0) / by, rel=1e-9, abs=1e-6)


# -- geometry: placing boxes ----------------------------------------------------------------
MOUNTS = st.builds(CameraMount, FINITE, FINITE, POSITIVE,
                   st.floats(-1.5707, 1.5707), FINITE)
BOXES = st.one_of(st.tuples(FLOATS, FLOATS, FLOATS, FLOATS),
                  st.tuples(st.floats(-50, 700), st.floats(-50, 500), st.floats(-50, 700),
                            st.floats(-50, 500)))
DEPTHS = st.one_of(
    st.none(),
    hnp.arrays(st.sampled_from([np.float32, np.float64]),
               st.tuples(st.integers(0, 6), st.integers(0, 6)),
               elements=st.one_of(st.floats(width=32), st.floats(0.125, 20.0, width=32))))


def _check_target(point, mount: CameraMount) -> None:
    assert point is None or isinstance(point, TargetPoint)
    if point is not None:
        assert all(math.isfinite(v) for v in (point.x, point.y, point.z))
        assert point.source in ('depth', 'ground_plane')
        if point.source == 'ground_plane':
            assert point.z == 0.0
        else:  # in front of the camera (up to rounding of far-off mounts)
            position = np.array([point.x, point.y, point.z])
            with np.errstate(over='ignore', invalid='ignore'):
                optical = mount.rotation().T @ (position - mount.origin())
            scale = max(np.abs(position).max(), np.abs(mount.origin()).max())
            assert not optical[2] < -1e-12 * scale


@CHEAP
@given(BOXES, VALID_INTRINSICS, MOUNTS, DEPTHS)
@example((math.nan, 0.0, 10.0, 10.0), Intrinsics(200, 200, 160, 120, 320, 240),
         CameraMount(pitch=0.5), None)  # NaN box gave a NaN floor target
@example((0.0, 0.0, 1e308, 1e308), Intrinsics(200, 200, 160, 120, 320, 240),
         CameraMount(pitch=0.5), np.ones((4, 4), np.float32))  # floor() of inf
@example((10.0, 10.0, 20.0, 20.0), Intrinsics(200, 200, 160, 120, 320, 240),
         CameraMount(pitch=0.5), np.full((4, 4), 3e38, np.float32))  # median overflowed
@example((10.0, 10.0, 20.0, 20.0), Intrinsics(200, 200, 160, 120, 320, 240),
         CameraMount(pitch=0.5), np.full((4, 4), -2.0, np.float32))  # behind the camera
def test_locate_box_gives_a_finite_target_none_or_geometry_error(box, intrinsics, mount,
                                                                 depth):
    try:
        with np.errstate(over='ignore', invalid='ignore'):  # absurd values overflow to inf
            point = locate_box(box, intrinsics, mount, depth)
    except GeometryError:
        return
    _check_target(point, mount)


@CHEAP
@given(FLOATS, FLOATS, VALID_INTRINSICS, MOUNTS)
@example(math.nan, 100.0, Intrinsics(200, 200, 160, 120, 320, 240), CameraMount(pitch=0.5))
def test_ground_point_is_finite_on_the_floor_or_none(u, v, intrinsics, mount):
    try:
        with np.errstate(over='ignore', invalid='ignore'):
            point = ground_point(u, v, intrinsics, mount)
    except GeometryError:
        return
    _check_target(point, mount)


@CHEAP
@given(DEPTHS.filter(lambda depth: depth is not None), BOXES,
       st.tuples(INTS, INTS))
@example(np.ones((4, 4), np.float32), (0.0, 0.0, 2.0, 2.0), (0, 240))  # ZeroDivisionError
@example(np.ones((4, 4), np.float32), (math.nan, 0.0, 2.0, 2.0), (320, 240))  # ValueError
def test_box_depth_is_a_positive_reading_none_or_geometry_error(depth, box, image_size):
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)
        try:
            metres = box_depth(depth, box, image_size)
        except GeometryError:
            return
    assert metres is None or (isinstance(metres, float) and math.isfinite(metres)
                              and metres > 0)


# -- nodes: ROS messages ----------------------------------------------------------------
@st.composite
def camera_infos(draw):
    """Arbitrary sensor_msgs/CameraInfo, with a share of sane calibrations."""
    msg = CameraInfo()
    if draw(st.booleans()):
        msg.width, msg.height = draw(st.integers(1, 2000)), draw(st.integers(1, 2000))
        fx, fy = draw(POSITIVE), draw(POSITIVE)
        cx, cy = draw(FINITE), draw(FINITE)
        msg.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
        msg.p = [fx, 0.0, cx, draw(FINITE), 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    else:
        msg.width, msg.height = draw(UINT32), draw(UINT32)
        msg.k = draw(st.lists(FLOATS, min_size=9, max_size=9))
        msg.p = draw(st.lists(FLOATS, min_size=12, max_size=12))
    msg.r = draw(st.lists(FLOATS, min_size=9, max_size=9))
    msg.d = draw(st.lists(FLOATS, max_size=8))
    msg.distortion_model = draw(st.one_of(
        st.sampled_from(['plumb_bob', 'rational_polynomial', 'equidistant', '']),
        st.text(max_size=16)))
    msg.binning_x, msg.binning_y = draw(UINT32), draw(UINT32)
    msg.roi.x_offset, msg.roi.y_offset = draw(UINT32), draw(UINT32)
    msg.roi.width, msg.roi.height = draw(UINT32), draw(UINT32)
    msg.roi.do_rectify = draw(st.booleans())
    return msg


def _camera_info(k, width=640, height=480) -> CameraInfo:
    return CameraInfo(width=width, height=height, k=k, p=[0.0] * 12)


@MEDIUM
@given(camera_infos(), st.integers(1, 4000), st.integers(1, 4000))
# K not ending in 0, 0, 1 was taken as pixels by Intrinsics but not by the resized copy
@example(_camera_info([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]), 320, 240)
@example(_camera_info([500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 2.0]), 320, 240)
def test_camera_info_conversions_are_usable_or_geometry_error(msg, width, height):
    try:
        with np.errstate(over='ignore', invalid='ignore'):
            intrinsics = camera_info_to_intrinsics(msg)
    except GeometryError:
        intrinsics = None
    else:
        _check_intrinsics(intrinsics)
    try:
        with np.errstate(over='ignore', invalid='ignore'):
            info = camera_info_for_image(msg, width, height)
    except GeometryError:
        assert intrinsics is None  # the same region checks reject both
        return
    assert isinstance(info, CameraInfo) and (info.width, info.height) == (width, height)
    assert len(info.k) == 9 and len(info.p) == 12
    assert info.distortion_model == msg.distortion_model
    if intrinsics is not None and all(1e-150 < abs(v) < 1e150 or v == 0
                                      for v in intrinsics.k()):
        expected = intrinsics.scaled(width, height).k()  # the same camera, resized
        pinhole = [0, 2, 4, 5, 6, 7, 8]  # what Intrinsics keeps (not the skew)
        np.testing.assert_allclose(np.array(info.k)[pinhole], np.array(expected)[pinhole],
                                   rtol=1e-9, atol=1e-6)


@st.composite
def image_messages(draw, encodings=ENCODINGS, well_formed=False):
    """
    Draw arbitrary sensor_msgs/Image messages.

    Arbitrary sensor_msgs/Image: uint32 sides and step, any encoding and data length
    (``well_formed``: see raw_images).
    """
    uint32_sides = (st.integers(1, 9) if well_formed
                    else st.one_of(st.integers(0, 9), st.integers(0, 2**32 - 1)))
    data, width, height, encoding, step, bigendian = draw(
        raw_images(encodings, uint32_sides, well_formed))
    assume(0 <= step < 2**32)
    msg = Image(width=width, height=height, encoding=encoding, step=step,
                is_bigendian=int(bigendian))
    msg.data = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    return msg


@MEDIUM
@given(image_messages())
def test_image_to_rgb_gives_rgb_or_image_error(msg):
    try:
        rgb = image_to_rgb(msg)
    except ImageError:
        return
    assert _is_rgb_result(rgb, msg.width, msg.height)


@MEDIUM
@given(image_messages(st.one_of(st.sampled_from(DEPTH_ENCODINGS), ENCODINGS)))
def test_depth_image_to_metres_gives_metres_or_image_error(msg):
    try:
        metres = depth_image_to_metres(msg)
    except ImageError:
        return
    _check_depth_result(metres, msg.width, msg.height)


@MEDIUM
@given(image_messages(st.sampled_from(SUPPORTED_ENCODINGS), well_formed=True),
       image_messages(st.sampled_from(DEPTH_ENCODINGS), well_formed=True))
def test_well_formed_image_messages_convert(colour, depth):
    assert _is_rgb_result(image_to_rgb(colour), colour.width, colour.height)
    _check_depth_result(depth_image_to_metres(depth), depth.width, depth.height)


# -- commands ---------------------------------------------------------------------------
# Words a command uses around the object: politeness, articles, sequencing, numbers, units,
# superlatives. None of them may end up in what CLIP grounds (Step.target, .reference).
FILLERS = frozenset("""
    hey ok okay please kindly now could would will you thanks thank quickly slowly then
    afterwards finally after the a an that this those these some my your zero one two
    three four five six seven eight nine ten twenty ninety hundred thousand half m meter
    meters metre metres cm mm ft feet inch inches yards deg degree degrees rad radian
    radians turns revolutions leftmost rightmost nearest closest farthest furthest biggest
    largest smallest tiniest beside behind minus negative pi
""".split())
# Words to build sentences from: grammar words, object words, numbers and noise.
VOCABULARY = (*sorted(FILLERS), 'go', 'to', 'drive', 'towards', 'approach', 'look', 'at',
              'face', 'find', 'search', 'for', 'where', 'is', 'pick', 'up', 'grab', 'get',
              'stop', 'halt', 'cancel', 'stay', 'classify', 'what', 'or', 'move', 'forward',
              'back', 'backward', 'turn', 'left', 'right', 'around', 'spin', 'clockwise',
              'sideways', 'by', 'of', 'and', 'on', 'in', 'middle', 'next', 'front', 'from',
              'first', 'second', 'third', '2nd', '11th', '0th', 'it', 'them', 'robot', 'can',
              'red', 'box', 'ball', 'green', 'cup', 'first aid kit', 'stop sign', 'café',
              '1', '90', '1.5', '-2', '.5', '1e9', '99999999999999999999', '0', '360', '°',
              'π', 'm²', 'NaN', 'inf', ',', ';', ':', '!', '?', '.', '"', "'", '-', '|', '/')
SEPARATORS = st.sampled_from([' ', ' ', ' ', ', ', '', '\n', '\t', '  ', ' - ', '\u00a0'])


@st.composite
def spoken(draw):
    """Sentences of command words in any order and case, some of them near-grammatical."""
    words = draw(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=25))
    text = ''
    for word in words:
        text += draw(SEPARATORS) + draw(st.sampled_from([word, word.upper(), word.title()]))
    return text


def _mostly(good, bad) -> st.SearchStrategy:
    """Mostly one of ``good`` (in proportion to ``bad``), so that most sentences parse."""
    return st.sampled_from([*good, *good, *good, *good, *good, *bad])


LEADS = _mostly(['', 'please ', 'hey robot, ', 'ok robot ', 'could you ', 'now ', 'first, ',
                 "i'd like you to "], ['please please ', 'robot robot ', 'could ', ', '])
CLOSINGS = _mostly(['', ' please', ' for me', ' now', ', thanks', ' quickly'],
                   [' thanks please now', ' for', ' please,'])
LINKS = _mostly([', then ', ' and then ', ', ', ' then ', '; after that ', ', finally '],
                [' and ', ' ', ', and ', ' then then '])
GROUNDING_VERBS = _mostly(['go to', 'drive towards', 'approach', 'head for', 'look at', 'face',
                           'turn to', 'find', 'search for', "where's", 'pick up', 'grab'],
                          ['go', 'pick', 'look', 'turn towards to', 'find find'])
DETERMINERS = _mostly(['', 'the ', 'a ', 'that ', 'my '], ['the the ', 'an the ', 'some a '])
OBJECT_WORDS = _mostly(['red', 'box', 'ball', 'green', 'cup', 'chair', 'first', 'aid', 'kit',
                        'can', 'stop', 'sign', 'robot', 'black', 'white', 'tv', 'r2d2',
                        "kid's", 't-shirt'],
                       ['please', 'the', 'two', 'meters', 'left', 'it', 'and', 'of', 'then',
                        '5', 'now', 'degrees', 'back', 'side', 'second'])
PLACES = _mostly(['', '', ' on the left', ' on the right', ' in the middle', ' next to the {}',
                  ' left of the {}', ' behind a {}', ' in front of the {}'],
                 [' from the left', ' on the', ' next to', ' near {} {}', ' of the {}'])
ORDER_WORDS = _mostly(['', '', 'leftmost ', 'nearest ', 'biggest ', 'second {} from the left ',
                       '2nd {} from the right '],
                      ['0th ', '21st ', 'second ', 'first ', 'third third '])
AMOUNTS = _mostly(['', '1', '2.5', '.5', '90', '180', 'one', 'two and a half', 'forty-five',
                   'half a', 'a quarter', 'pi', 'one hundred and eighty'],
                  ['0', '-1', '720', '1000', 'a hundred', 'minus 3', 'minus minus 2',
                   '9' * 40, 'zero point five', 'two five'])
MOVE_UNITS = _mostly([' m', ' meters', ' cm', ' mm', ' feet', ' inches', ' yards'],
                     ['', ' degrees', ' turns', ' kg', ' seconds', ' m m'])
TURN_UNITS = _mostly([' degrees', ' deg', ' radians', ' turns', ' revolution', '°'],
                     ['', ' m', ' feet', ' kg', ' degrees degrees'])


@st.composite
def object_phrases(draw) -> str:
    words = ' '.join(draw(st.lists(OBJECT_WORDS, min_size=1, max_size=3)))
    order = draw(ORDER_WORDS)
    if '{}' in order:  # 'the second {} from the left'
        return draw(DETERMINERS) + order.format(words).strip()
    place = draw(PLACES).format(*draw(st.lists(OBJECT_WORDS, min_size=2, max_size=2)))
    return draw(DETERMINERS) + order + words + place


@st.composite
def steps_said(draw, first: bool = False) -> str:
    kinds = ['grounded', 'grounded', 'move', 'turn', 'stop'] + ([] if first else ['bare'])
    kind = draw(st.sampled_from(kinds))
    if kind == 'grounded':
        verb = draw(GROUNDING_VERBS)
        return verb + ' ' + draw(st.one_of(object_phrases(), object_phrases(),
                                           st.sampled_from(['it', 'them', ''])))
    if kind in ('move', 'turn'):
        amount = draw(AMOUNTS)
        amount += draw(MOVE_UNITS if kind == 'move' else TURN_UNITS) if amount else ''
    if kind == 'move':
        verb = draw(_mostly(['move', 'go', 'drive', ''], ['turn', 'step step']))
        way = draw(_mostly(['forward', 'backward', 'back', 'ahead'], ['sideways', 'left', '']))
        return ' '.join(filter(None, [verb, way, amount]))
    if kind == 'turn':
        verb = draw(_mostly(['turn', 'rotate', 'spin'], ['move', 'make']))
        side = draw(_mostly(['left', 'right', 'around', 'clockwise'], ['', 'up', 'forward']))
        return ' '.join(filter(None, [verb, side, amount]))
    if kind == 'stop':
        return draw(_mostly(['stop', 'halt', 'stop moving', 'freeze', 'stay there'],
                            ['stop the box', 'halt it now']))
    return draw(object_phrases())  # a bare object after a link borrows the verb before


@st.composite
def commands_said(draw) -> str:
    """
    Draw commands close to the grammar, with a few mistakes mixed in.

    Sequences of steps, polite words, amounts, objects; the mistakes are a wrong word, a stray word
    or character.
    """
    if draw(st.integers(0, 9)) == 0:
        prompts = draw(st.lists(object_phrases(), min_size=0, max_size=4))
        return 'classify: ' + draw(st.sampled_from([', ', ' or ', ', or '])).join(prompts)
    text = draw(LEADS) + draw(steps_said(first=True))
    for _ in range(draw(st.integers(0, 2))):
        text += draw(LINKS) + draw(steps_said())
    text += draw(CLOSINGS) + draw(st.sampled_from(['', '.', '!', '?']))
    if draw(st.integers(0, 9)) == 0:  # noise: a stray word or character
        words = text.split(' ')
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(VOCABULARY)))
        text = ' '.join(words)
    return text.upper() if draw(st.integers(0, 9)) == 0 else text


COMMAND_TEXT = st.one_of(commands_said(), commands_said(), spoken(), st.text(max_size=60),
                         st.text(alphabet=st.characters(codec='ascii'), max_size=80),
                         st.text(min_size=language.MAX_COMMAND_CHARS - 20,
                                 max_size=language.MAX_COMMAND_CHARS + 20))


def _object_words(phrase: str) -> list[str]:
    return phrase.lower().split()


def _check_step(step, steps) -> None:
    intent = step.intent
    assert isinstance(intent, Intent)
    for value in (step.distance, step.angle):
        assert isinstance(value, float) and math.isfinite(value)
    assert abs(step.distance) <= language.MAX_DISTANCE_M
    assert abs(step.angle) <= language.MAX_TURN_RAD
    assert (step.distance != 0) == (intent == Intent.MOVE)
    assert (step.angle != 0) == (intent == Intent.TURN)
    if step.needs_grounding:
        assert step.target.strip() and not step.prompts
        assert not FILLERS & set(_object_words(step.target)), step.target
    else:
        assert step.target == '' and step.referring is None
    referring = step.referring
    if referring is not None:
        assert isinstance(referring.relation, language.Relation)
        assert not FILLERS & set(_object_words(referring.reference)), referring.reference
        counted = referring.relation in (language.Relation.ORDINAL_LEFT,
                                         language.Relation.ORDINAL_RIGHT)
        assert (referring.ordinal >= 1) if counted else referring.ordinal == 0
    if intent == Intent.CLASSIFY:
        assert len(step.prompts) >= 2 and all(prompt.strip() for prompt in step.prompts)
    if intent == Intent.STOP:
        assert len(steps) == 1  # a stop is never part of a sequence


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(COMMAND_TEXT)
@example('turn left minus minus 90 degrees')  # a double negative: refused
@example('move forward ' + '9' * 320 + ' m')  # float('9' * 320) is inf
@example('go to the ' + 'black and ' * 40 + 'box')
@example('\x00stop')
@example('ONE')  # was a correction that said nothing
def test_parse_command_gives_bounded_steps_or_command_error(text):
    try:
        command = commands.parse_command(text)
    except language.CommandError as error:
        assert str(error)  # the message says what went wrong
        return
    assert isinstance(command, language.Command) and command.text == text
    followup = command.followup
    if followup is not None:  # steps come from the dialogue; a correction says what changes
        assert command.steps == ()
        assert followup.kind != language.FollowUpKind.CORRECTION or followup.other or \
            followup.target or followup.attributes or followup.referring is not None
        return
    assert 1 <= len(command.steps) <= language.MAX_STEPS
    for step in command.steps:
        _check_step(step, command.steps)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=language.MAX_COMMAND_CHARS + 1, max_size=2000))
def test_overlong_commands_are_refused_before_parsing(text):
    with pytest.raises(language.CommandError):
        commands.parse_command(text)


def test_parse_command_refuses_what_is_not_text():
    for value in (None, '', '   \n\t', 0, 1.5, b'go to the box'):
        with pytest.raises(language.CommandError):
            commands.parse_command(value)


# Object words are words: punctuation the lexer skips between them must not reach CLIP.
_PHRASE = re.compile(r"[^\W_]+(?:['-][^\W_]+)*(?: [^\W_]+(?:['-][^\W_]+)*)*")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands_said())
@example('go to the red "ball"')
@example('go to the red...ball')
def test_targets_are_only_words(text):
    try:
        command = commands.parse_command(text)
    except language.CommandError:
        return
    for step in command.steps:
        phrases = [step.target, step.referring.reference if step.referring else '']
        for phrase in filter(None, phrases):
            assert _PHRASE.fullmatch(phrase), phrase
