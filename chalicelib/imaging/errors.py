"""Why an upload cannot be read: each a PermanentError (retrying cannot fix it) with a stable code."""

from __future__ import annotations

from chalicelib.errors import PermanentError


class ImageRejected(PermanentError):
    """The upload is not something the reader can or may read; ``code`` names the reason."""

    code = "rejected"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAnImage(ImageRejected):
    """Neither DICOM, PNG nor JPEG, or the file is corrupt."""

    code = "not_an_image"


class UnsupportedImage(ImageRejected):
    """A real image the reader cannot decode (transfer syntax, pixel layout)."""

    code = "unsupported_image"


class ImageTooLarge(ImageRejected):
    """More pixels or bytes than the reader accepts (decompression-bomb guard)."""

    code = "image_too_large"


class ImageTooSmall(ImageRejected):
    """A side shorter than the minimum the reading needs."""

    code = "image_too_small"


class BlankImage(ImageRejected):
    """No usable contrast."""

    code = "blank_image"


class ColourPhoto(ImageRejected):
    """A colour photograph, not a radiograph."""

    code = "colour_photo"


class InvertedImage(ImageRejected):
    """Polarity looks inverted (bone dark, lungs bright)."""

    code = "inverted_image"


class NotFrontalChest(ImageRejected):
    """A lateral view or another body part, where the header says so."""

    code = "not_frontal_chest"
