"""A discount code as the QR picture the till scans.

The customer bot shows it in «Мои скидки» and the workers attach it to a
new discount's notification: the same picture both ways.
"""

from __future__ import annotations

import io

import segno


def qr_png(code: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()
