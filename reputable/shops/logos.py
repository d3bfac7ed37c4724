"""A shop's logo: whatever image the merchant uploads becomes a PNG of at most 512 × 512 pixels.

The upload is decoded and its pixels drawn anew, so nothing else of the file survives: no
metadata (EXIF with its GPS position, comments, colour profiles), no second frame, no bytes
after the image. Files that are too big, are not images of a common kind, or would unpack
to more pixels than a logo needs (a decompression bomb) are refused before they are decoded.
"""

import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

# What a merchant may upload.
MAX_BYTES = 2 * 1024 * 1024
# The decoders tried: the kinds of images logos come as (Pillow knows dozens more, each one
# more parser exposed to uploads).
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
# Decoded pixels at most, read from the file's header before decoding: a 4096 × 4096 RGBA image
# takes 64 MB while it is scaled down; a file claiming more is refused unread.
MAX_PIXELS = 4096 * 4096
# The stored logo's longest side.
SIDE = 512


def encode_logo(data: bytes) -> bytes:
    """The uploaded image `data` as a clean PNG of at most SIDE × SIDE; ValidationError otherwise."""
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The image is larger than 2 MB."), code="too_large")
    too_many_pixels = ValidationError(_("The image has too many pixels: 4096 × 4096 at most."), code="too_many_pixels")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            if image.width * image.height > MAX_PIXELS:
                raise too_many_pixels
            image.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)  # decodes the first frame only
            upright = ImageOps.exif_transpose(image)  # as a camera's orientation tag says
            alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
            pixels = upright.convert("RGBA" if alpha else "RGB")
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours, checked on opening
        raise too_many_pixels from None
    except (OSError, SyntaxError, ValueError):
        # Not an image, a kind not taken, or a damaged one.
        raise ValidationError(_("Upload a PNG, JPEG, GIF or WebP image."), code="not_an_image") from None
    # Only the pixels go on: a new image knows nothing of the file it came from.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()
