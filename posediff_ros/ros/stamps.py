"""Message stamps as integer nanoseconds: exact, and comparable across messages (no float rounding)."""

from __future__ import annotations


def stamp_ns(header) -> int:
    """The stamp of a std_msgs/Header in nanoseconds."""
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
